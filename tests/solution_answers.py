"""The reference answers, taken from the solution notebooks (their one home)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import nbformat
from IPython.core.inputtransformer2 import TransformerManager

from torchcourse.manifest import load_course
from torchcourse.setup_cell import is_setup_cell
from torchcourse.student import BEGIN, END

ROOT = Path(__file__).resolve().parents[1]
CONTEXT_TAG = "exercise-context"


@cache
def _lesson_answers(lesson_id: str) -> dict[str, object]:
    lesson = load_course(ROOT / "lessons.yml").lesson(lesson_id)
    to_python = TransformerManager().transform_cell
    cells = [
        c
        for c in nbformat.read(ROOT / lesson.solution, as_version=4).cells
        if c.cell_type == "code" and not is_setup_cell(c)
    ]
    namespace: dict[str, object] = {"__name__": f"solution_{lesson.id}"}
    for index, cell in enumerate(cells):
        tags = cell.metadata.get("tags", [])
        if index == 0 or BEGIN in cell.source or CONTEXT_TAG in tags:
            exec(compile(to_python(cell.source), lesson.solution, "exec"), namespace)
    answers = {}
    for cell in cells:
        for exercise_id, name in re.findall(r'check\(\s*"(\d\d\.ex\d+)",\s*(\w+)', cell.source):
            answers[exercise_id] = namespace[name]
    return answers


def reference_answer(exercise_id: str) -> object:
    """The object the solution notebook passes to check(exercise_id, ...).

    Runs that lesson's imports cell (the first after the setup cell), its cells tagged
    exercise-context and its exercise cells.
    """
    return _lesson_answers(exercise_id.split(".")[0])[exercise_id]


@cache
def solution_code_lines(exercise_id: str) -> tuple[str, ...]:
    """The distinctive code lines of the exercise's reference answer (between the markers)."""
    lesson = load_course(ROOT / "lessons.yml").lesson(exercise_id.split(".")[0])
    cells = nbformat.read(ROOT / lesson.solution, as_version=4).cells
    for index, cell in enumerate(cells):
        following = "".join(c.source for c in cells[index + 1 : index + 3])
        if cell.cell_type == "code" and BEGIN in cell.source and f'"{exercise_id}"' in following:
            region = cell.source.split(BEGIN, 1)[1].split(END, 1)[0]
            lines = (line.strip() for line in region.splitlines()[1:])
            return tuple(
                line.removeprefix("return ").strip()
                for line in lines
                if len(line.removeprefix("return ").strip()) >= 12
                and not line.startswith(("#", "def ", "class ", "super().__init__("))
            )
    return ()
