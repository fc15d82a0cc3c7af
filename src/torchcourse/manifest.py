"""lessons.yml: the one course manifest, read by the tests, the tooling and the site."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from torchcourse.errors import CourseError
from torchcourse.i18n import _
from torchcourse.paths import MANIFEST, course_root

RESTORE = f"restore it with `git checkout -- {MANIFEST}`"


class Lesson(BaseModel):
    """One chapter of the course."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^\d\d$", description='two digits, e.g. "03"')
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="kebab-case")
    title: str = Field(min_length=1)
    notebook: str
    solution: str
    objectives: list[str] = Field(min_length=3, max_length=6)
    prerequisites: list[str] = []
    minutes: int = Field(gt=0, le=600)
    devices: list[Literal["cpu", "cuda"]] = Field(min_length=1)
    datasets: list[Literal["mnist"]] = []
    exercises: list[str] = Field(min_length=1)
    max_seconds_cpu: int = Field(gt=0, le=600)

    @field_validator("id", mode="before")
    @classmethod
    def _quoted_id(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(
                f'write the id in quotes, id: "{value:02d}" (unquoted, YAML reads it as the '
                f"number {value})"
            )
        return value

    @property
    def name(self) -> str:
        """The folder and file stem, e.g. '03-autograd'."""
        return f"{self.id}-{self.slug}"

    def exercise_ids(self) -> list[str]:
        """Fully qualified ids as the checks know them, e.g. ['03.ex1', ...]."""
        return [f"{self.id}.{ex}" for ex in self.exercises]

    @field_validator("exercises")
    @classmethod
    def _exercise_ids(cls, value: list[str]) -> list[str]:
        expected = [f"ex{i}" for i in range(1, len(value) + 1)]
        if value != expected:
            raise ValueError(f"must be numbered in order {expected}, got {value}")
        return value

    @model_validator(mode="after")
    def _paths_follow_the_layout(self) -> Lesson:
        for field, folder in (("notebook", "chapters"), ("solution", "solutions")):
            want = f"{folder}/{self.name}/{self.name}.ipynb"
            if getattr(self, field) != want:
                raise ValueError(f"{field} must be {want!r}, got {getattr(self, field)!r}")
        return self


class CourseInfo(BaseModel):
    """Course-wide settings."""

    model_config = ConfigDict(extra="forbid")

    title: str
    tagline: str
    repository: str = Field(pattern=r"^https://github\.com/[^/]+/[^/]+$")
    branch: str = "main"


class Course(BaseModel):
    """The whole manifest."""

    model_config = ConfigDict(extra="forbid")

    course: CourseInfo
    lessons: list[Lesson] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _unique_ids(cls, data: object) -> object:
        lessons = data.get("lessons") if isinstance(data, dict) else None
        if isinstance(lessons, list):
            ids = [str(x.get("id")) for x in lessons if isinstance(x, dict) and "id" in x]
            twice = sorted({i for i in ids if ids.count(i) > 1})
            if twice:
                raise ValueError(
                    f"lesson id {twice[0]!r} is used by {ids.count(twice[0])} lessons: give "
                    "each lesson its own id (and its own slug and folders)"
                )
        return data

    @model_validator(mode="after")
    def _ordered_and_linked(self) -> Course:
        ids = [lesson.id for lesson in self.lessons]
        if ids != sorted(set(ids)):
            raise ValueError(f"lesson ids must be unique and in increasing order, got {ids}")
        seen: set[str] = set()
        for lesson in self.lessons:
            for prereq in lesson.prerequisites:
                if prereq not in seen:
                    raise ValueError(
                        f"lesson {lesson.id}: prerequisite {prereq!r} is not an earlier lesson"
                    )
            seen.add(lesson.id)
        return self

    def lesson(self, key: str) -> Lesson:
        """A lesson by id ('03') or name ('03-autograd')."""
        for lesson in self.lessons:
            if key in (lesson.id, lesson.name):
                return lesson
        known = ", ".join(lesson.id for lesson in self.lessons)
        raise CourseError(
            _("no lesson {key} in {manifest}: known ids are {known}.").format(
                key=repr(key), manifest=MANIFEST, known=known
            )
        )


def _describe(error: ValidationError, data: object) -> str:
    problems = []
    for item in error.errors():
        loc = item["loc"]
        where = ".".join(str(part) for part in loc)
        if len(loc) >= 2 and loc[0] == "lessons" and isinstance(loc[1], int):
            try:
                where = f"lesson {data['lessons'][loc[1]]['id']!r}" + "".join(
                    f".{part}" for part in loc[2:]
                )
            except (KeyError, TypeError, IndexError):
                pass
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    if len(problems) == 1:
        return f"{MANIFEST}: {problems[0]}"
    return f"{MANIFEST} has {len(problems)} problems: " + "; ".join(problems)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[object, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, str) and key in seen:
                raise CourseError(
                    f"{MANIFEST} line {line}: the key {key!r} appears twice (also on line "
                    f"{seen[key]}), and YAML would silently keep the last: delete one"
                )
            if isinstance(key, str):
                seen[key] = line
        return super().construct_mapping(node, deep)


def load_course(path: Path | None = None) -> Course:
    """Read and validate lessons.yml; a CourseError says exactly what is wrong."""
    path = path or course_root() / MANIFEST
    if not path.is_file():
        raise CourseError(
            _("{path} not found: run from the course folder or set TORCHCOURSE_ROOT.").format(
                path=path
            )
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        detail = " ".join(str(err).split())
        raise CourseError(f"{MANIFEST} is not valid YAML: {detail}") from None
    except UnicodeDecodeError:
        raise CourseError(f"{MANIFEST} is not UTF-8 text: {RESTORE}.") from None
    if data is None:
        raise CourseError(
            f"{MANIFEST} is empty: it needs a `course:` section and a `lessons:` list; {RESTORE}."
        )
    if not isinstance(data, dict):
        raise CourseError(
            f"{MANIFEST} must map `course:` and `lessons:`, not hold a {type(data).__name__}: "
            f"{RESTORE}."
        )
    try:
        return Course.model_validate(data)
    except ValidationError as err:
        raise CourseError(_describe(err, data)) from None
