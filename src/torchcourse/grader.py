"""The process that checks a student's answers for `grade`.

It is started with a clean environment: no user site, no current folder on sys.path, and
PYTHONPATH set to the folder of the instructor's torchcourse alone (the processes a check starts
inherit it), so the checks come from the package, never from the student's folder. It imports
torch and the lesson's checks, then never runs a student's code itself: each answer is checked
in a child process of its own (a fork) with its own time limit, under guard.enclose's limits.
The child runs the cells the answer needs, puts back anything they changed in torchcourse,
torch, numpy or builtins (and says so), runs the package's check and sends the verdict up a pipe.

Job (JSON on stdin): language, report_language, scratch, log, memory, processes, seconds, and
exercises: [{id, name, cells, answer}] (answer: the index of the student's cell in cells).
Result (JSON on stdout): one dict per exercise.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback

NOT_GRADED = "not graded"
_GONE = object()
WATCHED = ("torch", "torch.nn", "torch.nn.functional", "numpy", "builtins", "math", "random")


def _spaces() -> dict[str, tuple[object, dict]]:
    """The namespaces a patch could use to sway a check: name -> (owner, its dict)."""
    import torch

    names = [n for n in list(sys.modules) if n.startswith("torchcourse")] + list(WATCHED)
    found = {n: (sys.modules[n], vars(sys.modules[n])) for n in names if n in sys.modules}
    for cls in (torch.Tensor, torch.nn.Module):
        found[f"{cls.__module__}.{cls.__qualname__}"] = (cls, cls.__dict__)
    return found


def _snapshot() -> dict[str, dict]:
    return {name: dict(space) for name, (_owner, space) in _spaces().items()}


def _ours(value: object) -> bool:
    """True for an object torch, numpy or torchcourse made (torch rebinds a few of its
    functions on first use)."""
    module = getattr(value, "__module__", None) or ""
    return module.split(".")[0] in {"torch", "numpy", "torchcourse"}


def _restore(saved: dict[str, dict]) -> set[str]:
    """Put back every name of saved that was rebound or deleted, and remove names added to a
    class; return those a student's code changed (names added to a module, such as lazily
    imported submodules, are left alone)."""
    changed = set()
    for name, (owner, space) in _spaces().items():
        before = saved.get(name, {})
        for key, value in before.items():
            now = space.get(key, _GONE)
            if now is not value:
                if now is _GONE or not _ours(now):
                    changed.add(f"{name}.{key}")
                if isinstance(space, dict):
                    space[key] = value
                else:
                    with contextlib.suppress(Exception):
                        setattr(owner, key, value)
        if isinstance(owner, type):  # a method added to a class (pickle caches data there)
            for key in [k for k in set(space) - set(before) if callable(space[k])]:
                changed.add(f"{name}.{key}")
                with contextlib.suppress(Exception):
                    delattr(owner, key)
    return changed


def _error_line(err: BaseException, cell: str) -> tuple[str, str]:
    """(error type, "line N: message") of an error raised while running cell."""
    from torchcourse.checks.core import _describe

    line = getattr(err, "lineno", None) if isinstance(err, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == cell]
        line = frames[-1].lineno if frames else None
    message = err.msg if isinstance(err, SyntaxError) else _describe(err)
    return type(err).__name__, line, message


def _run(exercise: dict, job: dict) -> dict:
    """In the child: rebuild the answer, check it; the verdict as a dict."""
    from torchcourse.checks.core import FAILED, run_check
    from torchcourse.guard import enclose
    from torchcourse.i18n import _, use_language

    folder = os.path.join(job["scratch"], exercise["id"])
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    os.environ["TMPDIR"] = tempfile.tempdir = folder  # tempfile may have cached /tmp
    out = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    enclose(folder, job["memory"], job["processes"], job["log"])
    saved = _snapshot()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for index, source in enumerate(exercise["cells"]):
        cell = "<answer cell>" if index == exercise["answer"] else f"<cell {index}>"
        try:
            exec(compile(source, cell, "exec"), namespace)  # noqa: S102 (the point of it)
        except BaseException as err:
            changed = _restore(saved)
            kind, line, message = _error_line(err, cell)
            if index != exercise["answer"]:
                problem = _("could not rebuild what the answer needs ({error_type}: {error})")
                text = problem.format(error_type=kind, error=message)
                return {"status": NOT_GRADED, "message": text, "changed": sorted(changed)}
            where = _("your answer cell")
            if line is None:
                text = _("{error_type} in {where}: {message}")
            else:
                text = _("{error_type} in {where}, line {line}: {message}")
            text = text.format(error_type=kind, where=where, line=line, message=message)
            return {"status": FAILED, "message": text, "changed": sorted(changed)}
    changed = _restore(saved)
    answer = namespace.get(exercise["name"])
    result = run_check(exercise["id"], answer)
    diagnosis = result.message
    if result.status == FAILED and job["report_language"] != job["language"]:
        with use_language(job["report_language"]):
            diagnosis = run_check(exercise["id"], answer, record=False).message
    during = _restore(saved)
    verdict = {
        "status": result.status,
        "line": result.line(),
        "message": result.message,
        "hint": result.hint,
        "diagnosis": diagnosis,
        "changed": sorted(changed | during),
    }
    if during:
        verdict["status"] = FAILED
        verdict["message"] = _("your code changed {names} while it was checked").format(
            names=", ".join(sorted(during)[:3])
        )
        verdict["line"] = _("❌ {id} failed: {problem}").format(
            id=exercise["id"], problem=verdict["message"]
        )
    return verdict


def _child(exercise: dict, job: dict, pipe: int) -> None:
    os.setpgid(0, 0)
    try:
        data = json.dumps(_run(exercise, job))
    except BaseException as err:  # the grader's own failure, never a student's verdict
        data = json.dumps({"status": NOT_GRADED, "message": f"{type(err).__name__}: {err}"})
    view = memoryview(data.encode("utf-8"))
    while view:
        view = view[os.write(pipe, view) :]
    os._exit(0)


def _check_in_child(exercise: dict, job: dict) -> dict:
    """Fork, check one answer in the child, wait at most job["seconds"]."""
    from torchcourse.i18n import _, use_language

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(exercise, job, write_end)
    os.close(write_end)
    with contextlib.suppress(OSError):
        os.setpgid(pid, pid)
    deadline, chunks, finished = time.monotonic() + job["seconds"], [], False
    while (left := deadline - time.monotonic()) > 0:
        if select.select([read_end], [], [], left)[0]:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    os.close(read_end)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)  # what the answer started dies with it
    _pid, status = os.waitpid(pid, 0)

    def failed(message) -> dict:
        with use_language(job["report_language"]):
            diagnosis = message()
        return {"status": "failed", "message": message(), "diagnosis": diagnosis, "changed": []}

    if not finished:
        seconds = job["seconds"]
        return failed(
            lambda: _("its check did not finish within {seconds:.0f} s (an endless loop?)").format(
                seconds=seconds
            )
        )
    try:
        return json.loads(b"".join(chunks))
    except ValueError:
        code = os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return failed(
            lambda: _(
                "the process checking it died (code {code}): out of memory, or the code exited?"
            ).format(code=code)
        )


def main() -> None:
    job = json.load(sys.stdin)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401 (the lessons' imports, loaded once for every child)
    import torch  # noqa: F401

    from torchcourse.checks.core import find_exercise, known_state

    for exercise in job["exercises"]:
        find_exercise(exercise["id"])  # the chapter's checks, imported before any child
    with known_state():  # torch rebinds some functions on their first call: not in a child
        pass
    results = [_check_in_child(exercise, job) for exercise in job["exercises"]]
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)  # tearing torch down takes seconds and tells nothing


if __name__ == "__main__":
    main()
