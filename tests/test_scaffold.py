"""`torchcourse new NN-slug "Title"`: a lesson that passes the course's own tests at once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from torchcourse import cli
from torchcourse.errors import CourseError
from torchcourse.manifest import load_course
from torchcourse.scaffold import new_lesson
from torchcourse.setup_cell import TAG, setup_source

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
LAST = COURSE.lessons[-1]
NEXT = f"{int(LAST.id) + 1:02d}"
IGNORE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def skeleton(tmp_path):
    """lessons.yml and README.md of the course, and the folders `new` writes into."""
    for name in ("lessons.yml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "src" / "torchcourse" / "checks").mkdir(parents=True)
    (tmp_path / "tests").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    ("name", "title", "prerequisites", "words"),
    [
        ("8-topic", "Topic", None, "is not a lesson name: use NN-slug"),
        (f"{NEXT}-Big-Topic", "Topic", None, "is not a lesson name"),
        (f"{NEXT}_topic", "Topic", None, "is not a lesson name"),
        (f"{NEXT}-", "Topic", None, "is not a lesson name"),
        (f"{LAST.id}-other", "Topic", None, f"lesson {LAST.id} already exists ({LAST.name})"),
        (f"{COURSE.lessons[0].id}-x", "Topic", None, "already exists"),
        (f"{NEXT}-{LAST.slug}", "Topic", None, f"already belongs to lesson {LAST.id}"),
        (f"{NEXT}-topic", "   ", None, "the title is empty"),
        (f"{NEXT}-topic", "A | B", None, "may not contain |"),
        (f"{NEXT}-topic", "x" * 61, None, "keep it within 60"),
        (f"{NEXT}-topic", "Topic", ["42"], "prerequisite '42' is not a lesson id"),
        (f"{NEXT}-{'a' * 300}", "Topic", None, "has 300 characters: keep it within 40"),
    ],
)
def test_bad_input_is_refused_in_one_line_and_changes_nothing(
    skeleton, name, title, prerequisites, words
):
    before = _files(skeleton)
    with pytest.raises(CourseError) as caught:
        new_lesson(name, title, prerequisites, root=skeleton)
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    assert _files(skeleton) == before


@pytest.mark.parametrize("kind", ["wrong", "right"])
def test_an_existing_file_is_refused(skeleton, kind):
    (skeleton / "tests" / f"{kind}_{NEXT}.py").write_text("# mine\n")
    with pytest.raises(CourseError, match=f"tests/{kind}_{NEXT}.py already exists"):
        new_lesson(f"{NEXT}-topic", "Topic", root=skeleton)


def test_the_cli_refuses_with_one_line(skeleton, monkeypatch, capsys):
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(skeleton))
    assert cli.main(["new", "topic", "Topic"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("torchcourse new: 'topic' is not a lesson")


def test_the_entry_is_appended_as_text_and_the_readme_row_added(skeleton, capsys):
    old = (skeleton / "lessons.yml").read_text(encoding="utf-8")
    lesson = new_lesson(f"{NEXT}-topic", 'A "quoted": title', root=skeleton, execute=False)
    new = (skeleton / "lessons.yml").read_text(encoding="utf-8")
    assert new.startswith(old.rstrip("\n")), "the existing text and its comments must survive"
    assert "# Scaffolded by `torchcourse new`" in new
    course = load_course(skeleton / "lessons.yml")
    assert course.lessons[-1] == lesson and lesson.title == 'A "quoted": title'
    assert lesson.prerequisites == [LAST.id]
    readme = (skeleton / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (\d\d) \| \[([^\]]+)\]\(([^)]+)\)", readme, re.MULTILINE)
    assert listed == [(x.id, x.title, x.notebook) for x in course.lessons]

    nb = nbformat.read(skeleton / lesson.solution, as_version=4)
    header = nb.cells[0].source
    assert header.startswith(f"# {lesson.id} · {lesson.title}\n")
    assert all(objective in header for objective in lesson.objectives)
    assert f"](../{LAST.name}/{LAST.name}.ipynb)" in header
    setup, imports = [c for c in nb.cells if c.cell_type == "code"][:2]
    assert setup.source == setup_source(course) and TAG in setup.metadata["tags"]
    assert "from torchcourse import check, hint, pick_device" in imports.source
    assert f'check("{NEXT}.ex1", double)' in [c.source for c in nb.cells]
    text = "\n".join(c.source for c in nb.cells)
    assert "You will see this in older code" in text and "## Summary" in text
    assert (skeleton / "src" / "torchcourse" / "checks" / f"ch{NEXT}.py").is_file()
    assert f'"{NEXT}.ex1"' in (skeleton / "tests" / f"wrong_{NEXT}.py").read_text()
    assert f'"{NEXT}.ex1"' in (skeleton / "tests" / f"right_{NEXT}.py").read_text()
    assert f"New lesson {NEXT} · " in capsys.readouterr().out


def test_a_failure_half_way_undoes_everything(skeleton, monkeypatch):
    import torchcourse.student

    def explode(*args, **kwargs):
        raise RuntimeError("the kernel exploded")

    monkeypatch.setattr(torchcourse.student, "execute", explode)
    before = _files(skeleton)
    with pytest.raises(CourseError, match=r"failed \(RuntimeError: the kernel exploded\); nothing"):
        new_lesson(f"{NEXT}-topic", "Topic", root=skeleton)
    assert _files(skeleton) == before
    assert sorted(p.name for p in skeleton.iterdir()) == [
        "README.md",
        "lessons.yml",
        "src",
        "tests",
    ]


def _prune(text: str, drop: set[str]) -> str:
    """lessons.yml without the dropped lessons' entries and prerequisites."""
    head, sep, body = text.partition("\nlessons:\n")
    blocks = re.split(r"(?m)^(?=[ \t]*- id:)", body)
    kept = [b for b in blocks if not re.match(rf'[ \t]*- id: "?({"|".join(drop)})\b', b)]

    def fix(match):
        ids = [i for i in re.findall(r"\d\d", match[2]) if i not in drop]
        return match[1] + "[" + ", ".join(f'"{i}"' for i in ids) + "]"

    body = re.sub(r"(?m)^([ \t]*prerequisites: )\[(.*)\]", fix, "".join(kept)) if drop else body
    return head + sep + body


