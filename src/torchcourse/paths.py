"""Where the course lives on disk: a checkout (the folder holding lessons.yml), if any."""

from __future__ import annotations

import os
from pathlib import Path

from torchcourse.errors import CourseError

MANIFEST = "lessons.yml"
ROOT_ENV, CACHE_ENV = "TORCHCOURSE_ROOT", "TORCHCOURSE_CACHE"


def find_course_root() -> Path | None:
    """$TORCHCOURSE_ROOT, else the nearest parent of the working directory holding lessons.yml,
    else the checkout this package is imported from; None for an installed package elsewhere."""
    if env := os.environ.get(ROOT_ENV):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / MANIFEST).is_file():
            return folder
    checkout = Path(__file__).resolve().parents[2]
    return checkout if (checkout / MANIFEST).is_file() else None


def course_root() -> Path:
    """The course folder; a CourseError when there is none (an installed package elsewhere)."""
    root = find_course_root()
    if root is None:
        raise CourseError(
            f"{Path.cwd()} is not inside a course folder (no {MANIFEST} here or above): cd into "
            f"your clone of the course, or set {ROOT_ENV} to it."
        )
    return root


def cache_dir() -> Path:
    """An ignored folder for unpacked data: $TORCHCOURSE_CACHE, else <course>/.cache, else the
    user's cache folder (for an installed package outside a course folder)."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    root = find_course_root()
    if root is not None:
        return root / ".cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "torchcourse"
