"""`torchcourse progress`: run the checks of the learner's workspace notebooks, one table.

What runs: each notebook the learner changed is executed top to bottom in a fresh kernel, as
"Restart kernel and run all" would, on an in-memory copy with every stored output cleared (the
file is never written), so only what this run printed counts. Cells that raise do not stop the
run, so one broken answer does not hide the verdicts after it. The whole notebook gets one time
budget (by default 2 x the lesson's max_seconds_cpu + 30 s); when the run stops early (the
budget, a dead kernel) every exercise whose check had not run is "not checked", with the reason.
A notebook whose sources are still the generated ones cannot have an exercise done: its
exercises are "not attempted" without starting a kernel, which keeps the command quick.

The verdicts are the check cells' own lines (`✅ / ❌ / ⏳ NN.exK ...`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from torchcourse.errors import CourseError
from torchcourse.i18n import (
    LANG_ENV,
    SOURCE_LANGUAGE,
    _,
    normalize,
    pad,
    translations,
    use_language,
)
from torchcourse.i18n import language as language_now
from torchcourse.i18n import width as text_width
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.runner import run_notebook
from torchcourse.verdicts import FAILED, NOT_ATTEMPTED, PASSED
from torchcourse.workspace import (
    is_untouched,
    read_notebook,
    student_source,
    workspace_dir,
    workspace_language,
    workspace_notebook,
)

NOT_CHECKED = "not checked"
COLUMNS = (PASSED, FAILED, NOT_ATTEMPTED, NOT_CHECKED)
SYMBOLS = {"✅": PASSED, "❌": FAILED, "⏳": NOT_ATTEMPTED}
_VERDICT = re.compile(r"^(✅|❌|⏳)[^\n]*?\b(\d\d\.ex\d+)\b[^\n]*$", re.MULTILINE)
_WARNING = re.compile(r"^⚠️[^\n]*$", re.MULTILINE)
_CHECK_CALL = re.compile(r'check\(\s*["\'](\d\d\.ex\d+)["\']')
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_CELL_LINE = re.compile(r"(?:Cell In\[\d+\], line |\.py, line |<tokenize>, line |<tokenize>:)(\d+)")
_NEW = re.compile(r"\.new(?:-(\d+))?\.ipynb$")


def default_timeout(lesson: Lesson) -> int:
    """Seconds one notebook may run: twice its CPU budget plus time to start a kernel."""
    return 2 * lesson.max_seconds_cpu + 30


def valid_timeout(seconds: float | None) -> float | None:
    """seconds itself when it is a usable time budget; a CourseError otherwise."""
    if seconds is not None and not (math.isfinite(seconds) and seconds > 0):
        raise CourseError(
            _(
                "--timeout must be a positive number of seconds, got {seconds}: e.g. --timeout 300"
            ).format(seconds=seconds)
        )
    return seconds


@dataclass
class Report:
    """The verdicts of one lesson."""

    lesson: Lesson
    status: dict[str, str] = field(default_factory=dict)  # exercise id -> passed/failed/...
    lines: dict[str, str] = field(default_factory=dict)  # exercise id -> what to fix
    note: str = ""
    broken: bool = False  # the notebook could not be read or run at all
    ran: bool = False

    def count(self, status: str) -> int:
        return sum(value == status for value in self.status.values())

    def set(self, exercise_id: str, status: str, line: str = "") -> None:
        self.status[exercise_id] = status
        if line:
            self.lines[exercise_id] = line
        else:
            self.lines.pop(exercise_id, None)


def _stream_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


def _one_line(text: str, width: int = 160) -> str:
    return " ".join(str(text).split())[:width]


def _error_output(cell):
    return next((o for o in cell.get("outputs", []) if o.output_type == "error"), None)


def _error(cell) -> str | None:
    output = _error_output(cell)
    return f"{output.ename}: {_one_line(output.evalue)}" if output else None


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _short_columns(text: str, columns: int) -> str:
    """text cut to fit `columns` terminal columns, with "…" where it was cut."""
    if text_width(text) <= columns:
        return text
    while text_width(text) > columns - 1:
        text = text[:-1]
    return text + "…"


def _first_line(cell) -> str:
    lines = cell.source.strip().splitlines()
    return _short(lines[0], 40) if lines else ""


def _answer_error(nb: nbformat.NotebookNode, check_index: int, previous_checks: list[int]):
    """The error of the cells between the previous check cell and this one, nearest first:
    (error output, "your answer cell" or "the cell starting ..."), or None."""
    start = max([i for i in previous_checks if i < check_index], default=-1)
    code = [
        i
        for i in range(start + 1, check_index)
        if nb.cells[i].cell_type == "code" and nb.cells[i].source.strip()
    ]
    for i in reversed(code):
        if output := _error_output(nb.cells[i]):
            where = (
                _("your answer cell")
                if i == code[-1]
                else _("the cell starting {line}").format(line=repr(_first_line(nb.cells[i])))
            )
            return output, where
    return None


def _error_line(output, where: str) -> str:
    """E.g. "SyntaxError in your answer cell, line 3: invalid syntax"."""
    traceback = _ANSI.sub("", "\n".join(output.get("traceback", [])))
    numbers = _CELL_LINE.findall(traceback) or _CELL_LINE.findall(str(output.evalue))
    message = re.sub(r" \([^()]*, line \d+\)$", "", _one_line(output.evalue))
    if numbers:
        return _("{error_type} in {where}, line {line}: {message}").format(
            error_type=output.ename, where=where, line=numbers[-1], message=message
        )
    return _("{error_type} in {where}: {message}").format(
        error_type=output.ename, where=where, message=message
    )


def _judge(report: Report, nb, ids: list[str], problem: str, stop: int) -> list[str]:
    """Fill report from the outputs of this run; return the exercises not checked."""
    check_cells: dict[str, list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for exercise_id in _CHECK_CALL.findall(cell.source):
            check_cells.setdefault(exercise_id, []).append(index)
            for match in _VERDICT.finditer(_stream_text(cell)):  # the last verdict counts
                if match[2] == exercise_id and exercise_id in ids:
                    report.set(exercise_id, SYMBOLS[match[1]], match[0] if match[1] == "❌" else "")
    all_checks = sorted(i for cells in check_cells.values() for i in cells)
    stopped = _("the run stopped before its check: {problem}").format(problem=problem)
    unchecked = []
    for exercise_id in ids:
        if exercise_id in report.status:
            continue
        cells = check_cells.get(exercise_id, [])
        if not cells:
            why = _('there is no `check("{id}", ...)` cell (copy it back from chapters/)').format(
                id=exercise_id
            )
        elif problem and stop in cells:
            report.set(
                exercise_id,
                FAILED,
                _("❌ {id} failed: its check did not finish: {problem}").format(
                    id=exercise_id, problem=problem
                ),
            )
            continue
        elif problem and min(cells) > stop:
            why = stopped
        elif error := _error_output(nb.cells[cells[0]]):
            if error.ename == "NameError" and "'check'" in str(error.evalue):
                why = _("`check` is not defined (the cell importing it failed or was deleted)")
            else:
                found = _answer_error(nb, cells[0], all_checks)
                text = (
                    _error_line(*found)
                    if found
                    else _("its check cell raised {error}").format(error=_error(nb.cells[cells[0]]))
                )
                report.set(exercise_id, FAILED, f"❌ {exercise_id}: {text}")
                continue
        elif warning := _WARNING.search(_stream_text(nb.cells[cells[0]])):
            why = _("its check cell says: {warning}").format(warning=warning[0])
        else:
            why = _("its check cell printed no verdict (was the `check(...)` line changed?)")
        report.set(
            exercise_id,
            NOT_CHECKED,
            _("❔ {id} not checked: {why}").format(id=exercise_id, why=why),
        )
        unchecked.append(exercise_id)
    return unchecked


def _newer_copy(path: Path) -> tuple[Path, str]:
    """The notebook to check: the newest NN-slug.new*.ipynb the learner edited (after
    `start --update` put it beside theirs), else theirs; and a note about the new copies."""
    news = sorted(
        (p for p in path.parent.glob(f"{path.stem}.new*.ipynb") if _NEW.search(p.name)),
        key=lambda p: int(_NEW.search(p.name)[1] or 1),
    )
    edited = [p for p in news if not is_untouched(p)]
    if edited:
        return edited[-1], _("checked {name}, the new version you answered in").format(
            name=edited[-1].name
        )
    if news:
        return path, _(
            "a new version waits beside it, {name}: copy your answers into it (progress checks "
            "that copy from then on)"
        ).format(name=news[-1].name)
    return path, ""


def lesson_report(
    lesson: Lesson, workspace: Path, timeout: float | None = None, root: Path | None = None
) -> Report:
    """Run one workspace notebook (if the learner changed it) and collect its verdicts."""
    report = Report(lesson)
    path = workspace_notebook(lesson, workspace)
    ids = lesson.exercise_ids()
    if not path.exists():
        report.status = dict.fromkeys(ids, NOT_ATTEMPTED)
        language = workspace_language(workspace) or SOURCE_LANGUAGE
        published = ((root or workspace.parent) / student_source(lesson, language)).is_file()
        report.note = (
            _("not in your workspace yet: run `torchcourse start --update`")
            if published
            else _("not published yet")
        )
        return report
    path, about_new = _newer_copy(path)
    shown = f"{workspace.name}/{path.relative_to(workspace).as_posix()}"
    try:
        nb = read_notebook(path, shown)
    except CourseError as err:
        report.broken = True
        report.note = _(
            "{error}: nothing checked (`torchcourse start --update` puts a fresh copy beside it)"
        ).format(error=err)
        return report
    if is_untouched(path):
        report.status = dict.fromkeys(ids, NOT_ATTEMPTED)
        report.note = about_new
        return report
    for cell in nb.cells:  # only what this run prints counts, never a stored output
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    budget = timeout or default_timeout(lesson)
    print(
        _("  running {path} (at most {seconds:.0f} s) ...").format(path=shown, seconds=budget),
        flush=True,
    )
    try:
        problem, stop = run_notebook(nb, path.parent, budget)
    except Exception as err:  # no kernel, a broken Jupyter install: one line, next chapter
        report.broken = True
        report.note = _(
            "could not run it ({error_type}: {error}); try `torchcourse doctor`"
        ).format(error_type=type(err).__name__, error=_one_line(err, 120))
        return report
    report.ran = True
    unchecked = _judge(report, nb, ids, problem, stop)
    notes = [about_new] if about_new else []
    setup = next((c for c in nb.cells if c.cell_type == "code" and c.source.strip()), None)
    if setup is not None and (error := _error(setup)):
        notes.append(
            _("the setup cell raised {error} (`torchcourse doctor` may say why)").format(
                error=error
            )
        )
    if problem:
        notes.append(
            _("{problem} in the cell starting {line}").format(
                problem=problem, line=repr(_first_line(nb.cells[stop]))
            )
        )
    if unchecked:
        notes.append(_("not checked: {ids}").format(ids=", ".join(unchecked)))
    report.note = "; ".join(notes)
    return report


def progress(
    course: Course,
    keys: list[str] | None = None,
    timeout: float | None = None,
    root: Path | None = None,
    workspace: Path | None = None,
) -> int:
    """Print the progress table of the workspace; 0 unless the workspace is missing.

    The notebooks run, and the table prints, in the workspace's language (`start --lang`).
    """
    timeout = valid_timeout(timeout)
    root = root or course_root()
    workspace = workspace or workspace_dir(root)
    if workspace.exists() and not workspace.is_dir():
        raise CourseError(
            _(
                "{path} is a file, not your workspace folder: move it away, or name the folder "
                "with --workspace DIR."
            ).format(path=workspace)
        )
    if not workspace.is_dir():
        raise CourseError(
            _("there is no workspace {path} yet: run `torchcourse start{option}` first.").format(
                path=workspace,
                option="" if workspace == workspace_dir(root) else f" --workspace {workspace}",
            )
        )
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    # $TORCHCOURSE_LANG first, as everywhere; then the workspace's language
    language = normalize(os.environ.get(LANG_ENV, "")) or workspace_language(workspace)
    language = language or language_now()
    with use_language(language), _kernels_speak(language):
        print(
            _("Checking {count} chapter(s) in {folder}/ ...").format(
                count=len(lessons), folder=workspace.name
            ),
            flush=True,
        )
        reports = [lesson_report(lesson, workspace, timeout, root) for lesson in lessons]
        _print_table(reports, language)
    return 0


@contextlib.contextmanager
def _kernels_speak(language: str) -> Iterator[None]:
    """The notebooks' kernels (they inherit the environment) print the checks in language."""
    previous = os.environ.get(LANG_ENV)
    os.environ[LANG_ENV] = language
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(LANG_ENV, None)
        else:
            os.environ[LANG_ENV] = previous


