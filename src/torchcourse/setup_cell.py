"""The setup cell every notebook opens with, generated from the course version and manifest.

Where `torchcourse` of this course version is importable (a checkout, Binder, a pip install)
it does nothing and prints nothing. Elsewhere (Colab, Kaggle, a fresh Jupyter) it installs the
course package pinned to this version's release tag, never an unpinned branch. A translated
edition's cell also tells the checks its language, since Colab and Kaggle do not say which
notebook a kernel runs.
"""

from __future__ import annotations

import nbformat

from torchcourse import __version__
from torchcourse.i18n import LANG_ENV, SOURCE_LANGUAGE
from torchcourse.manifest import Course

TAG = "course-setup"

TEMPLATE = """\
# Setup for Colab, Kaggle or a fresh Jupyter: installs the course package, pinned to this
# version of the course, if it is missing. Where it is installed this cell does nothing.
import subprocess
import sys

COURSE_VERSION = "{version}"
try:
    import torchcourse

    found = torchcourse.__version__
except ImportError:
    found = None
if found != COURSE_VERSION:
    package = f"torchcourse @ git+{repository}@v{{COURSE_VERSION}}"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", package], check=True)
"""

LANGUAGE_LINES = """
# The checks answer in this edition's language, unless you set {env} yourself.
import os

if "{env}" not in os.environ:
    os.environ["{env}"] = "{language}"
"""


def setup_source(course: Course, language: str = SOURCE_LANGUAGE) -> str:
    """The setup cell's code for this course version, in the edition of `language`."""
    source = TEMPLATE.format(version=__version__, repository=course.course.repository)
    if language != SOURCE_LANGUAGE:
        source += LANGUAGE_LINES.format(env=LANG_ENV, language=language)
    return source


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    return next((cell for cell in nb.cells if cell.cell_type == "code"), None)


def sync_setup_cell(nb: nbformat.NotebookNode, course: Course) -> str:
    """Make nb's first code cell the current setup cell.

    Returns "" when it already was, "updated" when only its text changed (its stored output,
    none, stays valid) and "inserted" when it was missing (the notebook must run again).
    """
    source = setup_source(course)
    cell = first_code_cell(nb)
    if cell is not None and is_setup_cell(cell):
        if cell.source == source:
            return ""
        cell.source = source
        return "updated"
    new = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
    index = nb.cells.index(cell) if cell is not None else len(nb.cells)
    nb.cells.insert(index, new)
    return "inserted"
