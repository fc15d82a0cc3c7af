"""lessons.yml, the files on disk, the exercise ids and the README agree."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from torchcourse import cli
from torchcourse.checks import REGISTRY, load_all
from torchcourse.errors import CourseError
from torchcourse.manifest import load_course
from torchcourse.student import BEGIN

ROOT = Path(__file__).resolve().parents[1]


def test_every_named_file_exists(course):
    for lesson in course.lessons:
        for rel in (lesson.notebook, lesson.solution):
            assert (ROOT / rel).is_file(), f"lessons.yml names {rel}, which does not exist"


def test_every_notebook_on_disk_is_named(course):
    named = {rel for lesson in course.lessons for rel in (lesson.notebook, lesson.solution)}
    for folder in ("chapters", "solutions"):
        for path in (ROOT / folder).rglob("*.ipynb"):
            if ".ipynb_checkpoints" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            assert rel in named, f"{rel} is not in lessons.yml"


def test_exercise_ids_match_the_notebooks_and_the_checks(course):
    load_all()
    for lesson in course.lessons:
        nb = nbformat.read(ROOT / lesson.solution, as_version=4)
        source = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        checked = re.findall(r'check\(\s*"(\d\d\.ex\d+)"', source)
        assert checked == lesson.exercise_ids(), (
            f"{lesson.solution} checks {checked}, lessons.yml says {lesson.exercise_ids()}"
        )
        assert source.count(BEGIN) >= len(lesson.exercises)
        for exercise_id in lesson.exercise_ids():
            assert exercise_id in REGISTRY, f"no checker registered for {exercise_id}"
    registered = {i for i in REGISTRY}
    listed = {i for lesson in course.lessons for i in lesson.exercise_ids()}
    assert registered == listed, f"checkers without a lesson: {sorted(registered - listed)}"


def test_readme_lists_the_chapters_in_order(course):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (\d\d) \| \[([^\]]+)\]\(([^)]+)\)", readme, re.MULTILINE)
    assert listed == [(x.id, x.title, x.notebook) for x in course.lessons]


GOOD = (ROOT / "lessons.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("minutes: 80", "minutes: sixty"), "lesson '01'.minutes: Input should be a valid integer"),
        (('id: "02"', 'id: "2"'), "String should match pattern"),
        (('prerequisites: ["01"]', 'prerequisites: ["05"]'), "'05' is not an earlier lesson"),
        (("exercises: [ex1, ex2, ex3, ex4, ex5]", "exercises: [ex1, ex3]"), "numbered in order"),
        (("    slug: tensors\n", "    slug: tensors\n    colour: red\n"), "colour: Extra inputs"),
        (("lessons:", "lessons: ["), "not valid YAML"),
        (('id: "03"', 'id: "02"'), "lesson id '02' is used by 2 lessons: give each lesson its"),
        (('id: "00"', "id: 00"), 'lesson 0.id: write the id in quotes, id: "00" (unquoted'),
        (
            ("    slug: tensors\n", "    slug: tensors\n    slug: tensor\n"),
            "the key 'slug' appears twice (also on line",
        ),
        (
            ("minutes: 80", "minutes: -1\n    colour: red"),
            "has 2 problems: lesson '01'.minutes: Input should be greater than 0; lesson '01'",
        ),
    ],
)
def test_a_broken_manifest_says_what_is_wrong(tmp_path, change, message):
    assert change[0] in GOOD, "the test's edit no longer applies to lessons.yml"
    bad = tmp_path / "lessons.yml"
    bad.write_text(GOOD.replace(*change, 1), encoding="utf-8")
    with pytest.raises(CourseError) as caught:
        load_course(bad)
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lessons.yml is empty: it needs a `course:` section and a `lessons:` list"),
        ("# only a comment\n", "lessons.yml is empty"),
        ("- a list\n", "lessons.yml must map `course:` and `lessons:`, not hold a list"),
    ],
)
def test_an_empty_manifest_says_what_it_needs(tmp_path, text, message):
    (tmp_path / "lessons.yml").write_text(text, encoding="utf-8")
    with pytest.raises(CourseError) as caught:
        load_course(tmp_path / "lessons.yml")
    assert message in str(caught.value) and "git checkout -- lessons.yml" in str(caught.value)


def test_list_names_the_notebooks_that_are_missing(course, tmp_path, monkeypatch, capsys):
    (tmp_path / "lessons.yml").write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    last = course.lessons[-1]
    assert f"missing: {last.notebook} (generate it with `python -m torchcourse chapters" in out
    assert f"missing: {last.solution} (restore it with git" in out