def _print_table(reports: list[Report], language: str) -> None:
    """The table, its columns lined up in terminal columns (a Chinese title is twice as wide)."""
    width = 44
    titles = [_("Chapter"), _("Passed"), _("Failed"), _("Not attempted"), _("Not checked")]
    widths = [max(6, text_width(t)) for t in titles[1:]]
    header = (
        pad(titles[0], width) + " " + " ".join(pad(t, w, True) for t, w in zip(titles[1:], widths))
    )
    print()
    print(header)
    print("-" * text_width(header))
    totals = dict.fromkeys(COLUMNS, 0)
    for report in reports:
        title = translations(language).get(report.lesson.title, report.lesson.title)
        name = _short_columns(f"{report.lesson.id} {title}", width)
        if report.broken:
            dashes = " ".join(pad("-", w, True) for w in widths)
            print(f"{pad(name, width)} {dashes}  {report.note}")
            continue
        counts = [report.count(s) for s in COLUMNS]
        for status, count in zip(COLUMNS, counts):
            totals[status] += count
        cells = " ".join(pad(str(c), w, True) for c, w in zip(counts, widths))
        note = f"  {report.note}" if report.note else ""
        print(f"{pad(name, width)} {cells}{note}")
    print("-" * text_width(header))
    cells = " ".join(pad(str(totals[s]), w, True) for s, w in zip(COLUMNS, widths))
    total = _("Total")
    print(f"{pad(total, width)} {cells}")
    ran = sum(report.ran for report in reports)
    print(
        _(
            "(Ran the {count} notebook(s) you changed; an unchanged notebook has nothing "
            "attempted.)"
        ).format(count=ran)
    )
    failures = [
        report.lines[i]
        for report in reports
        for i in report.lesson.exercise_ids()
        if i in report.lines
    ]
    if failures:
        print("\n" + _("To fix:"))
        for line in failures:
            print(f"  {line}")
