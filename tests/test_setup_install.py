"""The notebooks' setup cell: the pinned install where the course package is missing (Colab,
Kaggle, a fresh Jupyter), nothing at all where it is installed; no network needed to tell."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import torchcourse
from torchcourse.i18n import LANG_ENV, _
from torchcourse.manifest import load_course
from torchcourse.setup_cell import setup_source

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
PINNED = f"torchcourse @ git+{COURSE.course.repository}@v{torchcourse.__version__}"

# Runs the setup cell in a fresh interpreter, with subprocess.run recorded instead of run.
PROGRAM = """\
import json, subprocess, sys, types
{installed}
calls = []
subprocess.run = lambda *args, **kwargs: calls.append([list(args[0]), kwargs])
exec(sys.argv[1], {{"__name__": "__main__"}})
print(json.dumps(calls))
"""
INSTALLED = {
    "missing": "sys.modules['torchcourse'] = None  # as if no torchcourse were installed",
    "another version": ("sys.modules['torchcourse'] = types.SimpleNamespace(__version__='0.0.1')"),
}


@pytest.mark.parametrize("situation", INSTALLED)
def test_without_this_version_it_installs_the_pinned_release(situation):
    program = PROGRAM.format(installed=INSTALLED[situation])
    done = subprocess.run(
        [sys.executable, "-c", program, setup_source(COURSE)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    calls = json.loads(done.stdout.strip().splitlines()[-1])
    assert calls == [[[sys.executable, "-m", "pip", "install", "--quiet", PINNED], {"check": True}]]
    assert "@main" not in PINNED and "[" not in PINNED.split("@")[0], "pinned, core install"


def test_where_the_package_is_installed_it_does_nothing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args))
    exec(setup_source(COURSE), {"__name__": "__main__"})
    assert calls == [] and capsys.readouterr() == ("", "")


def test_a_translated_edition_s_cell_sets_the_checks_language_unless_the_learner_chose(
    monkeypatch,
):
    """Colab and Kaggle do not say which notebook a kernel runs: the zh-CN cell says zh_CN."""
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: None)
    # setenv first so that teardown restores the variable's state before the test, unset too.
    monkeypatch.setenv(LANG_ENV, "en")
    monkeypatch.delenv(LANG_ENV)
    exec(setup_source(COURSE, "zh_CN"), {"__name__": "__main__"})
    assert os.environ[LANG_ENV] == "zh_CN"
    stopped = "torchcourse {command}: stopped (Ctrl-C)."
    assert _(stopped) != stopped, "the course's messages now come in Chinese"
    monkeypatch.setenv(LANG_ENV, "en")
    exec(setup_source(COURSE, "zh_CN"), {"__name__": "__main__"})
    assert os.environ[LANG_ENV] == "en", "a learner's own choice stays"
    assert LANG_ENV not in setup_source(COURSE), "the English cell names no language"
