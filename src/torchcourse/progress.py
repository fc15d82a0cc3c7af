"""`torchcourse progress`: run the checks of the learner's workspace notebooks, one table.

What runs: each notebook the learner changed is executed top to bottom in a fresh kernel, as
"Restart kernel and run all" would, on an in-memory copy (the file is never written). Cells
that raise do not stop the run, so one broken answer does not hide the verdicts after it.
The whole notebook gets one time budget (by default 2 x the lesson's max_seconds_cpu + 30 s),
so an endless loop in an answer stops the run of that notebook, not the command. A notebook
whose sources are still the generated ones cannot have an exercise done: its exercises are
"not attempted" without starting a kernel, which keeps the command quick.

The verdicts are the check cells' own lines (`✅ / ❌ / ⏳ NN.exK ...`).
"""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from torchcourse.checks.core import FAILED, NOT_ATTEMPTED, PASSED
from torchcourse.errors import CourseError
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.workspace import is_untouched, read_notebook, workspace_dir, workspace_notebook

SYMBOLS = {"✅": PASSED, "❌": FAILED, "⏳": NOT_ATTEMPTED}
_VERDICT = re.compile(r"^(✅|❌|⏳) (\d\d\.ex\d+)\b.*$", re.MULTILINE)
_CHECK_CALL = re.compile(r'check\(\s*["\'](\d\d\.ex\d+)["\']')


def default_timeout(lesson: Lesson) -> int:
    """Seconds one notebook may run: twice its CPU budget plus time to start a kernel."""
    return 2 * lesson.max_seconds_cpu + 30


@dataclass
class Report:
    """The verdicts of one lesson."""

    lesson: Lesson
    status: dict[str, str] = field(default_factory=dict)  # exercise id -> passed/failed/...
    lines: dict[str, str] = field(default_factory=dict)  # exercise id -> the failure line
    note: str = ""
    broken: bool = False  # the notebook could not be read at all
    ran: bool = False

    def count(self, status: str) -> int:
        return sum(value == status for value in self.status.values())


def _stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.output_type == "error":
            return f"{output.ename}: {' '.join(str(output.evalue).split())}"[:160]
    return None


def run_notebook(nb: nbformat.NotebookNode, folder: Path, timeout: float) -> tuple[str, int]:
    """Execute nb in a fresh kernel within timeout seconds in all; keep going past errors.

    Returns (problem, index of the cell it happened in): ("", -1) when every cell ran.
    """
    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
    )
    # The kernel's own log lines (not the notebook's output) would clutter the table.
    with client.setup_kernel(stderr=subprocess.DEVNULL):
        deadline = time.monotonic() + timeout  # starting the kernel does not count
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return f"stopped after {timeout:.0f} s (an endless loop?)", index
            client.timeout = max(1, int(left + 0.999))
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                return f"stopped after {timeout:.0f} s (an endless loop?)", index
            except DeadKernelError:
                return "the kernel died (out of memory, or the code exited?)", index
    return "", -1


