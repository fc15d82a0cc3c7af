"""Student notebooks are generated from the solutions: exercises stubbed, the rest kept."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from torchcourse.errors import CourseError
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.setup_cell import sync_setup_cell

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_REGION = re.compile(
    rf"^(?P<indent>[ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)",
    re.DOTALL | re.MULTILINE,
)
STUB = (
    "{indent}# YOUR CODE HERE\n"
    '{indent}raise NotImplementedError("{label}: replace this line with your code")\n'
)


def stub_solutions(source: str, label: str) -> str:
    """Replace each BEGIN/END SOLUTION region with a stub raising NotImplementedError."""
    if source.count(BEGIN) != source.count(END):
        raise CourseError(f"{label}: unbalanced {BEGIN!r}/{END!r} markers in a cell.")
    return _REGION.sub(lambda m: STUB.format(indent=m["indent"], label=label), source)


def sources_digest(nb: nbformat.NotebookNode) -> str:
    """A hash of what a person writes in a notebook: cell types and sources, not outputs."""
    cells = [[cell.cell_type, cell.source] for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def _exercise_label(lesson: Lesson, source: str) -> str:
    match = re.search(r'check\(\s*"(\d\d\.ex\d+)"', source)
    return match[1] if match else f"lesson {lesson.id}"


def student_version(solution: nbformat.NotebookNode, lesson: Lesson) -> nbformat.NotebookNode:
    """The student version of a solution notebook: exercises stubbed, no outputs yet."""
    nb = copy.deepcopy(solution)
    cells = nb.cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and BEGIN in cell.source:
            following = "".join(c.source for c in cells[index + 1 : index + 3])
            cell.source = stub_solutions(cell.source, _exercise_label(lesson, following))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata["torchcourse"] = {
        **solution.metadata.get("torchcourse", {}),
        "generated_from": lesson.solution,
        "sources_sha256": sources_digest(nb),
    }
    nb.metadata["torchcourse"].pop("translated_from", None)
    return nb


def student_notebook(lesson: Lesson, root: Path) -> nbformat.NotebookNode:
    """The student version of a lesson's solution notebook, with no outputs yet."""
    return student_version(nbformat.read(root / lesson.solution, as_version=4), lesson)


def is_stale(lesson: Lesson, root: Path | None = None) -> bool:
    """True when the committed student notebook's sources differ from a fresh generation."""
    root = root or course_root()
    path = root / lesson.notebook
    if not path.is_file():
        return True
    fresh = student_notebook(lesson, root)
    try:
        return sources_digest(nbformat.read(path, as_version=4)) != sources_digest(fresh)
    except Exception:  # it no longer parses: a fresh generation is due
        return True


def edited_by_hand(path: Path) -> bool:
    """True when a generated notebook's sources changed since it was written (or it no longer
    parses: whatever it holds is not ours to overwrite without --force)."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # JSON errors, schema errors, bad encodings, ...
        return True
    stamp = nb.metadata.get("torchcourse", {}).get("sources_sha256")
    return stamp is not None and stamp != sources_digest(nb)


def execute(nb: nbformat.NotebookNode, folder: Path, timeout: int = 600) -> None:
    """Run a notebook top to bottom in a fresh kernel, storing its outputs."""
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()


def write_chapter(lesson: Lesson, root: Path, force: bool = False, rerun: bool = False) -> str:
    """Regenerate and execute one student notebook; return what was done.

    An up-to-date notebook is left alone unless rerun; one edited by hand only with force.
    """
    path = root / lesson.notebook
    if path.is_file() and edited_by_hand(path) and not force:
        raise CourseError(
            f"{lesson.notebook} was edited by hand (or no longer parses as a notebook); it is "
            f"generated from {lesson.solution}: move your changes into the solution, or pass "
            "--force to overwrite it."
        )
    if path.is_file() and not is_stale(lesson, root) and not rerun:
        return "up to date"
    nb = student_notebook(lesson, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    execute(nb, path.parent, timeout=max(600, 3 * lesson.max_seconds_cpu))
    nbformat.write(nb, path)
    return "written"


def execute_solution(lesson: Lesson, root: Path, nb: nbformat.NotebookNode | None = None) -> None:
    """Re-run a solution notebook (or nb, its new version) so its stored outputs are fresh."""
    path = root / lesson.solution
    nb = nb or nbformat.read(path, as_version=4)
    execute(nb, path.parent, timeout=max(600, 3 * lesson.max_seconds_cpu))
    nbformat.write(nb, path)


def refresh_setup_cell(lesson: Lesson, course: Course, root: Path) -> str:
    """Give the solution notebook the current setup cell; run it again if the cell was new."""
    path = root / lesson.solution
    if not path.is_file():
        raise CourseError(
            f"{lesson.solution} is missing: lessons.yml names it as the source of lesson "
            f"{lesson.id} (restore it with git, or fix the path in lessons.yml)."
        )
    nb = nbformat.read(path, as_version=4)
    change = sync_setup_cell(nb, course)
    if change == "inserted":
        execute_solution(lesson, root, nb)
    elif change == "updated":
        nbformat.write(nb, path)
    return change


def write_chapters(
    course: Course,
    keys: list[str] | None = None,
    force: bool = False,
    with_solutions: bool = False,
    root: Path | None = None,
) -> None:
    """Regenerate chapters/ from solutions/ for the given lessons (all by default)."""
    root = root or course_root()
    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    for lesson in lessons:
        change = refresh_setup_cell(lesson, course, root)
        if change:
            print(f"{lesson.solution}: setup cell {change}")
        if with_solutions and change != "inserted":
            execute_solution(lesson, root)
            print(f"{lesson.solution}: executed")
        rerun = with_solutions or bool(change)
        print(f"{lesson.notebook}: {write_chapter(lesson, root, force, rerun=rerun)}")
