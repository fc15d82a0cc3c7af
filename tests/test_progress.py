"""`torchcourse progress`: real kernels, small notebooks, one table."""

from __future__ import annotations

import re

import nbformat
import pytest
from fake_course import edit, make_course

from torchcourse import cli
from torchcourse.manifest import load_course
from torchcourse.progress import progress
from torchcourse.workspace import start


def ws(root, name):
    return root / "workspace" / name / f"{name}.ipynb"


def row(out: str, lesson_id: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith(f"{lesson_id} "))
    return re.split(r"\s{2,}", line.strip())


@pytest.fixture
def root(tmp_path):
    make_course(
        tmp_path,
        [("01", "passes", 1), ("02", "fails", 3), ("03", "untouched", 2), ("04", "corrupt", 1)],
    )
    start(load_course(tmp_path / "lessons.yml"), root=tmp_path)
    return tmp_path


def test_progress_reports_passed_failed_not_attempted_and_corrupt(root, capsys):
    edit(ws(root, "01-passes"), 1, "return 2 * x")
    edit(ws(root, "02-fails"), 1, "return x + 1")  # wrong: 3, not 4
    path = ws(root, "02-fails")  # ex2 left as it is; ex3's function cell deleted by mistake
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if "def double_3(" not in c.source]
    nb.cells.insert(1, nbformat.v4.new_code_cell("import not_installed_anywhere"))
    nbformat.write(nb, path)
    ws(root, "04-corrupt").write_text('{"cells": [{"cell_type": "code",', encoding="utf-8")
    before = {p: p.read_bytes() for p in (root / "workspace").rglob("*.ipynb")}
    capsys.readouterr()

    assert progress(load_course(root / "lessons.yml"), root=root) == 0
    out = capsys.readouterr().out

    assert row(out, "01") == ["01 Lesson passes", "1", "0", "0"]
    assert row(out, "02")[:4] == ["02 Lesson fails", "0", "2", "1"]
    assert row(out, "02")[4] == (
        "the setup cell raised ModuleNotFoundError: No module named 'not_installed_anywhere' "
        "(`torchcourse doctor` may say why)"
    )
    assert row(out, "03") == ["03 Lesson untouched", "0", "0", "2"]
    corrupt = row(out, "04")
    assert corrupt[:4] == ["04 Lesson corrupt", "-", "-", "-"]
    assert "workspace/04-corrupt/04-corrupt.ipynb does not parse as a notebook" in corrupt[4]
    assert re.search(r"^Total\s+1\s+2\s+3$", out, re.MULTILINE)
    assert "❌ 02.ex1 failed: double(2) should be 4." in out
    assert "❌ 02.ex3 failed: its check cell raised NameError" in out
    assert "Ran the 2 notebook(s) you changed" in out
    assert "Traceback" not in out
    after = {p: p.read_bytes() for p in (root / "workspace").rglob("*.ipynb")}
    assert after == before, "progress must never write to the learner's notebooks"


def test_an_endless_loop_stops_at_the_timeout(root, capsys):
    edit(ws(root, "02-fails"), 1, "while True:\n        pass")
    edit(ws(root, "02-fails"), 2, "return 2 * x")
    capsys.readouterr()
    progress(load_course(root / "lessons.yml"), ["02"], timeout=3, root=root)
    out = capsys.readouterr().out
    cells = row(out, "02")
    assert cells[:4] == ["02 Lesson fails", "0", "1", "0"]
    assert "stopped after 3 s (an endless loop?)" in cells[4]
    assert "not checked: 02.ex2, 02.ex3" in cells[4]
    assert "❌ 02.ex1 failed: its check did not finish" in out


def test_progress_without_a_workspace_is_one_line(tmp_path, monkeypatch, capsys):
    make_course(tmp_path, [("01", "passes", 1)])
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    assert cli.main(["progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "run `torchcourse start`" in err


def test_missing_notebooks_are_named_without_running_anything(root, capsys):
    ws(root, "03-untouched").unlink()
    ws(root, "04-corrupt").unlink()
    (root / "chapters" / "04-corrupt" / "04-corrupt.ipynb").unlink()
    capsys.readouterr()
    progress(load_course(root / "lessons.yml"), root=root)
    out = capsys.readouterr().out
    assert row(out, "03") == [
        "03 Lesson untouched", "0", "0", "2",
        "not in your workspace yet: run `torchcourse start --update`",
    ]  # fmt: skip
    assert row(out, "04") == ["04 Lesson corrupt", "0", "0", "1", "not published yet"]
    assert "Ran the 0 notebook(s)" in out


def test_a_kernel_that_cannot_start_is_one_line_per_chapter(root, monkeypatch, capsys):
    import torchcourse.progress

    def no_kernel(*args, **kwargs):
        raise RuntimeError("No such kernel named python3")

    monkeypatch.setattr(torchcourse.progress, "run_notebook", no_kernel)
    edit(ws(root, "01-passes"), 1, "return 2 * x")
    capsys.readouterr()
    assert progress(load_course(root / "lessons.yml"), ["01", "03"], root=root) == 0
    out = capsys.readouterr().out
    assert row(out, "01")[1:] == [
        "-", "-", "-",
        "could not run it (RuntimeError: No such kernel named python3); try `torchcourse doctor`",
    ]  # fmt: skip
    assert row(out, "03")[1:] == ["0", "0", "2"]
