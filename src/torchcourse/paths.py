"""Where the course lives on disk."""

import os
from pathlib import Path


def course_root() -> Path:
    """The folder holding lessons.yml: $TORCHCOURSE_ROOT, else the nearest parent of the
    working directory that has one, else the checkout this package was installed from."""
    if env := os.environ.get("TORCHCOURSE_ROOT"):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "lessons.yml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


def cache_dir() -> Path:
    """An ignored folder for unpacked data: $TORCHCOURSE_CACHE, else <root>/.cache."""
    return Path(os.environ.get("TORCHCOURSE_CACHE") or course_root() / ".cache")
