"""Student notebooks are generated from the solutions, and hand edits are never lost."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from torchcourse.errors import CourseError
from torchcourse.manifest import load_course
from torchcourse.student import (
    edited_by_hand,
    is_stale,
    stub_solutions,
    student_notebook,
    write_chapter,
)

ROOT = Path(__file__).resolve().parents[1]

SOLVED = '''def double(x):
    """Twice x."""
    ### BEGIN SOLUTION
    y = x * 2
    return y
    ### END SOLUTION
'''


def test_stub_keeps_signature_docstring_and_indentation():
    stubbed = stub_solutions(SOLVED, "01.ex9")
    assert stubbed == (
        'def double(x):\n    """Twice x."""\n    # YOUR CODE HERE\n'
        '    raise NotImplementedError("01.ex9: replace this line with your code")\n'
    )
    namespace: dict = {}
    exec(stubbed, namespace)
    with pytest.raises(NotImplementedError, match="01.ex9"):
        namespace["double"](3)


def test_two_regions_in_one_cell_are_both_stubbed():
    stubbed = stub_solutions(SOLVED + "\n" + SOLVED.replace("double", "twice"), "01.ex9")
    assert stubbed.count("raise NotImplementedError") == 2 and "x * 2" not in stubbed


def test_unbalanced_markers_are_refused():
    with pytest.raises(CourseError, match="unbalanced"):
        stub_solutions(SOLVED.replace("    ### END SOLUTION\n", ""), "01.ex9")


def test_student_version_keeps_every_explanation():
    lesson = load_course(ROOT / "lessons.yml").lesson("01")
    solution = nbformat.read(ROOT / lesson.solution, as_version=4)
    student = student_notebook(lesson, ROOT)
    assert len(student.cells) == len(solution.cells)
    for mine, theirs in zip(student.cells, solution.cells):
        if theirs.cell_type == "markdown" or "### BEGIN SOLUTION" not in theirs.source:
            assert mine.source == theirs.source
    assert all(not c.get("outputs") for c in student.cells if c.cell_type == "code")


@pytest.fixture
def course_copy(tmp_path):
    """A private copy of lesson 01 that a test may edit."""
    for rel in ("lessons.yml", "solutions/01-tensors", "chapters/01-tensors"):
        source, target = ROOT / rel, tmp_path / rel
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)
    return tmp_path


def test_an_edited_solution_makes_the_chapter_stale(course_copy):
    lesson = load_course(course_copy / "lessons.yml").lesson("01")
    assert not is_stale(lesson, course_copy)
    path = course_copy / lesson.solution
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\nOne more sentence."
    nbformat.write(nb, path)
    assert is_stale(lesson, course_copy)


def test_a_hand_edited_chapter_is_not_overwritten(course_copy):
    lesson = load_course(course_copy / "lessons.yml").lesson("01")
    path = course_copy / lesson.notebook
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += "\nMy own note."
    nbformat.write(nb, path)
    before = path.read_bytes()
    assert edited_by_hand(path)
    with pytest.raises(CourseError, match="edited by hand"):
        write_chapter(lesson, course_copy)
    assert path.read_bytes() == before
