"""`torchcourse progress`: real kernels, small notebooks, one table, only measured verdicts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from fake_course import LINES, edit, make_course, publish

from torchcourse import cli
from torchcourse.checks.core import PASSED
from torchcourse.manifest import load_course
from torchcourse.progress import progress
from torchcourse.workspace import start

SRC = Path(__file__).resolve().parents[1] / "src"


def ws(root, name):
    return root / "workspace" / name / f"{name}.ipynb"


def row(out: str, lesson_id: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f"{lesson_id} "))
    return re.split(r"\s{2,}", line.strip())


def run(root, capsys, keys=None, timeout=None) -> str:
    capsys.readouterr()
    assert progress(load_course(root / "lessons.yml"), keys, timeout=timeout, root=root) == 0
    return capsys.readouterr().out


@pytest.fixture
def root(tmp_path):
    make_course(
        tmp_path,
        [("01", "passes", 1), ("02", "fails", 3), ("03", "untouched", 2), ("04", "corrupt", 1)],
    )
    start(load_course(tmp_path / "lessons.yml"), root=tmp_path)
    return tmp_path


def store_passes(path: Path) -> None:
    """Stored outputs as if every check had passed in an earlier session in JupyterLab."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if match := re.match(r'check\("(\d\d\.ex\d+)"', cell.source):
            text = LINES[PASSED].replace("EXID", match[1]) + "\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nbformat.write(nb, path)


def test_progress_reports_passed_failed_not_attempted_and_corrupt(root, capsys):
    edit(ws(root, "01-passes"), 1, "return 2 * x")
    edit(ws(root, "02-fails"), 1, "return x + 1")  # wrong: 3, not 4
    path = ws(root, "02-fails")  # ex2 left as it is; ex3's function cell deleted by mistake
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "def double_3(" not in c.source]
    nb.cells.insert(1, nbformat.v4.new_code_cell("import not_installed_anywhere"))
    nbformat.write(nb, path)
    ws(root, "04-corrupt").write_text('{"cells": [{"cell_type": "code",', encoding="utf-8")
    before = {p: p.read_bytes() for p in (root / "workspace").rglob("*.ipynb")}

    out = run(root, capsys)

    assert row(out, "01") == ["01 Lesson passes", "1", "0", "0", "0"]
    assert row(out, "02")[:5] == ["02 Lesson fails", "0", "2", "1", "0"]
    assert row(out, "02")[5] == (
        "the setup cell raised ModuleNotFoundError: No module named 'not_installed_anywhere' "
        "(`torchcourse doctor` may say why)"
    )
    assert row(out, "03") == ["03 Lesson untouched", "0", "0", "2", "0"]
    corrupt = row(out, "04")
    assert corrupt[:5] == ["04 Lesson corrupt", "-", "-", "-", "-"]
    assert "workspace/04-corrupt/04-corrupt.ipynb does not parse as a notebook" in corrupt[5]
    assert re.search(r"^Total\s+1\s+2\s+3\s+0$", out, re.MULTILINE)
    assert "❌ 02.ex1 failed: double(2) should be 4. Hint 1/3: multiply by 2." in out
    assert "❌ 02.ex3: its check cell raised NameError" in out
    assert "Ran the 2 notebook(s) you changed" in out
    assert "Traceback" not in out
    after = {p: p.read_bytes() for p in (root / "workspace").rglob("*.ipynb")}
    assert after == before, "progress must never write to the learner's notebooks"


def test_an_endless_loop_in_a_check_fails_it_and_leaves_the_rest_unchecked(root, capsys):
    edit(ws(root, "02-fails"), 1, "while True:\n        pass")
    edit(ws(root, "02-fails"), 2, "return 2 * x")
    store_passes(ws(root, "02-fails"))
    out = run(root, capsys, ["02"], timeout=3)
    cells = row(out, "02")
    assert cells[:5] == ["02 Lesson fails", "0", "1", "0", "2"]
    assert "stopped after 3 s (an endless loop?)" in cells[5]
    assert "not checked: 02.ex2, 02.ex3" in cells[5]
    assert "❌ 02.ex1 failed: its check did not finish" in out
    assert "❔ 02.ex2 not checked: the run stopped before its check: stopped after 3 s" in out


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("return 2 * x\nwhile True:\n    pass", "stopped after 3 s (an endless loop?)"),
        ("return 2 * x\nimport os\nos._exit(1)", "the kernel died"),
        ("return 2 * x\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "kernel died"),
    ],
    ids=["timeout", "os._exit", "SIGKILL"],
)
def test_stored_outputs_after_a_stop_are_never_read_as_verdicts(root, capsys, answer, why):
    """The learner once saw every check pass; now ex2's cell stops the run: ex1 is measured
    again, ex2 and ex3 are not checked (never passed, never "not attempted")."""
    path = ws(root, "02-fails")
    edit(path, 1, "return 2 * x")
    edit(path, 2, answer)
    store_passes(path)
    out = run(root, capsys, ["02"], timeout=3)
    assert row(out, "02")[:5] == ["02 Lesson fails", "1", "0", "0", "2"]
    for exercise_id in ("02.ex2", "02.ex3"):
        assert f"❔ {exercise_id} not checked: the run stopped before its check: " in out
    assert why in row(out, "02")[5]
    assert "✅ 02.ex2" not in out and "✅ 02.ex3" not in out


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("def double_1(x):\n    y = x *\n    return y", "SyntaxError in your answer cell, line 2:"),
        (
            "def double_1(x):\n    return 2 * x\n  oops",
            "IndentationError in your answer cell, line 3:",
        ),
        ("import math\n\ndouble_1 = make_double(2)", "NameError in your answer cell, line 3:"),
    ],
    ids=["SyntaxError", "IndentationError", "NameError"],
)
def test_an_error_in_the_answer_cell_is_named_not_the_check_cells(root, capsys, source, line):
    path = ws(root, "02-fails")
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if "def double_1(" in c.source).source = source
    nbformat.write(nb, path)
    out = run(root, capsys, ["02"])
    assert f"❌ 02.ex1: {line}" in out
    assert "check cell raised" not in out
    assert row(out, "02")[:5] == ["02 Lesson fails", "0", "1", "2", "0"]


