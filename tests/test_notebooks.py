"""The stored notebooks follow the lesson contract (nbval itself re-runs them)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from notebook_facts import code_cells_with_output, compared_counts, ignored, skipped
from test_sanitize import sanitize

from torchcourse.manifest import load_course
from torchcourse.setup_cell import TAG, first_code_cell, setup_source
from torchcourse.student import BEGIN, is_stale

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
LESSONS = COURSE.lessons
NOTEBOOKS = [rel for lesson in LESSONS for rel in (lesson.solution, lesson.notebook)]
MIN_COMPARED = 0.80


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_student_notebook_is_generated_from_solution(lesson):
    assert not is_stale(lesson, ROOT), (
        f"{lesson.notebook} is stale: run `python -m torchcourse chapters {lesson.id}`"
    )


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_student_notebook_has_no_solution_code(lesson):
    text = (ROOT / lesson.notebook).read_text(encoding="utf-8")
    assert BEGIN not in text
    stubs = text.count("raise NotImplementedError(")
    assert stubs >= len(lesson.exercises), "every exercise needs a stub"


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_most_outputs_are_compared(rel):
    compared, total = compared_counts(ROOT / rel)
    assert total, f"{rel} stores no outputs: run it top to bottom before committing"
    assert compared / total >= MIN_COMPARED, (
        f"{rel}: nbval compares only {compared}/{total} output cells; make outputs stable "
        "(round floats, seed generators) instead of ignoring them"
    )


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_ignored_output_cells_assert_what_matters(rel):
    for cell in code_cells_with_output(ROOT / rel):
        assert not skipped(cell), f"{rel}: a skipped cell is not verified:\n{cell.source}"
        if ignored(cell):
            assert re.search(r"^\s*assert\b", cell.source, re.MULTILINE), (
                f"{rel}: this cell tagged nbval-ignore-output asserts nothing:\n{cell.source}"
            )


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebook_ran_top_to_bottom_without_errors(rel):
    nb = nbformat.read(ROOT / rel, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert None not in counts, f"{rel} has cells that never ran"
    assert counts == list(range(1, len(counts) + 1)), f"{rel} was not run top to bottom"
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{rel} stores an error:\n{cell.source}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_header_states_title_and_objectives(lesson):
    for rel in (lesson.solution, lesson.notebook):
        first = nbformat.read(ROOT / rel, as_version=4).cells[0]
        assert first.cell_type == "markdown"
        assert first.source.startswith(f"# {lesson.id} · {lesson.title}\n"), rel
        for objective in lesson.objectives:
            assert objective in first.source, f"{rel}: objective missing: {objective}"
        for prereq in lesson.prerequisites:
            assert f"../{prereq}-" in first.source, f"{rel}: no link to prerequisite {prereq}"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_lesson_has_legacy_box_and_summary(lesson):
    text = (ROOT / lesson.solution).read_text(encoding="utf-8")
    assert "You will see this in older code" in text
    assert "## Summary" in text


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_no_test_tooling_shows_in_a_notebook(rel):
    """Learners see no tooling noise: nbval is driven by cell tags, never by comments."""
    for cell in nbformat.read(ROOT / rel, as_version=4).cells:
        assert "nbval" not in cell.source.lower(), f"{rel}: a cell mentions nbval:\n{cell.source}"


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_notebook_opens_with_the_generated_setup_cell(rel):
    cell = first_code_cell(nbformat.read(ROOT / rel, as_version=4))
    assert cell is not None and TAG in cell.metadata.get("tags", []), (
        f"{rel}: the first code cell must be the setup cell: run `python -m torchcourse chapters`"
    )
    assert cell.source == setup_source(COURSE), (
        f"{rel}: the setup cell is out of date: run `python -m torchcourse chapters`"
    )
    assert not cell.get("outputs"), f"{rel}: the setup cell printed something in a checkout"


DEVICE_NAME = re.compile(r"\b(cpu|cuda|mps|xpu)(:\d+)?\b", re.IGNORECASE)
DECIMAL = re.compile(r"(?<![\w.])\d+\.(\d+)")


def _too_precise(number: re.Match) -> bool:
    """Five or more decimals and five or more significant digits: float32 kernels on CPU and
    GPU may disagree in such a last digit (0.00288 and 1.0100 are fine, 0.15124 is not)."""
    digits = (number[0].replace(".", "")).lstrip("0")
    return len(number[1]) >= 5 and len(digits) >= 5


def _output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return sanitize("".join(parts))


@pytest.mark.parametrize("rel", NOTEBOOKS)
def test_compared_outputs_are_the_same_on_every_device(rel):
    """The authoring rule, where it can be checked statically: a compared output names no
    device (print tensors through .cpu()) and no float with more digits than devices share."""
    for cell in code_cells_with_output(ROOT / rel):
        if ignored(cell):
            continue
        text = _output_text(cell)
        named = DEVICE_NAME.search(text)
        assert not named, f"{rel}: a compared output names the device {named[0]!r}:\n{cell.source}"
        precise = [m[0] for m in DECIMAL.finditer(text) if _too_precise(m)]
        assert not precise, f"{rel}: round {precise} to what is stable:\n{cell.source}"
