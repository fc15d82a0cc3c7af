"""A tiny course on disk for the workspace and progress tests: fast notebooks, no torch.

Each notebook's setup cell defines a `check` that prints the very lines torchcourse's checks
print (taken from Result.line()), so progress reads real verdicts from a real kernel.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from torchcourse.checks.core import FAILED, NOT_ATTEMPTED, PASSED, Result
from torchcourse.student import sources_digest

LINES = {
    PASSED: Result("EXID", PASSED, "double(2) is 4.").line(),
    FAILED: Result("EXID", FAILED, "double(2) should be 4", "multiply by 2.", 1, 3).line(),
    NOT_ATTEMPTED: Result("EXID", NOT_ATTEMPTED).line(),
}

SETUP = f"""LINES = {LINES!r}


def check(exercise_id, answer=None):
    if answer is None:
        print(f"⚠️ check: you gave only the exercise id: write check({{exercise_id!r}}, f).")
        return
    try:
        status = {PASSED!r} if answer(2) == 4 else {FAILED!r}
    except NotImplementedError:
        status = {NOT_ATTEMPTED!r}
    print(LINES[status].replace("EXID", exercise_id))"""

STUB = 'def double_{k}(x):\n    # YOUR CODE HERE\n    raise NotImplementedError("{id}.ex{k}")'


def answer_cell(k: int, body: str) -> str:
    """The source of exercise k's cell with the learner's body."""
    return f"def double_{k}(x):\n    {body}"


def lesson_entry(lesson_id: str, slug: str, exercises: int, seconds: int = 30) -> dict:
    name = f"{lesson_id}-{slug}"
    return {
        "id": lesson_id,
        "slug": slug,
        "title": f"Lesson {slug}",
        "notebook": f"chapters/{name}/{name}.ipynb",
        "solution": f"solutions/{name}/{name}.ipynb",
        "objectives": ["one", "two", "three"],
        "prerequisites": [],
        "minutes": 10,
        "devices": ["cpu", "cuda"],
        "datasets": [],
        "exercises": [f"ex{k}" for k in range(1, exercises + 1)],
        "max_seconds_cpu": seconds,
    }


def student_notebook(lesson_id: str, title: str, exercises: int, version: str = "1"):
    """A generated-looking student notebook: stubbed exercises and a sources stamp."""
    cells = [
        new_markdown_cell(f"# {lesson_id} · {title}\n\nVersion {version}."),
        new_code_cell(SETUP),
    ]
    for k in range(1, exercises + 1):
        cells.append(new_markdown_cell(f"### Exercise {k}: double a number"))
        cells.append(new_code_cell(STUB.format(k=k, id=lesson_id)))
        cells.append(new_code_cell(f'check("{lesson_id}.ex{k}", double_{k})'))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    restamp(nb)
    return nb


def restamp(nb) -> None:
    """Record the notebook's sources digest, as `torchcourse chapters` does."""
    nb.metadata["torchcourse"] = {
        "generated_from": "solutions/...",
        "sources_sha256": sources_digest(nb),
    }


def make_course(root: Path, lessons: list[tuple[str, str, int]]) -> None:
    """Write lessons.yml and chapters/ for lessons given as (id, slug, number of exercises)."""
    root.mkdir(parents=True, exist_ok=True)
    entries = [lesson_entry(i, slug, n) for i, slug, n in lessons]
    data = {
        "course": {
            "title": "A fake course",
            "tagline": "For tests.",
            "repository": "https://github.com/example/fake",
        },
        "lessons": entries,
    }
    (root / "lessons.yml").write_text("# a fake course\n" + yaml.safe_dump(data, sort_keys=False))
    for entry in entries:
        publish(root, entry["id"], entry["slug"], len(entry["exercises"]))


def add_lesson(root: Path, lesson_id: str, slug: str, exercises: int) -> None:
    """Add a lesson to lessons.yml and publish its student notebook."""
    data = yaml.safe_load((root / "lessons.yml").read_text())
    data["lessons"].append(lesson_entry(lesson_id, slug, exercises))
    (root / "lessons.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    publish(root, lesson_id, slug, exercises)


def publish(root: Path, lesson_id: str, slug: str, exercises: int, version: str = "1") -> Path:
    """Write (or rewrite, as a new version) a lesson's student notebook in chapters/."""
    name = f"{lesson_id}-{slug}"
    path = root / "chapters" / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(student_notebook(lesson_id, f"Lesson {slug}", exercises, version), path)
    return path


def edit(path: Path, k: int, body: str) -> None:
    """Answer exercise k of a workspace notebook, as a learner would in JupyterLab."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and f"def double_{k}(" in c.source)
    cell.source = answer_cell(k, body)
    nbformat.write(nb, path)
