"""Facts about stored notebooks that the tests and the summary report share."""

from __future__ import annotations

from pathlib import Path

import nbformat

IGNORE_MARKERS = ("NBVAL_IGNORE_OUTPUT", "nbval-ignore-output")
SKIP_MARKERS = ("NBVAL_SKIP", "nbval-skip")


def _marked(cell, markers) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return any(m in cell.source for m in markers) or any(m in tags for m in markers)


def code_cells_with_output(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [c for c in nb.cells if c.cell_type == "code" and c.get("outputs")]


def ignored(cell) -> bool:
    return _marked(cell, IGNORE_MARKERS)


def skipped(cell) -> bool:
    return _marked(cell, SKIP_MARKERS)


def compared_counts(path: Path) -> tuple[int, int]:
    """(cells whose outputs nbval compares, code cells with output)."""
    cells = code_cells_with_output(path)
    return sum(not ignored(c) and not skipped(c) for c in cells), len(cells)
