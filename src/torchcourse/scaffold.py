"""`torchcourse new NN-slug "Title"`: scaffold a lesson that passes the tests right away.

It appends the lessons.yml entry (as text, so comments survive), adds the README chapter row,
writes the solution notebook from templates/lesson.py (jupytext percent format) with the setup
cell, the checker module src/torchcourse/checks/chNN.py, tests/wrong_NN.py and
tests/right_NN.py, then executes the solution and generates and executes the student
notebook. Nothing is written before every input has been validated, and a failure half way
undoes what was written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from pydantic import ValidationError

from torchcourse.errors import CourseError
from torchcourse.i18n import _
from torchcourse.manifest import MANIFEST, Course, Lesson, load_course
from torchcourse.paths import course_root
from torchcourse.setup_cell import sync_setup_cell

TEMPLATES = Path(__file__).with_name("templates")
NAME = re.compile(r"^(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)$")
README_ROW = re.compile(r"^\| \d\d \| \[.*$", re.MULTILINE)
MAX_TITLE = 60
MAX_SLUG = 40  # it names folders and files: far below any file system's limit
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def percent_cells(text: str) -> list[nbformat.NotebookNode]:
    """Cells of a jupytext percent-format script (`# %%` and `# %% [markdown]` markers)."""
    cells: list[nbformat.NotebookNode] = []
    kind, lines = None, []

    def flush() -> None:
        if kind is None:
            return
        if kind == "markdown":
            body = [line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines]
            cells.append(new_markdown_cell("\n".join(body).strip("\n")))
        else:
            cells.append(new_code_cell("\n".join(lines).strip("\n")))

    for line in text.splitlines():
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def _fill(text: str, values: dict[str, str]) -> str:
    for token, value in values.items():
        text = text.replace(f"__{token}__", value)
    return text


def _template(name: str, values: dict[str, str]) -> str:
    return _fill((TEMPLATES / name).read_text(encoding="utf-8"), values)


def _check_inputs(
    name: str, title: str, prerequisites: list[str] | None, course: Course, root: Path
) -> tuple[str, str, list[str]]:
    ids = [lesson.id for lesson in course.lessons]
    following = f"{int(ids[-1]) + 1:02d}" if int(ids[-1]) < 99 else None
    example = f"{following}-transfer-learning" if following else "NN-slug"  # a free name
    match = NAME.match(name)
    if not match:
        raise CourseError(
            _(
                "{name} is not a lesson name: use NN-slug, two digits, a dash and lower-case "
                "words joined by dashes, e.g. {example}."
            ).format(name=repr(name), example=example)
        )
    lesson_id, slug = match[1], match[2]
    if len(slug) > MAX_SLUG:
        raise CourseError(
            _(
                "the slug after {id}- has {length} characters: keep it within {limit} (it names "
                "the lesson's folders and files), e.g. {example}."
            ).format(id=lesson_id, length=len(slug), limit=MAX_SLUG, example=example)
        )
    if lesson_id in ids:
        taken = course.lesson(lesson_id).name
        raise CourseError(
            f"lesson {lesson_id} already exists ({taken}) in {MANIFEST}: "
            f"pick the next free id{', ' + following if following else ''}."
        )
    if int(lesson_id) < int(ids[-1]):
        raise CourseError(
            f"lesson ids must increase and the last one is {ids[-1]}: "
            f"use {following or 'a higher id'} (renumbering is done by hand)."
        )
    for lesson in course.lessons:
        if lesson.slug == slug:
            raise CourseError(
                f"the slug {slug!r} already belongs to lesson {lesson.id}: pick another name."
            )
    title = title.strip()
    if not title:
        raise CourseError('the title is empty: give one in quotes, e.g. "Transfer learning".')
    if any(ch in title for ch in "|[]\n\r`"):
        raise CourseError(
            f"the title {title!r} may not contain |, [, ], ` or a line break "
            "(they would break the README table and the headings)."
        )
    if len(title) > MAX_TITLE:
        raise CourseError(f"the title has {len(title)} characters: keep it within {MAX_TITLE}.")
    if prerequisites is None:
        prerequisites = [ids[-1]]
    for prereq in prerequisites:
        if prereq not in ids:
            raise CourseError(
                f"prerequisite {prereq!r} is not a lesson id: known ids are {', '.join(ids)}."
            )
    checks = root / "src" / "torchcourse" / "checks"
    if not checks.is_dir():
        raise CourseError(f"{checks} not found: `new` works in a clone of the course repository.")
    lesson_name = f"{lesson_id}-{slug}"
    for rel in (
        f"solutions/{lesson_name}",
        f"chapters/{lesson_name}",
        f"src/torchcourse/checks/ch{lesson_id}.py",
        f"tests/wrong_{lesson_id}.py",
        f"tests/right_{lesson_id}.py",
    ):
        if (root / rel).exists():
            raise CourseError(f"{rel} already exists: remove it or pick another lesson id.")
    return lesson_id, slug, sorted(set(prerequisites), key=ids.index)


def _manifest_with(text: str, entry: str, lesson_id: str, count: int) -> tuple[str, Lesson]:
    """lessons.yml with entry appended; validated, so a file not ending in its list is refused."""
    indents = re.findall(r"^([ \t]*)- id:", text, re.MULTILINE)
    indent = indents[-1] if indents else "  "
    if indent != "  ":
        entry = "\n".join(
            indent + line[2:] if line.startswith("  ") else line for line in entry.split("\n")
        )
    new_text = text.rstrip("\n") + "\n" + entry
    try:
        course = Course.model_validate(yaml.safe_load(new_text))
    except (yaml.YAMLError, ValidationError) as err:
        detail = " ".join(str(err).split())[:200]
        raise CourseError(
            f"appending the entry would break {MANIFEST} ({detail}): "
            "add the lesson by hand, see docs/authoring.md."
        ) from None
    if len(course.lessons) != count + 1 or course.lessons[-1].id != lesson_id:
        raise CourseError(
            f"{MANIFEST} does not end with its list of lessons, so the entry "
            "cannot be appended: add the lesson by hand, see docs/authoring.md."
        )
    return new_text, course.lessons[-1]


def _readme_with(text: str, lesson: Lesson) -> str | None:
    """README.md with the lesson's chapter row after the last one; None without a table."""
    rows = list(README_ROW.finditer(text))
    if not rows:
        return None
    row = (
        f"| {lesson.id} | [{lesson.title}]({lesson.notebook}) | {lesson.minutes} | "
        f"{', '.join(lesson.prerequisites)} |"
    )
    end = rows[-1].end()
    return text[:end] + "\n" + row + text[end:]


