"""`python -m torchcourse.release`: the version bump `make release` makes, and the zips of
student notebooks that the release and the website offer."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

import torchcourse
from torchcourse.errors import CourseError
from torchcourse.i18n import SOURCE_LANGUAGE
from torchcourse.manifest import load_course
from torchcourse.release import (
    BINDER_REQUIREMENTS,
    VERSION_FILE,
    built_languages,
    bump,
    edition_notebooks,
    write_bundles,
)
from torchcourse.setup_cell import first_code_cell, is_setup_cell, setup_source

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
VERSION = torchcourse.__version__
COPIED = ("lessons.yml", "README.md", "README.zh-CN.md", VERSION_FILE, BINDER_REQUIREMENTS)


@pytest.fixture
def course_copy(tmp_path, monkeypatch) -> Path:
    """The files a bump reads and writes, copied; torchcourse.__version__ restored after."""
    monkeypatch.setattr(torchcourse, "__version__", torchcourse.__version__)
    for rel in COPIED:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, tmp_path / rel)
    for folder in ("solutions", "chapters", "zh-CN", "verification"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def _cells(path: Path) -> list:
    return nbformat.read(path, as_version=4).cells


def test_bump_sets_the_version_and_every_setup_cell_and_pin(course_copy):
    bump(course_copy, "9.8.7")
    assert '__version__ = "9.8.7"' in (course_copy / VERSION_FILE).read_text(encoding="utf-8")
    for language in built_languages(ROOT):
        for rel in edition_notebooks(COURSE, language):
            cells, before = _cells(course_copy / rel), _cells(ROOT / rel)
            setup = first_code_cell(nbformat.v4.new_notebook(cells=cells))
            assert is_setup_cell(setup) and setup.source == setup_source(COURSE, language), rel
            assert 'COURSE_VERSION = "9.8.7"' in setup.source
            others = [(c.source, c.get("outputs")) for c in cells if not is_setup_cell(c)]
            assert others == [(c.source, c.get("outputs")) for c in before if not is_setup_cell(c)]
    for name in ("README.md", "README.zh-CN.md"):
        readme = (course_copy / name).read_text(encoding="utf-8")
        assert "torchcourse==9.8.7" in readme and f"torchcourse=={VERSION}" not in readme, name
    pins = (course_copy / BINDER_REQUIREMENTS).read_text(encoding="utf-8")
    assert "torch==" in pins and "torchvision==" in pins


@pytest.mark.parametrize("version", ["0.3", "v0.3.0", "0.3.0rc1", ""])
def test_bump_refuses_what_is_not_a_version(course_copy, version):
    before = (course_copy / VERSION_FILE).read_text(encoding="utf-8")
    with pytest.raises(CourseError, match="is not a version X.Y.Z"):
        bump(course_copy, version)
    assert (course_copy / VERSION_FILE).read_text(encoding="utf-8") == before


def test_one_zip_of_student_notebooks_per_edition(tmp_path):
    paths = write_bundles(ROOT, tmp_path)
    assert [p.name for p in paths] == [
        f"torchcourse-{VERSION}-notebooks-{code.replace('_', '-')}.zip"
        for code in built_languages(ROOT)
    ]
    assert built_languages(ROOT)[0] == SOURCE_LANGUAGE and len(paths) >= 2
    for language, path in zip(built_languages(ROOT), paths):
        names = zipfile.ZipFile(path).namelist()
        student = edition_notebooks(COURSE, language, student_only=True)
        assert len(names) == len(COURSE.lessons) == len(student)
        assert not [n for n in names if "solution" in n]
    assert write_bundles(ROOT, tmp_path / "again")[0].read_bytes() == paths[0].read_bytes(), (
        "the same notebooks give the same zip"
    )