def test_a_broken_check_call_or_a_removed_check_is_not_checked(root, capsys):
    path = ws(root, "02-fails")
    edit(path, 1, "return 2 * x\nprint('✅ 02.ex2 passed.')")  # a verdict outside its check
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.source.startswith('check("02.ex1"'):
            cell.source = 'check("02.ex1")'
    nb.cells = [c for c in nb.cells if not c.source.startswith('check("02.ex2"')]
    nbformat.write(nb, path)
    out = run(root, capsys, ["02"])
    assert row(out, "02")[:5] == ["02 Lesson fails", "0", "0", "1", "2"]
    assert "❔ 02.ex1 not checked: its check cell says: ⚠️ check: you gave only the" in out
    assert '❔ 02.ex2 not checked: there is no `check("02.ex2", ...)` cell' in out


def test_the_new_version_the_learner_answered_in_is_the_one_checked(root, capsys):
    edit(ws(root, "01-passes"), 1, "return x + 1")
    publish(root, "01", "passes", 1, version="2")
    start(load_course(root / "lessons.yml"), update=True, root=root)
    assert "copy your answers into it (`torchcourse progress` checks that copy" in (
        capsys.readouterr().out
    )
    beside = root / "workspace" / "01-passes" / "01-passes.new.ipynb"
    out = run(root, capsys, ["01"])
    assert row(out, "01")[:5] == ["01 Lesson passes", "0", "1", "0", "0"]
    assert "a new version waits beside it, 01-passes.new.ipynb: copy your answers" in out
    edit(beside, 1, "return 2 * x")
    out = run(root, capsys, ["01"])
    assert row(out, "01") == [
        "01 Lesson passes", "1", "0", "0", "0",
        "checked 01-passes.new.ipynb, the new version you answered in",
    ]  # fmt: skip


def test_progress_without_a_workspace_is_one_line(tmp_path, monkeypatch, capsys):
    make_course(tmp_path, [("01", "passes", 1)])
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    assert cli.main(["progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run `torchcourse start`" in err


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "soon"])
def test_a_timeout_that_is_not_a_positive_number_is_refused(root, monkeypatch, capsys, value):
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    with pytest.raises(SystemExit) as stopped:
        cli.main(["progress", f"--timeout={value}"])
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("torchcourse progress: argument --timeout:")
    assert f"{value!r} is not a positive number of seconds (e.g. --timeout 300)" in err


def test_missing_notebooks_are_named_without_running_anything(root, capsys):
    ws(root, "03-untouched").unlink()
    ws(root, "04-corrupt").unlink()
    (root / "chapters" / "04-corrupt" / "04-corrupt.ipynb").unlink()
    out = run(root, capsys)
    assert row(out, "03") == [
        "03 Lesson untouched", "0", "0", "2", "0",
        "not in your workspace yet: run `torchcourse start --update`",
    ]  # fmt: skip
    assert row(out, "04") == ["04 Lesson corrupt", "0", "0", "1", "0", "not published yet"]
    assert "Ran the 0 notebook(s)" in out


def test_a_kernel_that_cannot_start_is_one_line_per_chapter(root, monkeypatch, capsys):
    import torchcourse.progress

    def no_kernel(*args, **kwargs):
        raise RuntimeError("No such kernel named python3")

    monkeypatch.setattr(torchcourse.progress, "run_notebook", no_kernel)
    edit(ws(root, "01-passes"), 1, "return 2 * x")
    out = run(root, capsys, ["01", "03"])
    assert row(out, "01")[1:] == [
        "-", "-", "-", "-",
        "could not run it (RuntimeError: No such kernel named python3); try `torchcourse doctor`",
    ]  # fmt: skip
    assert row(out, "03")[1:] == ["0", "0", "2", "0"]


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="Ctrl-C is a POSIX process-group signal")
def test_ctrl_c_stops_progress_at_once_and_kills_the_kernel(root, tmp_path):
    pid_file = tmp_path / "kernel.pid"
    loop = f"import os\n    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
    edit(ws(root, "01-passes"), 1, loop + "    while True:\n        pass")
    edit(ws(root, "02-fails"), 1, "return 2 * x")
    env = {**os.environ, "TORCHCOURSE_ROOT": str(root)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "torchcourse", "progress", "--timeout", "300"]
    # A terminal's Ctrl-C signals the whole foreground process group: so does this test. A
    # foreground command starts with SIGINT at its default; a test run started in the background
    # (`make test &`, nohup) ignores it, and a child would inherit that: catch it while starting
    # progress, so that exec resets it to the default as in a terminal.
    ignored = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen(command, env=env, start_new_session=True, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    finally:
        signal.signal(signal.SIGINT, ignored)
    try:
        deadline = time.monotonic() + 120
        while not pid_file.is_file() or not pid_file.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.2)
        kernel = int(pid_file.read_text())
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert time.monotonic() - sent < 15, "Ctrl-C must stop progress promptly"
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "torchcourse progress: stopped (Ctrl-C)."
    assert "Traceback" not in err + out
    assert "02-fails" not in out, "nothing runs after Ctrl-C"
    deadline = time.monotonic() + 10
    while _alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(kernel), "the kernel must not outlive progress"
