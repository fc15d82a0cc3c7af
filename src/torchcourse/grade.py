"""`torchcourse grade`: grade a class's notebooks with the course's own checks.

For each student and lesson, on a scratch copy (a submission is never written):
1. the student's notebook runs in a fresh kernel without its check calls, under guard's limits
   and the lesson's time budget; a notebook that hangs, kills its kernel, starts too many
   processes, allocates too much or writes outside its scratch folder is "not graded: <why>";
2. then grader.py checks each answer in a process of its own that imports the checks from this
   package, with its own time limit: the cells the answer needs run there, never the check
   cells, so a redefined `check`, a fake verdict or a patched torchcourse in the notebook
   cannot reach the verdict. grade_cells names each such trick for the report.
A notebook in which no exercise is answered is not run: each exercise is "not attempted".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import get_context
from pathlib import Path

import nbformat

import torchcourse
from torchcourse import grade_cells
from torchcourse.errors import CourseError
from torchcourse.guard import STARTED, WROTE
from torchcourse.i18n import SOURCE_LANGUAGE, _, use_language
from torchcourse.i18n import language as language_now
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.student import sources_digest
from torchcourse.submissions import Submission, TooBig, notebook_language, submissions
from torchcourse.translate import languages, translated_path
from torchcourse.verdicts import FAILED, NOT_ATTEMPTED, PASSED, Result
from torchcourse.workspace import stamp

NOT_GRADED = "not graded"
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED, NOT_GRADED)
PACKAGE = str(Path(torchcourse.__file__).resolve().parents[1])  # where the checks come from
_OUT_OF_MEMORY = re.compile(r"can't allocate memory|Cannot allocate memory|bad_alloc")


@dataclass(frozen=True)
class Limits:
    """Per notebook: run time (default 2 x max_seconds_cpu + 30 s), per answer: check time
    (default max_seconds_cpu + 30 s); memory one process may add; processes it may start."""

    notebook_seconds: float | None = None
    check_seconds: float | None = None
    memory: int = 4 * 2**30
    processes: int = 16

    def notebook(self, lesson: Lesson) -> float:
        return self.notebook_seconds or 2 * lesson.max_seconds_cpu + 30

    def check(self, lesson: Lesson) -> float:
        return self.check_seconds or lesson.max_seconds_cpu + 30


@dataclass
class Verdict:
    status: str
    text: str  # the student's feedback line, in their language
    diagnosis: str = ""  # a failure's message in the instructor's language (class report)


@dataclass
class LessonGrade:
    student: str
    lesson: str
    language: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    note: str = ""  # why nothing was graded, in the student's language
    flags: list[str] = field(default_factory=list)  # grade_cells.FLAGS codes
    seconds: float = 0.0


def _line(status: str, exercise_id: str, why: str = "") -> str:
    if status == NOT_ATTEMPTED and not why:
        return Result(exercise_id, NOT_ATTEMPTED).line()
    if status == NOT_GRADED:
        return _("❔ {id} not graded: {why}").format(id=exercise_id, why=why)
    if status == NOT_ATTEMPTED:
        return _("⏳ {id} not attempted: {why}").format(id=exercise_id, why=why)
    return _("❌ {id} failed: {problem}").format(id=exercise_id, problem=why)


def _all(grade: LessonGrade, ids: list[str], status: str, why: str = "") -> LessonGrade:
    for exercise_id in ids:
        grade.verdicts[exercise_id] = Verdict(status, _line(status, exercise_id, why), why)
    grade.note = why
    return grade


def _reference(lesson: Lesson, root: Path) -> grade_cells.Reference:
    return _reference_of(lesson.id, lesson.solution, lesson.notebook, root)


@cache
def _reference_of(lesson_id: str, solution: str, notebook: str, root: Path):
    solution = nbformat.read(root / solution, as_version=4)
    editions = []
    for language in [SOURCE_LANGUAGE, *languages()]:  # languages(): the translated ones
        path = root / (
            notebook if language == SOURCE_LANGUAGE else translated_path(notebook, language)
        )
        if path.is_file():
            editions.append(nbformat.read(path, as_version=4))
    return grade_cells.reference(solution, *editions)


def _without_checks(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The copy the kernel runs: check calls removed, no stored outputs."""
    copy = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.source = grade_cells.without_checks(cell.source)[0]
            cell.outputs, cell.execution_count = [], None
    return copy