def lesson_report(
    lesson: Lesson, workspace: Path, timeout: float | None = None, root: Path | None = None
) -> Report:
    """Run one workspace notebook (if the learner changed it) and collect its verdicts."""
    report = Report(lesson)
    path = workspace_notebook(lesson, workspace)
    ids = lesson.exercise_ids()
    if not path.exists():
        report.status = dict.fromkeys(ids, NOT_ATTEMPTED)
        published = ((root or workspace.parent) / lesson.notebook).is_file()
        report.note = (
            "not in your workspace yet: run `torchcourse start --update`"
            if published
            else "not published yet"
        )
        return report
    shown = f"{workspace.name}/{path.relative_to(workspace).as_posix()}"
    try:
        nb = read_notebook(path, shown)
    except CourseError as err:
        report.broken = True
        report.note = (
            f"{err}: nothing checked (`torchcourse start --update` puts a fresh copy beside it)"
        )
        return report
    if is_untouched(path):
        report.status = dict.fromkeys(ids, NOT_ATTEMPTED)
        return report
    budget = timeout or default_timeout(lesson)
    print(f"  running {shown} (at most {budget:.0f} s) ...", flush=True)
    try:
        problem, stop = run_notebook(nb, path.parent, budget)
    except Exception as err:  # no kernel, a broken Jupyter install: one line, next chapter
        detail = " ".join(str(err).split())[:120]
        report.broken = True
        report.note = f"could not run it ({type(err).__name__}: {detail}); try `torchcourse doctor`"
        return report
    report.ran = True
    check_cells: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for exercise_id in _CHECK_CALL.findall(cell.source):
            check_cells.setdefault(exercise_id, index)
        for match in _VERDICT.finditer(_stream_text(cell)):  # the last verdict of an id counts
            symbol, exercise_id = match[1], match[2]
            if exercise_id in ids:
                report.status[exercise_id] = SYMBOLS[symbol]
                if symbol == "❌":
                    report.lines[exercise_id] = match[0]
                else:
                    report.lines.pop(exercise_id, None)
    unchecked, no_check = [], []
    for exercise_id in ids:
        if exercise_id in report.status:
            continue
        index = check_cells.get(exercise_id)
        if index is None:
            report.status[exercise_id] = NOT_ATTEMPTED
            no_check.append(exercise_id)
        elif problem and index == stop:
            report.status[exercise_id] = FAILED
            report.lines[exercise_id] = (
                f"❌ {exercise_id} failed: its check did not finish: {problem}"
            )
        elif problem and index > stop:
            unchecked.append(exercise_id)
        elif error := _error(nb.cells[index]):
            report.status[exercise_id] = FAILED
            report.lines[exercise_id] = f"❌ {exercise_id} failed: its check cell raised {error}"
        else:
            report.status[exercise_id] = NOT_ATTEMPTED
            no_check.append(exercise_id)
    notes = []
    setup = next((c for c in nb.cells if c.cell_type == "code" and c.source.strip()), None)
    if setup is not None and (error := _error(setup)):
        notes.append(f"the setup cell raised {error} (`torchcourse doctor` may say why)")
    if problem:
        first = nb.cells[stop].source.strip().splitlines()[0]
        notes.append(f"{problem} in the cell starting {_short(first, 40)!r}")
        if unchecked:
            notes.append(f"not checked: {', '.join(unchecked)}")
    if no_check:
        notes.append(f"no check line for {', '.join(no_check)} (check cell removed?)")
    report.note = "; ".join(notes)
    return report


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def progress(
    course: Course,
    keys: list[str] | None = None,
    timeout: float | None = None,
    root: Path | None = None,
    workspace: Path | None = None,
) -> int:
    """Print the progress table of the workspace; 0 unless the workspace is missing."""
    root = root or course_root()
    workspace = workspace or workspace_dir(root)
    if not workspace.is_dir():
        raise CourseError(f"there is no {workspace.name}/ in {root} yet: run `torchcourse start`.")
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    print(f"Checking {len(lessons)} chapter(s) in {workspace.name}/ ...", flush=True)
    reports = [lesson_report(lesson, workspace, timeout, root) for lesson in lessons]

    width = 44
    header = f"{'Chapter':<{width}} {'Passed':>6} {'Failed':>6} {'Not attempted':>13}"
    print()
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys((PASSED, FAILED, NOT_ATTEMPTED), 0)
    for report in reports:
        name = _short(f"{report.lesson.id} {report.lesson.title}", width)
        if report.broken:
            print(f"{name:<{width}} {'-':>6} {'-':>6} {'-':>13}  {report.note}")
            continue
        counts = [report.count(s) for s in totals]
        for status, count in zip(totals, counts):
            totals[status] += count
        note = f"  {report.note}" if report.note else ""
        print(f"{name:<{width}} {counts[0]:>6} {counts[1]:>6} {counts[2]:>13}{note}")
    print("-" * len(header))
    print(f"{'Total':<{width}} {totals[PASSED]:>6} {totals[FAILED]:>6} {totals[NOT_ATTEMPTED]:>13}")
    ran = sum(report.ran for report in reports)
    print(f"(Ran the {ran} notebook(s) you changed; an unchanged notebook has nothing attempted.)")
    failures = [line for report in reports for line in report.lines.values()]
    if failures:
        print("\nTo fix:")
        for line in failures:
            print(f"  {line}")
    return 0