def solution_notebook(lesson: Lesson, course: Course) -> nbformat.NotebookNode:
    """The solution notebook of a new lesson, from templates/lesson.py, not executed."""
    links = [
        f"[{p} · {course.lesson(p).title}](../{course.lesson(p).name}/"
        f"{course.lesson(p).name}.ipynb)"
        for p in lesson.prerequisites
    ]
    values = {
        "ID": lesson.id,
        "TITLE": lesson.title,
        "OBJECTIVES": "\n".join(f"- {objective}" for objective in lesson.objectives),
        "PREREQUISITES": ", ".join(links) or "none",
        "MINUTES": str(lesson.minutes),
    }
    text = (TEMPLATES / "lesson.py").read_text(encoding="utf-8")
    cells = percent_cells(text)
    for cell in cells:
        cell.source = _fill(cell.source, values)
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


@contextmanager
def _importable(root: Path):
    """Kernels started meanwhile import this checkout's torchcourse (with the new checker)."""
    old = os.environ.get("PYTHONPATH")
    src = str(root / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join([src, old]) if old else src
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


@contextmanager
def _noting_ctrl_c():
    """A list that gets an entry when Ctrl-C is pressed inside the block: a library may
    swallow the KeyboardInterrupt, or turn it into another error, while a kernel runs."""
    pressed: list[bool] = []
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous == signal.SIG_IGN:
        yield pressed
        return

    def note(signum, frame):
        pressed.append(True)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def _deaf_to_ctrl_c():
    """Undoing must finish: a second Ctrl-C would leave the lesson half made."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _one_line(err: BaseException) -> str:
    ename, evalue = getattr(err, "ename", None), getattr(err, "evalue", None)
    text = f"{ename}: {evalue}" if ename else f"{type(err).__name__}: {err}"
    return " ".join(text.split())[:300]


def new_lesson(
    name: str,
    title: str,
    prerequisites: list[str] | None = None,
    root: Path | None = None,
    execute: bool = True,
) -> Lesson:
    """Scaffold lesson `name` ("NN-slug") titled `title`; print what was written."""
    from torchcourse.student import execute as run_notebook
    from torchcourse.student import write_chapter

    root = root or course_root()
    manifest_path = root / MANIFEST
    course = load_course(manifest_path)
    lesson_id, slug, prerequisites = _check_inputs(name, title, prerequisites, course, root)
    title = title.strip()
    name = f"{lesson_id}-{slug}"
    values = {
        "ID": lesson_id,
        "SLUG": slug,
        "NAME": name,
        "TITLE": title,
        "TITLE_YAML": json.dumps(title, ensure_ascii=False),
        "PREREQUISITES": json.dumps(prerequisites),
    }
    old_manifest = manifest_path.read_text(encoding="utf-8")
    new_manifest, lesson = _manifest_with(
        old_manifest, _template("lessons-entry.yml", values), lesson_id, len(course.lessons)
    )
    readme_path = root / "README.md"
    old_readme = readme_path.read_text(encoding="utf-8") if readme_path.is_file() else None
    new_readme = _readme_with(old_readme, lesson) if old_readme is not None else None
    full = course.model_copy(update={"lessons": [*course.lessons, lesson]})
    solution = solution_notebook(lesson, full)
    sync_setup_cell(solution, full)

    checker = root / "src" / "torchcourse" / "checks" / f"ch{lesson_id}.py"
    wrong = root / "tests" / f"wrong_{lesson_id}.py"
    right = root / "tests" / f"right_{lesson_id}.py"
    created = [root / "solutions" / name, root / "chapters" / name, checker, wrong, right]
    created += [root / d for d in ("solutions", "chapters", "tests") if not (root / d).exists()]
    with _noting_ctrl_c() as pressed:
        try:
            manifest_path.write_text(new_manifest, encoding="utf-8")
            if new_readme is not None:
                readme_path.write_text(new_readme, encoding="utf-8")
            checker.write_text(_template("checks.py", values), encoding="utf-8")
            wrong.parent.mkdir(exist_ok=True)
            wrong.write_text(_template("wrong.py", values), encoding="utf-8")
            right.write_text(_template("right.py", values), encoding="utf-8")
            solution_path = root / lesson.solution
            solution_path.parent.mkdir(parents=True)
            if execute:
                with _importable(root):
                    run_notebook(solution, solution_path.parent, timeout=300)
                    nbformat.write(solution, solution_path)
                    write_chapter(lesson, root, rerun=True)
            else:
                nbformat.write(solution, solution_path)
            if pressed:  # Ctrl-C that a library swallowed: stopped all the same
                raise KeyboardInterrupt
        except BaseException as err:
            with _deaf_to_ctrl_c():
                manifest_path.write_text(old_manifest, encoding="utf-8")
                if new_readme is not None:
                    readme_path.write_text(old_readme, encoding="utf-8")
                for path in created:
                    if path.is_dir():
                        shutil.rmtree(path)
                    elif path.exists():
                        path.unlink()
            if pressed:
                raise KeyboardInterrupt from None  # `torchcourse new: stopped (Ctrl-C).`
            if isinstance(err, CourseError) or not isinstance(err, Exception):
                raise
            raise CourseError(
                f"running the new lesson failed ({_one_line(err)}); nothing was changed."
            ) from None

    rows = [
        (MANIFEST, "entry appended: rewrite its objectives, minutes and max_seconds_cpu"),
        (
            "README.md",
            "chapter row added"
            if new_readme is not None
            else "no chapter table found: add the lesson's row by hand",
        ),
        (lesson.solution, "solution notebook" + (", executed" if execute else "")),
        (
            lesson.notebook,
            "student notebook, generated and executed"
            if execute
            else "not generated yet: run `python -m torchcourse chapters " + lesson_id + "`",
        ),
        (checker.relative_to(root).as_posix(), f"the checker of {lesson_id}.ex1"),
        (wrong.relative_to(root).as_posix(), f"typical mistakes for {lesson_id}.ex1"),
        (right.relative_to(root).as_posix(), f"alternative correct answers for {lesson_id}.ex1"),
    ]
    print(f"New lesson {lesson_id} · {title}:")
    for rel, what in rows:
        print(f"  {rel:<48} {what}")
    print(
        f"Next: write the lesson in {lesson.solution} (see docs/authoring.md), then\n"
        f"  python -m torchcourse chapters {lesson_id} --with-solutions\n"
        f"  python -m pytest -q solutions/{name} chapters/{name} tests"
    )
    return lesson