def _refusals(log: Path) -> dict[str, str]:
    """What guard refused, by kind: the first detail of each."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            kind, _tab, detail = line.partition("\t")
            found.setdefault(kind, detail)
    return found


def _fault(refused: dict[str, str], limits: Limits) -> str:
    if STARTED in refused:
        return _("it started more than {count} processes (a fork bomb?)").format(
            count=limits.processes
        )
    if WROTE in refused:
        return _("it wrote outside its scratch folder ({path})").format(path=refused[WROTE])
    return ""


def _kernel_env(language: str, scratch: Path, root: Path) -> dict[str, str]:
    (scratch / "tmp").mkdir(exist_ok=True)
    return {
        **os.environ,
        "TORCHCOURSE_ROOT": str(root),  # its data: unpacked already, read only
        "TORCHCOURSE_LANG": language,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TMPDIR": str(scratch / "tmp"),
        "IPYTHONDIR": str(scratch / ".ipython"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _run_student(nb, scratch: Path, log: Path, lesson: Lesson, limits: Limits, language, root):
    """Step 1: run the notebook without its checks; why it cannot be graded, or ""."""
    from torchcourse.runner import run_notebook

    preamble = (
        f"__import__('sys').path.insert(0, {PACKAGE!r}); __import__('torch'); "
        f"__import__('torchcourse.guard', fromlist=['enclose']).enclose("
        f"{str(scratch)!r}, {limits.memory}, {limits.processes}, {str(log)!r})"
    )
    nbformat.write(nb, scratch / f"{lesson.name}.ipynb")
    env = _kernel_env(language, scratch, root)
    try:
        problem, _stop = run_notebook(nb, scratch, limits.notebook(lesson), preamble, env)
    except KeyboardInterrupt:
        raise
    except Exception as err:
        return _("could not run it ({error_type}: {error})").format(
            error_type=type(err).__name__, error=" ".join(str(err).split())[:120]
        )
    if fault := _fault(_refusals(log), limits):
        return fault
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error" and (
                output.ename == "MemoryError" or _OUT_OF_MEMORY.search(str(output.evalue))
            ):
                return _("it allocated more memory than its limit ({size:.1f} GB)").format(
                    size=limits.memory / 2**30
                )
    return problem


def _check_answers(exercises: list[dict], folder: Path, lesson, limits, language, instructor, root):
    """Step 2: the verdicts of grader.py, one dict per exercise."""
    (folder / "checks").mkdir()
    job = {
        "language": language,
        "report_language": instructor,
        "scratch": str(folder / "checks"),
        "log": str(folder / "checks.log"),
        "memory": limits.memory,
        "processes": limits.processes,
        "seconds": limits.check(lesson),
        "exercises": exercises,
    }
    # Only the instructor's package on the path, first: PYTHONPATH is this package's folder
    # (processes the checks start inherit it), no user site, no current folder.
    code = (
        "import sys; sys.path[:] = [p for p in sys.path if p]; "
        "import torchcourse.grader as g; g.main()"
    )
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TORCHCOURSE_CACHE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(TORCHCOURSE_LANG=language, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(TORCHCOURSE_ROOT=str(root), PYTHONPATH=PACKAGE)
    process = subprocess.Popen(
        [sys.executable, "-s", "-B", "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=folder,
        env=env,
        start_new_session=True,
    )
    budget = 60 + len(exercises) * limits.check(lesson)
    try:
        out, err = process.communicate(json.dumps(job).encode(), timeout=budget)
    except subprocess.TimeoutExpired:
        out, err = b"", b"timed out"
    finally:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    try:
        return json.loads(out), _refusals(folder / "checks.log")
    except ValueError:
        last = (err.decode(errors="replace").strip().splitlines() or ["?"])[-1]
        raise CourseError(_("the grader failed: {error}").format(error=last[:200])) from None


def _read(sub: Submission, lesson: Lesson):
    """(notebook, its language) or (None, why it cannot be graded); None, "" when absent."""
    name = sub.notebook(lesson)
    if name is None:
        return None, ""
    try:
        data = json.loads(sub.read(name).decode("utf-8"))
        nb = nbformat.from_dict(data)
        nbformat.validate(nb)
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except TooBig:
        return None, _("{name} is larger than 64 MB").format(name=name)
    except Exception as err:
        detail = " ".join(str(err).split())[:100]
        return None, _("{name} is not a valid notebook ({error_type}: {detail})").format(
            name=name, error_type=type(err).__name__, detail=detail
        )
    return nb, sub.language() or notebook_language(data)


def grade_lesson(sub: Submission, lesson: Lesson, root: Path, limits: Limits, work: Path):
    """One student's notebook for one lesson, graded (see the module docstring)."""
    started = time.monotonic()
    grade = _grade_lesson(sub, lesson, root, limits, work)
    grade.seconds = time.monotonic() - started
    return grade


