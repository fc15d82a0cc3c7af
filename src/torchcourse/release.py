"""A release's files that come from the course: the version bump and the notebook bundles.

`python -m torchcourse.release bump X.Y.Z` writes the one version (torchcourse/__init__.py),
then every notebook's setup cell (solutions, chapters and each translated edition; the cell
has no output, so nothing runs again), the Binder pins of torch and torchvision (from the
verification records) and the README's install line. `make release VERSION=X.Y.Z` runs it,
the tests, then commits and tags. `python -m torchcourse.release bundle DIR` writes one zip
of the student notebooks per language: the release workflow attaches them, the site offers them.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import zipfile
from pathlib import Path

import nbformat

from torchcourse.errors import CourseError
from torchcourse.i18n import SOURCE_LANGUAGE
from torchcourse.manifest import MANIFEST, Course, load_course
from torchcourse.paths import course_root
from torchcourse.records import RECORDS, pinned_torch
from torchcourse.setup_cell import sync_setup_cell
from torchcourse.translate import edition_dir, languages, translated_path

VERSION_FILE = "src/torchcourse/__init__.py"
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"', re.MULTILINE)
BINDER_REQUIREMENTS = "binder/requirements.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
README_PIN = re.compile(r"torchcourse==\d+\.\d+\.\d+")
READMES = ("README.md", "README.zh-CN.md")  # their install lines pin this version
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed, so the same notebooks give the same zip


def edition_notebooks(course: Course, language: str, student_only: bool = False) -> list[str]:
    """The edition's notebooks (student ones, then solutions), relative to the course root."""
    rels = [lesson.notebook for lesson in course.lessons]
    if not student_only:
        rels += [lesson.solution for lesson in course.lessons]
    if language == SOURCE_LANGUAGE:
        return rels
    return [translated_path(rel, language) for rel in rels]


def built_languages(root: Path) -> list[str]:
    return [SOURCE_LANGUAGE] + [code for code in languages() if (root / edition_dir(code)).is_dir()]


def set_version(root: Path, version: str) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise CourseError(f"{version!r} is not a version X.Y.Z: e.g. make release VERSION=0.3.0.")
    path = root / VERSION_FILE
    text = path.read_text(encoding="utf-8")
    if not VERSION_LINE.search(text):
        raise CourseError(f'{VERSION_FILE} has no line `__version__ = "..."`: restore it.')
    path.write_text(VERSION_LINE.sub(f'__version__ = "{version}"', text), encoding="utf-8")


def sync_setup_cells(root: Path, course: Course) -> list[str]:
    """Give every notebook of every edition the current setup cell; the paths it changed."""
    changed = []
    for language in built_languages(root):
        for rel in edition_notebooks(course, language):
            path = root / rel
            if not path.is_file():
                continue  # the notebook tests name it; a release does not invent notebooks
            nb = nbformat.read(path, as_version=4)
            change = sync_setup_cell(nb, course, language)
            if change == "inserted":
                raise CourseError(
                    f"{rel} has no setup cell: run `python -m torchcourse chapters` first."
                )
            if change:
                nbformat.write(nb, path)
                changed.append(rel)
    return changed


def binder_requirements(root: Path, course: Course) -> str:
    """binder/requirements.txt: torch and torchvision as the verification records ran them."""
    versions = pinned_torch(course, root / RECORDS)
    pins = "".join(f"{name}=={version}\n" for name, version in versions.items())
    return (
        "# Binder (repo2docker) installs this first: PyTorch's CPU build from PyTorch's own\n"
        "# index, pinned to the versions the verification records ran. Written by\n"
        "# `python -m torchcourse.release bump`; postBuild then installs the course.\n"
        f"--index-url {CPU_INDEX}\n{pins}"
    )


def bump(root: Path, version: str) -> None:
    """Everything a new version changes in the course's files."""
    import torchcourse

    set_version(root, version)
    torchcourse.__version__ = version  # the setup cells below are generated from it
    course = load_course(root / MANIFEST)
    for rel in sync_setup_cells(root, course):
        print(f"{rel}: setup cell updated")
    (root / BINDER_REQUIREMENTS).write_text(binder_requirements(root, course), encoding="utf-8")
    for readme in READMES:
        path = root / readme
        if path.is_file():
            pinned = README_PIN.sub(f"torchcourse=={version}", path.read_text(encoding="utf-8"))
            path.write_text(pinned, encoding="utf-8")
    print(f"version {version}: {VERSION_FILE}, the setup cells, {BINDER_REQUIREMENTS}, READMEs")


def bundle_name(language: str, version: str) -> str:
    return f"torchcourse-{version}-notebooks-{edition_dir(language)}.zip"


def bundle(root: Path, course: Course, language: str, version: str) -> bytes:
    """One zip of the edition's student notebooks, in a folder named after the zip."""
    folder = bundle_name(language, version).removesuffix(".zip")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for lesson, rel in zip(course.lessons, edition_notebooks(course, language, True)):
            info = zipfile.ZipInfo(f"{folder}/{lesson.name}/{lesson.name}.ipynb", ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (root / rel).read_bytes())
    return data.getvalue()


def write_bundles(root: Path, dest: Path) -> list[Path]:
    """dest/torchcourse-X.Y.Z-notebooks-<edition>.zip for every edition; their paths."""
    import torchcourse

    course = load_course(root / MANIFEST)
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for language in built_languages(root):
        path = dest / bundle_name(language, torchcourse.__version__)
        path.write_bytes(bundle(root, course, language, torchcourse.__version__))
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m torchcourse.release", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("bump", help="set the version everywhere").add_argument("version")
    commands.add_parser("bundle", help="zip each edition's student notebooks").add_argument(
        "dest", type=Path
    )
    args = parser.parse_args(argv)
    try:
        root = course_root()
        if args.command == "bump":
            bump(root, args.version)
        else:
            for path in write_bundles(root, args.dest):
                print(path)
    except CourseError as err:
        print(f"torchcourse release: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
