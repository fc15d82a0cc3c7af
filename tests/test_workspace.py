"""`torchcourse start [--update]`: the learner's own copies, never overwritten once edited."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
from fake_course import add_lesson, edit, make_course, publish
from faults import one_line, read_only

from torchcourse import cli
from torchcourse.errors import CourseError
from torchcourse.i18n import LANG_ENV
from torchcourse.manifest import load_course
from torchcourse.workspace import SETTINGS, is_untouched, start, workspace_language

LESSONS = [("01", "alpha", 1), ("02", "beta", 1), ("03", "gamma", 1)]


def ws(root, name):
    return root / "workspace" / name / f"{name}.ipynb"


def chapter(root, name):
    return root / "chapters" / name / f"{name}.ipynb"


@pytest.fixture
def root(tmp_path):
    make_course(tmp_path, LESSONS)
    return tmp_path


def run(root, update=False):
    return start(load_course(root / "lessons.yml"), update=update, root=root)


def test_start_copies_every_student_notebook_once(root, capsys):
    assert run(root) == 0
    assert "Created workspace/ with 3 notebook(s)" in capsys.readouterr().out
    for lesson_id, slug, _ in LESSONS:
        name = f"{lesson_id}-{slug}"
        assert ws(root, name).read_bytes() == chapter(root, name).read_bytes()
    edit(ws(root, "01-alpha"), 1, "return 2 * x")
    before = ws(root, "01-alpha").read_bytes()
    assert run(root) == 0  # a second start changes nothing
    out = capsys.readouterr().out
    assert "is ready" in out and "--update" not in out
    assert ws(root, "01-alpha").read_bytes() == before


def test_start_without_update_only_announces_new_versions(root, capsys):
    run(root)
    publish(root, "02", "beta", 1, version="2")
    before = ws(root, "02-beta").read_bytes()
    run(root)
    assert "1 lesson(s) are new or have a new version" in capsys.readouterr().out
    assert ws(root, "02-beta").read_bytes() == before


def test_update_keeps_an_edited_notebook_byte_for_byte(root, capsys):
    run(root)
    # 01: the learner answered the exercise. 02: only ran the notebook. 03: untouched.
    edit(ws(root, "01-alpha"), 1, "return x + x")
    edited = ws(root, "01-alpha").read_bytes()
    nb = nbformat.read(ws(root, "02-beta"), as_version=4)
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.execution_count = count + 1
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
    nbformat.write(nb, ws(root, "02-beta"))
    assert is_untouched(ws(root, "02-beta")), "running a notebook is not editing it"

    for lesson_id, slug, n in LESSONS:
        publish(root, lesson_id, slug, n, version="2")
    add_lesson(root, "04", "delta", 1)
    capsys.readouterr()

    assert run(root, update=True) == 0
    out = capsys.readouterr().out

    assert ws(root, "01-alpha").read_bytes() == edited  # byte for byte
    beside = root / "workspace" / "01-alpha" / "01-alpha.new.ipynb"
    assert beside.read_bytes() == chapter(root, "01-alpha").read_bytes()
    assert "kept      workspace/01-alpha/01-alpha.ipynb (you edited it)" in out
    assert "workspace/01-alpha/01-alpha.new.ipynb" in out
    for name in ("02-beta", "03-gamma", "04-delta"):
        assert ws(root, name).read_bytes() == chapter(root, name).read_bytes(), name
    assert "updated   workspace/02-beta/02-beta.ipynb" in out
    assert "added     workspace/04-delta/04-delta.ipynb" in out

    # A second update has nothing to do and writes no second copy.
    assert run(root, update=True) == 0
    assert "is up to date" in capsys.readouterr().out
    assert sorted(p.name for p in (root / "workspace" / "01-alpha").iterdir()) == [
        "01-alpha.ipynb",
        "01-alpha.new.ipynb",
    ]


def test_an_edited_new_copy_is_kept_too(root, capsys):
    run(root)
    edit(ws(root, "01-alpha"), 1, "return x + x")
    publish(root, "01", "alpha", 1, version="2")
    run(root, update=True)
    beside = root / "workspace" / "01-alpha" / "01-alpha.new.ipynb"
    edit(beside, 1, "return 2 * x")
    kept = beside.read_bytes()
    publish(root, "01", "alpha", 1, version="3")
    run(root, update=True)
    assert beside.read_bytes() == kept
    third = root / "workspace" / "01-alpha" / "01-alpha.new-2.ipynb"
    assert third.read_bytes() == chapter(root, "01-alpha").read_bytes()
    assert "01-alpha.new-2.ipynb" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["corrupt", "no stamp"])
def test_unreadable_or_unstamped_notebooks_count_as_edited(root, capsys, damage):
    run(root)
    path = ws(root, "03-gamma")
    if damage == "corrupt":
        path.write_text('{"cells": [', encoding="utf-8")
    else:
        nb = nbformat.read(path, as_version=4)
        del nb.metadata["torchcourse"]
        nbformat.write(nb, path)
    before = path.read_bytes()
    if damage == "no stamp":
        publish(root, "03", "gamma", 1, version="2")
    # A corrupt copy gets a fresh one beside it even without a new version.
    run(root, update=True)
    assert path.read_bytes() == before
    assert (path.parent / "03-gamma.new.ipynb").read_bytes() == chapter(
        root, "03-gamma"
    ).read_bytes()
    reason = "does not parse" if damage == "corrupt" else "no torchcourse stamp"
    assert reason in capsys.readouterr().out
    run(root, update=True)
    assert "is up to date" in capsys.readouterr().out


def test_lessons_not_published_yet_are_skipped(root, capsys):
    chapter(root, "03-gamma").unlink()
    run(root)
    assert "Not yet published in chapters/: lesson(s) 03" in capsys.readouterr().out
    assert not ws(root, "03-gamma").exists()


def test_no_student_notebooks_is_one_clear_line(tmp_path, monkeypatch, capsys):
    make_course(tmp_path, LESSONS)
    for _, slug, _ in LESSONS:
        for path in (tmp_path / "chapters").glob(f"*-{slug}/*.ipynb"):
            path.unlink()
    with pytest.raises(CourseError, match="no student notebooks"):
        run(tmp_path)
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    assert cli.main(["start"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run `python -m torchcourse chapters` first" in err


def test_the_cli_start_uses_the_course_root(root, monkeypatch, capsys):
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    assert cli.main(["start"]) == 0
    assert ws(root, "02-beta").is_file()
    assert cli.main(["start", "--update"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_images_come_along_but_files_written_by_a_run_do_not(root):
    folder = root / "chapters" / "01-alpha"
    (folder / "diagram.png").write_bytes(b"\x89PNG fake")
    (folder / "model.pt").write_bytes(b"weights")
    run(root)
    assert (root / "workspace" / "01-alpha" / "diagram.png").read_bytes() == b"\x89PNG fake"
    assert not (root / "workspace" / "01-alpha" / "model.pt").exists()


# Faults: where the workspace is, what is in the way, what a killed update left behind.


def _cli(root, monkeypatch, capsys, *argv) -> tuple[int, str]:
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    capsys.readouterr()
    code = cli.main(["start", *argv])
    return code, capsys.readouterr().err


def test_a_read_only_workspace_is_one_line(root, monkeypatch, capsys):
    run(root)
    publish(root, "02", "beta", 1, version="2")
    before = ws(root, "02-beta").read_bytes()
    with read_only(root / "workspace" / "02-beta"):
        code, err = _cli(root, monkeypatch, capsys, "--update")
    assert code == 1
    line = one_line(err)
    assert line.startswith("torchcourse start: cannot write in ") and "--workspace DIR" in line
    assert ws(root, "02-beta").read_bytes() == before


def test_a_workspace_that_is_a_file_is_one_line(root, monkeypatch, capsys):
    (root / "workspace").write_text("my notes")
    code, err = _cli(root, monkeypatch, capsys)
    assert code == 1 and "workspace is a file, not a folder: move it away" in one_line(err)
    assert (root / "workspace").read_text() == "my notes"


def test_an_unwritable_workspace_folder_is_one_line(root, tmp_path, monkeypatch, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        code, err = _cli(root, monkeypatch, capsys, "--workspace", str(locked / "mine"))
    assert code == 1 and f"cannot write in {locked / 'mine'}" in one_line(err)


@pytest.mark.parametrize("folder", ["solutions", "chapters", "chapters/01-alpha", "."])
def test_a_workspace_inside_the_course_s_own_folders_is_refused(root, monkeypatch, capsys, folder):
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    code, err = _cli(root, monkeypatch, capsys, "--workspace", str(root / folder))
    assert code == 1
    line = one_line(err)
    assert "is the course's own folder" in line and "--workspace DIR" in line
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before


def test_a_corrupt_published_notebook_says_how_to_restore_it(root, monkeypatch, capsys):
    run(root)
    chapter(root, "02-beta").write_text('{"cells": [', encoding="utf-8")
    code, err = _cli(root, monkeypatch, capsys, "--update")
    assert code == 1
    line = one_line(err)
    assert "chapters/02-beta/02-beta.ipynb does not parse as a notebook" in line
    assert "git checkout -- chapters/02-beta" in line and "torchcourse chapters 02" in line


def test_temporary_copies_left_by_a_killed_update_are_removed(root):
    run(root)
    folder = root / "workspace" / "01-alpha"
    stale, fresh = folder / ".01-alpha.ipynb.k1ll3d.tmp", folder / ".01-alpha.ipynb.n0w.tmp"
    for path in (stale, fresh):
        path.write_text("half a notebook")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    run(root, update=True)
    assert not stale.exists(), "a copy a killed update left behind is cleaned up"
    assert fresh.exists(), "a copy another update may be writing right now is left alone"


# --- round 2: the workspace's language, full disks, broken sources, left-overs ---------------


def _zh_workspace(root, monkeypatch):
    from test_cli_lang import make_edition

    make_edition(root)
    monkeypatch.delenv(LANG_ENV, raising=False)
    start(load_course(root / "lessons.yml"), root=root, language="zh-CN")
    return root / "workspace"


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("deleted", "is missing"),
        ("{not json", "is damaged"),
        ('{"lang": "xx"}', "names 'xx', which is no edition of the course"),
    ],
)
def test_a_zh_workspace_with_a_lost_record_stays_zh_and_says_so(
    root, monkeypatch, capsys, damage, words
):
    workspace = _zh_workspace(root, monkeypatch)
    settings = workspace / SETTINGS
    if damage == "deleted":
        settings.unlink()
    else:
        settings.write_text(damage, encoding="utf-8")
    publish(root, "02", "beta", 1, version="2")
    from test_cli_lang import make_edition

    shutil.rmtree(root / "zh-CN")
    make_edition(root)
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    monkeypatch.setenv("TORCHCOURSE_LANG", "en")  # else the zh workspace's CLI speaks Chinese
    capsys.readouterr()
    assert cli.main(["start", "--update"]) == 0
    assert f"workspace/.torchcourse.json {words}: " in capsys.readouterr().out.splitlines()[0]
    assert workspace_language(workspace) == "zh_CN"
    assert json.loads(settings.read_text(encoding="utf-8")) == {"lang": "zh_CN"}
    nb = nbformat.read(ws(root, "02-beta"), as_version=4)
    assert nb.metadata["torchcourse"]["lang"] == "zh_CN", "never silently English"


def test_the_lost_record_is_said_in_one_line(root, monkeypatch, capsys):
    workspace = _zh_workspace(root, monkeypatch)
    (workspace / SETTINGS).write_text("{not json", encoding="utf-8")
    capsys.readouterr()
    assert start(load_course(root / "lessons.yml"), update=True, root=root) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == (
        "workspace/.torchcourse.json is damaged: your notebooks are the zh-CN edition, so the "
        "workspace stays zh-CN (recorded again)."
    )


def test_the_language_variable_comes_before_the_workspace_s(root, monkeypatch, capsys):
    from torchcourse.progress import progress

    _zh_workspace(root, monkeypatch)
    course = load_course(root / "lessons.yml")
    monkeypatch.setenv(LANG_ENV, "en")
    capsys.readouterr()
    assert progress(course, root=root) == 0
    out = capsys.readouterr().out
    assert "Checking 3 chapter(s) in workspace/" in out and "Chapter" in out
    monkeypatch.delenv(LANG_ENV)
    assert progress(course, root=root) == 0
    assert "Checking" not in capsys.readouterr().out, "without it, the workspace's language"


def test_a_full_disk_says_so_and_names_the_workspace(root, monkeypatch, capsys):
    def no_space(source, target, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(shutil, "copyfile", no_space)
    code, err = _cli(root, monkeypatch, capsys)
    line = one_line(err)
    assert code == 1 and "is full" in line and str(root / "workspace") in line
    assert "None" not in line and "chapters" not in line


def test_a_fresh_start_refuses_a_broken_chapter_notebook(root, monkeypatch, capsys):
    chapter(root, "02-beta").write_text('{"cells": [', encoding="utf-8")
    code, err = _cli(root, monkeypatch, capsys)
    assert code == 1
    assert "chapters/02-beta/02-beta.ipynb does not parse as a notebook" in one_line(err)
    assert not ws(root, "02-beta").exists()


def test_copies_a_killed_update_left_are_removed_at_once(root):
    """Their writer is gone (its process id is in the name): no need to wait for them to age."""
    run(root)
    folder = root / "workspace" / "01-alpha"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = [folder / f".01-alpha.ipynb.{dead}-0badcafe.tmp", folder / f".fig.png.{dead}-1.tmp"]
    for path in left:
        path.write_text("half a file")
    running = folder / f".01-alpha.ipynb.{os.getppid()}-2.tmp"  # a writer that still runs
    running.write_text("being written")
    run(root, update=True)
    assert [p.exists() for p in left] == [False, False]
    assert running.exists()