def _grade_lesson(sub: Submission, lesson: Lesson, root: Path, limits: Limits, work: Path):
    instructor = language_now()
    ids = lesson.exercise_ids()
    nb, found = _read(sub, lesson)  # found: the notebook's language, or why it has none
    grade = LessonGrade(sub.name, lesson.id, found if nb is not None else instructor)
    language = grade.language
    with use_language(language):
        if nb is None:
            return _all(grade, ids, NOT_GRADED if found else NOT_ATTEMPTED, found)
        if stamp(nb) == sources_digest(nb):
            return _all(grade, ids, NOT_ATTEMPTED)
        reading = grade_cells.read(nb, _reference(lesson, root))
        grade.flags = sorted(reading.flags)
        exercises = [
            {"id": i, "name": _reference(lesson, root).answers[i], "cells": cells, "answer": at}
            for i in ids
            if i in reading.answers and not reading.pieces[reading.answers[i]].course
            for cells, at in [reading.program(i)]
        ]
        if not exercises:  # nothing answered: a run could change no verdict, only cost time
            return _all(grade, ids, NOT_ATTEMPTED)
        folder = Path(tempfile.mkdtemp(prefix=f"{lesson.id}-", dir=work))
        scratch = folder / "notebook"
        scratch.mkdir()
        log = folder / "notebook.log"
        why = _run_student(_without_checks(nb), scratch, log, lesson, limits, language, root)
        if why:
            return _all(grade, ids, NOT_GRADED, why)
        try:
            results, refused = _check_answers(
                exercises, folder, lesson, limits, language, instructor, root
            )
        except CourseError as err:
            return _all(grade, ids, NOT_GRADED, str(err))
        by_id = dict(zip([e["id"] for e in exercises], results))
        for exercise_id in ids:
            result = by_id.get(exercise_id)
            if result is None:
                text = _line(NOT_ATTEMPTED, exercise_id)
                grade.verdicts[exercise_id] = Verdict(NOT_ATTEMPTED, text)
                continue
            if result.get("changed"):
                grade.flags = sorted({*grade.flags, grade_cells.CHANGED_AT_RUN_TIME})
            status, message = result["status"], result.get("message", "")
            text = result.get("line") or _line(status, exercise_id, message)
            if status == FAILED and refused and (fault := _fault(refused, limits)):
                status, message = NOT_GRADED, fault
                text = _line(status, exercise_id, message)
            grade.verdicts[exercise_id] = Verdict(status, text, result.get("diagnosis") or message)
        shutil.rmtree(folder, ignore_errors=True)
    return grade


def _prepare_data(lessons: list[Lesson]) -> None:
    """Unpack the datasets the lessons use now: a student's kernel may not write the cache."""
    if any("mnist" in lesson.datasets for lesson in lessons):
        from torchcourse.data import prepare_mnist

        prepare_mnist()


def grade_class(
    course: Course,
    folder: Path,
    keys: list[str] | None = None,
    jobs: int = 1,
    limits: Limits | None = None,
    root: Path | None = None,
) -> list[LessonGrade]:
    """Grade every student of folder on the lessons (all by default): their LessonGrades."""
    from tqdm import tqdm

    root = (root or course_root()).resolve()
    limits = limits or Limits()
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    students = submissions(folder)
    _prepare_data(lessons)
    tasks = [(student, lesson) for student in students for lesson in lessons]
    work = Path(tempfile.mkdtemp(prefix="torchcourse-grade-"))
    bar = tqdm(total=len(tasks), unit="notebook", desc="grade", disable=None, file=sys.stderr)
    try:
        if jobs <= 1:
            grades = []
            for student, lesson in tasks:
                grades.append(grade_lesson(student, lesson, root, limits, work))
                bar.update()
        else:
            with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
                futures: list[Future] = [
                    pool.submit(grade_lesson, s, lesson, root, limits, work) for s, lesson in tasks
                ]
                for future in futures:
                    future.add_done_callback(lambda _f: bar.update())
                grades = [future.result() for future in futures]
    finally:
        bar.close()
        shutil.rmtree(work, ignore_errors=True)
    return grades


def check_out_dir(out: Path, folder: Path) -> None:
    """A CourseError when out lies inside the submissions (never written)."""
    try:
        out.resolve().relative_to(folder.resolve())
    except ValueError:
        return
    raise CourseError(
        _(
            "--out {out} is inside the submissions folder, which grade never writes: choose "
            "another folder."
        ).format(out=out)
    )


def grade(
    course: Course,
    folder: Path,
    keys: list[str] | None = None,
    out: Path | None = None,
    jobs: int = 1,
    limits: Limits | None = None,
) -> int:
    """`torchcourse grade`: grade the class, write the outputs into out, print a summary."""
    from torchcourse.grade_report import write_all

    out = out or Path("grades")
    check_out_dir(out, folder)
    if jobs < 1:
        raise CourseError(_("-j must be 1 or more, got {jobs}.").format(jobs=jobs))
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    started = time.monotonic()
    grades = grade_class(course, folder, keys, jobs, limits)
    write_all(grades, lessons, out)
    counts = {s: sum(v.status == s for g in grades for v in g.verdicts.values()) for s in STATUSES}
    print(
        _(
            "Graded {students} student(s) x {lessons} lesson(s) in {seconds:.0f} s: {passed} "
            "passed, {failed} failed, {not_attempted} not attempted, {not_graded} not graded."
        ).format(
            students=len({g.student for g in grades}),
            lessons=len(lessons),
            seconds=time.monotonic() - started,
            passed=counts[PASSED],
            failed=counts[FAILED],
            not_attempted=counts[NOT_ATTEMPTED],
            not_graded=counts[NOT_GRADED],
        )
    )
    print(_("Wrote gradebook.csv, feedback/ and report.html in {out}.").format(out=out))
    return 0
