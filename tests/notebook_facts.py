"""Facts about stored notebooks that the tests and the summary report share."""

from __future__ import annotations

from pathlib import Path

import nbformat

IGNORE_TAG = "nbval-ignore-output"  # a cell tag: learners never see it in the code
SKIP_TAGS = ("nbval-skip", "skip-execution")


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def code_cells_with_output(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]


def ignored(cell) -> bool:
    return IGNORE_TAG in _tags(cell)


def skipped(cell) -> bool:
    return any(tag in _tags(cell) for tag in SKIP_TAGS)


def compared_counts(path: Path) -> tuple[int, int]:
    """(cells whose outputs nbval compares, code cells with output)."""
    cells = code_cells_with_output(path)
    return sum(not ignored(c) and not skipped(c) for c in cells), len(cells)
