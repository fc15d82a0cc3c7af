"""`torchcourse lab` (and `make lab`): the workspace, then JupyterLab there, also as root."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest
from fake_course import edit, make_course
from faults import one_line

import torchcourse.lab
from torchcourse import cli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def course(tmp_path, monkeypatch):
    make_course(tmp_path, [("01", "alpha", 1), ("02", "beta", 1)])
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    launched = []
    monkeypatch.setattr(torchcourse.lab, "launch", lambda command: launched.append(command) or 0)
    return tmp_path, launched


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX users")
@pytest.mark.parametrize("uid", [0, 1000], ids=["root", "user"])
def test_lab_makes_the_workspace_then_opens_jupyterlab_there(course, monkeypatch, uid):
    root, launched = course
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    assert cli.main(["lab"]) == 0
    workspace = root / "workspace"
    assert (workspace / "01-alpha" / "01-alpha.ipynb").is_file()
    expected = [sys.executable, "-m", "jupyterlab", str(workspace)]
    assert launched == [expected + (["--allow-root"] if uid == 0 else [])]


def test_lab_updates_the_workspace_and_keeps_edits(course, monkeypatch):
    root, launched = course
    assert cli.main(["lab"]) == 0
    mine = root / "workspace" / "01-alpha" / "01-alpha.ipynb"
    edit(mine, 1, "return 2 * x")
    before = mine.read_bytes()
    (root / "workspace" / "02-beta" / "02-beta.ipynb").unlink()
    assert cli.main(["lab", "--", "--port", "9999", "--allow-root"]) == 0
    assert mine.read_bytes() == before
    assert (root / "workspace" / "02-beta" / "02-beta.ipynb").is_file()
    assert launched[-1][-3:] == ["--port", "9999", "--allow-root"]
    assert launched[-1].count("--allow-root") == 1


def test_lab_without_jupyterlab_is_one_line(course, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jupyterlab" else real(name)
    )
    assert cli.main(["lab"]) == 1
    assert 'JupyterLab is not installed: `pip install "torchcourse[tools]"`' in one_line(
        capsys.readouterr().err
    )
    assert course[1] == []


def test_make_lab_is_the_python_command():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe and recipe[1].strip() == "$(BIN)/python -m torchcourse lab"


def test_the_readme_gives_both_forms_and_the_cpu_install():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make lab" in readme and "python -m torchcourse lab" in readme
    assert "### Install on Windows / macOS / Linux without a GPU" in readme
    assert "--index-url https://download.pytorch.org/whl/cpu" in readme
    assert "verified on cuda" not in readme.lower()


def test_a_jupyterlab_option_before_the_dashes_says_where_it_goes(course, capsys):
    root, launched = course
    assert cli.main(["lab", "--no-browser"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "JupyterLab's options go after `--`" in line
    assert "torchcourse lab -- --no-browser" in line and not launched


@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs JupyterLab")
def test_an_option_jupyterlab_refuses_is_one_line_before_anything_happens(course, capsys):
    root, launched = course
    assert cli.main(["lab", "--", "--bogus"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "JupyterLab refuses --bogus" in line and "--help" in line
    assert not launched and not (root / "workspace").exists()
    assert cli.main(["lab", "--", "--port", "9999", "--no-browser"]) == 0
    assert launched[-1][-3:] == ["--port", "9999", "--no-browser"]


@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="needs JupyterLab")
def test_jupyterlab_hears_the_language_variable_first(course, monkeypatch):
    from test_cli_lang import make_edition

    root, launched = course
    make_edition(root)
    monkeypatch.setenv("TORCHCOURSE_LANG", "en")
    assert cli.main(["lab", "--lang", "zh-CN"]) == 0
    assert os.environ["TORCHCOURSE_LANG"] == "en"