def small_course_copy(dest: Path) -> None:
    """A copy of the course's tooling and tests with one finished lesson (both notebooks on
    disk), the first: enough for the manifest, README and registry tests to mean something,
    and quick (the check tests run the exercise cells of every lesson in the copy)."""
    finished = [
        lesson.id
        for lesson in COURSE.lessons
        if (ROOT / lesson.solution).is_file() and (ROOT / lesson.notebook).is_file()
    ]
    drop = {lesson.id for lesson in COURSE.lessons} - set(finished[:1])
    dest.mkdir()
    for name in ("pyproject.toml",):
        shutil.copy(ROOT / name, dest / name)
    manifest = (ROOT / "lessons.yml").read_text(encoding="utf-8")
    (dest / "lessons.yml").write_text(_prune(manifest, drop), encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = rf"(?m)^\| ({'|'.join(drop)}) \| \[.*\n" if drop else r"(?!)"
    (dest / "README.md").write_text(re.sub(rows, "", readme), encoding="utf-8")
    shutil.copytree(ROOT / "src", dest / "src", ignore=IGNORE)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=IGNORE)
    for lesson_id in drop:
        (dest / "src" / "torchcourse" / "checks" / f"ch{lesson_id}.py").unlink(missing_ok=True)
        (dest / "tests" / f"wrong_{lesson_id}.py").unlink(missing_ok=True)
    for lesson in COURSE.lessons:
        if lesson.id not in drop:
            for folder in ("solutions", "chapters"):
                src = ROOT / folder / lesson.name
                shutil.copytree(src, dest / folder / lesson.name, ignore=IGNORE)
    (dest / "datasets").symlink_to(ROOT / "datasets", target_is_directory=True)


def test_new_lesson_passes_the_course_tests_in_a_copy(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "course"
    small_course_copy(copy)
    name = f"{NEXT}-scaffolded"
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(copy))
    if "TORCHCOURSE_CACHE" not in os.environ:  # MNIST is unpacked already: share it
        monkeypatch.setenv("TORCHCOURSE_CACHE", str(ROOT / ".cache"))
    new_lesson(name, "A scaffolded lesson", root=copy)
    assert "student notebook, generated and executed" in capsys.readouterr().out

    env = {**os.environ, "PYTHONPATH": str(copy / "src")}
    new_files = [
        f"solutions/{name}",
        f"chapters/{name}",
        f"src/torchcourse/checks/ch{NEXT}.py",
        f"tests/wrong_{NEXT}.py",
        f"tests/right_{NEXT}.py",
    ]
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():
        linted = subprocess.run([ruff, "check", *new_files], cwd=copy, capture_output=True)
        assert linted.returncode == 0, linted.stdout.decode()

    # What `make test` runs for this lesson: nbval on both notebooks, the contract tests (not
    # the broken-manifest tests: their edits need the lessons this copy leaves out).
    select = f"{NEXT} or (test_manifest and not broken_manifest)"
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:xdist",
         f"solutions/{name}", f"chapters/{name}", "tests/test_manifest.py",
         "tests/test_notebooks.py", "tests/test_checks.py", "tests/test_check_robustness.py",
         "-k", select],
        cwd=copy, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert re.search(r"^\d+ passed, \d+ deselected in ", tested.stdout, re.MULTILINE), tested.stdout


def test_ctrl_c_while_the_kernel_runs_says_stopped_and_undoes_everything(
    skeleton, monkeypatch, capsys
):
    """nbclient may turn the KeyboardInterrupt into another error (an AssertionError in its
    clean-up): what the learner did was press Ctrl-C."""
    import signal

    import torchcourse.student

    def interrupted(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            raise AssertionError("the kernel client was interrupted") from None

    monkeypatch.setattr(torchcourse.student, "execute", interrupted)
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(skeleton))
    before = _files(skeleton)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        assert cli.main(["new", f"{NEXT}-topic", "Topic"]) == 130
    finally:
        signal.signal(signal.SIGINT, previous)
    assert capsys.readouterr().err == "torchcourse new: stopped (Ctrl-C).\n"
    assert _files(skeleton) == before
    assert sorted(p.name for p in skeleton.iterdir()) == [
        "README.md",
        "lessons.yml",
        "src",
        "tests",
    ]


def test_the_examples_name_a_free_lesson_id(skeleton, capsys):
    ids = {lesson.id for lesson in COURSE.lessons}
    for name in ("topic", f"{NEXT}-{'a' * 41}"):
        with pytest.raises(CourseError) as caught:
            new_lesson(name, "Topic", root=skeleton)
        example = re.search(r"e\.g\. (\d\d)-", str(caught.value))
        assert example and example[1] not in ids, str(caught.value)
    with pytest.raises(SystemExit):
        cli.main(["new", "--help"])
    example = re.search(r"e\.g\. (\d\d)-", " ".join(capsys.readouterr().out.split()))
    assert example and example[1] not in ids
