"""A class's submissions, read without writing to them: one entry per student, a folder or a
zip, holding a workspace or loose notebooks (a GitHub Classroom clone, an LMS export).

A lesson's notebook is found by its file name anywhere in the entry: NN-slug.ipynb first,
then a name that starts with NN-slug (an LMS may add a suffix), one in a workspace/ folder
first; checkpoints, hidden folders and solutions/ (a clone of the course has one) are
skipped. The language is the workspace's (.torchcourse.json, written by `start`), else the
notebook's `torchcourse.lang` metadata, else English.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from torchcourse.errors import CourseError
from torchcourse.i18n import SOURCE_LANGUAGE, _, normalize
from torchcourse.manifest import Lesson
from torchcourse.workspace import SETTINGS

MAX_BYTES = 64 * 2**20  # a bigger notebook is not graded


class TooBig(Exception):
    """A file in a submission is larger than MAX_BYTES."""


@dataclass(frozen=True)
class Submission:
    """One student's entry."""

    name: str
    path: Path

    def _files(self) -> list[str]:
        if self.path.is_dir():
            return [
                p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file()
            ]
        with zipfile.ZipFile(self.path) as archive:
            return [i.filename for i in archive.infolist() if not i.is_dir()]

    def read(self, name: str) -> bytes:
        if self.path.is_dir():
            file = self.path / name
            if file.stat().st_size > MAX_BYTES:
                raise TooBig(name)
            return file.read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            if archive.getinfo(name).file_size > MAX_BYTES:
                raise TooBig(name)
            return archive.read(name)

    def notebook(self, lesson: Lesson) -> str | None:
        """The file holding the student's notebook for lesson, or None."""
        found = []
        for name in self._files():
            path = PurePosixPath(name)
            skipped = any(p.startswith(".") or p == "solutions" for p in path.parts[:-1])
            if skipped or path.suffix != ".ipynb" or not path.name.startswith(lesson.name):
                continue
            exact = path.name == f"{lesson.name}.ipynb"
            found.append((not exact, "workspace" not in path.parts, len(path.parts), name))
        return min(found)[-1] if found else None

    def language(self) -> str | None:
        """The workspace's recorded language, if any."""
        settings = sorted(
            (n for n in self._files() if PurePosixPath(n).name == SETTINGS),
            key=lambda n: len(PurePosixPath(n).parts),
        )
        for name in settings:
            try:
                data = json.loads(self.read(name))
            except (ValueError, OSError, TooBig):
                continue
            if isinstance(data, dict) and normalize(str(data.get("lang", ""))):
                return normalize(str(data["lang"]))
        return None


def notebook_language(data: dict) -> str:
    """A notebook's `torchcourse.lang` metadata as a language code, else English."""
    meta = data.get("metadata", {}).get("torchcourse", {})
    found = normalize(str(meta.get("lang", ""))) if isinstance(meta, dict) else None
    return found or SOURCE_LANGUAGE


def submissions(folder: Path) -> list[Submission]:
    """The students in folder: each sub-folder and .zip, by name; a CourseError if none."""
    if not folder.is_dir():
        raise CourseError(
            _(
                "{folder} is not a folder: give the folder that holds one sub-folder or .zip "
                "per student."
            ).format(folder=folder)
        )
    found = [
        Submission(entry.stem if entry.suffix == ".zip" else entry.name, entry)
        for entry in sorted(folder.iterdir())
        if not entry.name.startswith(".")
        and (entry.is_dir() or (entry.suffix == ".zip" and zipfile.is_zipfile(entry)))
    ]
    if not found:
        raise CourseError(
            _(
                "{folder} holds no submissions: put one sub-folder or .zip per student in it."
            ).format(folder=folder)
        )
    return found
