"""The notebooks' setup cell, for real: pip, a package index and a Jupyter kernel, no stubs.

A clean virtual environment without torchcourse borrows the test environment's other packages
(torch, nbval, ...) through a folder of links, so nothing is downloaded and torch is not
installed twice; the checkout and its editable install stay invisible to it and to pip.
- A local package index (a PEP 503 folder, as a mirror serves it) holds the freshly built
  wheel: the cell installs torchcourse==<version> from it and chapter 00 passes nbval.
- An unreachable index: the cell prints its few lines of advice, no traceback, and Run All
  stops there.
Where torchcourse of this version is importable (the checkout) the cell does nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import unicodedata
from pathlib import Path

import nbformat
import pytest

import torchcourse
from torchcourse.i18n import LANG_ENV, _
from torchcourse.manifest import load_course
from torchcourse.setup_cell import MIRROR, setup_source, sync_setup_cell

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
VERSION = torchcourse.__version__
PACKAGE = f"torchcourse=={VERSION}"
NOTEBOOK = ROOT / "solutions" / "00-welcome" / "00-welcome.ipynb"
UNREACHABLE = "http://127.0.0.1:9/simple"  # the discard port: nothing listens there
HIDDEN = ("torchcourse", "__editable__", "__pycache__")


# --- a clean environment ---------------------------------------------------------------------


def _borrowed(folder: Path) -> Path:
    """Links to this environment's packages, minus torchcourse, its editable install and the
    .pth files (which would bring them back)."""
    folder.mkdir()
    shared = Path(sysconfig.get_paths()["purelib"])
    for entry in shared.iterdir():
        if entry.name.startswith(HIDDEN) or entry.suffix == ".pth":
            continue
        try:
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
        except OSError as err:  # Windows without the right to make links
            pytest.skip(f"cannot link {entry.name} into the clean environment ({err})")
    return folder


def _clean_venv(tmp_path_factory) -> dict:
    """{"python": a new venv's interpreter without torchcourse, "env": the environment to run
    it, "base": its folder}."""
    base = tmp_path_factory.mktemp("clean")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(purelib) / "borrowed.pth").write_text(f"{_borrowed(base / 'borrowed')}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "TORCH"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,  # no pip.conf of this machine: the index is the test's
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_CACHE_DIR="1",
        OMP_NUM_THREADS="1",
    )
    hidden = subprocess.run(
        [python, "-m", "pip", "show", "torchcourse"], cwd=base, env=env, capture_output=True
    )
    assert hidden.returncode != 0, "pip still sees the checkout's torchcourse"
    return {"python": python, "env": env, "base": base}


@pytest.fixture
def clean(tmp_path_factory) -> dict:
    """A clean venv of its own, for a test that installs torchcourse into it."""
    return _clean_venv(tmp_path_factory)


@pytest.fixture(scope="module")
def clean_uninstalled(tmp_path_factory) -> dict:
    """A clean venv shared by the tests whose install fails (they leave it as it was)."""
    return _clean_venv(tmp_path_factory)


# Runs a cell as a Jupyter kernel does (IPython's shell, which honours _render_traceback_).
IPYTHON = """\
import sys
from IPython.core.interactiveshell import InteractiveShell

result = InteractiveShell.instance().run_cell(sys.stdin.read())
print("STOPPED" if result.error_in_exec else "RAN")
"""


def run_cell(clean: dict, index: str, source: str, **env: str) -> tuple[list[str], float]:
    """Run the cell in IPython in the clean venv; return its output lines and the seconds."""
    start = time.perf_counter()
    done = subprocess.run(
        [clean["python"], "-c", IPYTHON], input=source, cwd=clean["base"],
        env={**clean["env"], "PIP_INDEX_URL": index, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stderr.strip() == "", done.stderr[-2000:]
    return done.stdout.strip().splitlines(), time.perf_counter() - start


# --- where the package is installed: nothing --------------------------------------------------


def test_where_the_package_is_installed_it_does_nothing(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: calls.append(args))
    exec(setup_source(COURSE), {"__name__": "__main__"})
    assert calls == [] and capsys.readouterr() == ("", "")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_cell_is_short_lines_and_pins_this_version(language):
    source = setup_source(COURSE, language)
    assert f'COURSE_VERSION = "{VERSION}"' in source
    assert 'package = f"torchcourse=={COURSE_VERSION}"' in source
    assert "--index-url" not in source and " -i " not in source.split("raise")[0], "pip's index"
    for line in source.splitlines():  # ruff checks the notebooks: 100 columns, CJK count twice
        width = sum(1 + (unicodedata.east_asian_width(ch) in "WF") for ch in line)
        assert width <= 100, line


# --- a local index holding the freshly built wheel: installs, and chapter 00 passes ------------


def local_index(folder: Path, wheel: Path) -> str:
    """A PEP 503 'simple' index in a folder, as a mirror serves it; returns its file:// URL."""
    project = folder / "simple" / "torchcourse"
    project.mkdir(parents=True)
    shutil.copy(wheel, project / wheel.name)
    link = f'<a href="{wheel.name}">{wheel.name}</a>'
    (project / "index.html").write_text(f"<!DOCTYPE html><html><body>{link}</body></html>\n")
    return (folder / "simple").as_uri()


def test_from_a_local_index_the_cell_installs_this_version_and_the_notebook_passes(
    clean, wheel, tmp_path
):
    start = time.perf_counter()
    index = local_index(tmp_path / "index", wheel)
    run = tmp_path / "run"
    run.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert sync_setup_cell(nb, COURSE) in ("", "updated"), "00 opens with the setup cell"
    nbformat.write(nb, run / NOTEBOOK.name)
    shutil.copy(ROOT / "tests" / "nbval_sanitize.cfg", run)
    (run / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    done = subprocess.run(
        [clean["python"], "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "--nbval", "--nbval-current-env", "--nbval-sanitize-with", "nbval_sanitize.cfg",
         "--nbval-cell-timeout=300", NOTEBOOK.name],
        cwd=run, env={**clean["env"], "PIP_INDEX_URL": index}, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    where = subprocess.run(
        [clean["python"], "-c", "import torchcourse as t; print(t.__version__, t.__file__)"],
        cwd=run, env=clean["env"], capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert where[0] == VERSION and Path(where[1]).is_relative_to(clean["base"] / "venv"), where
    lines, _seconds = run_cell(clean, index, setup_source(COURSE))
    assert lines == ["RAN"], "installed now: the cell prints nothing"
    print(f"local-index install and nbval of {NOTEBOOK.name}: {time.perf_counter() - start:.1f} s")


# --- an unreachable index: a few lines of advice, no traceback, Run All stops ------------------


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_an_unreachable_index_gets_a_short_message_and_no_traceback(clean_uninstalled, language):
    clean = clean_uninstalled
    # The English run keeps pip's own retries (about 10 s), as a learner would meet them.
    retries = {} if language == "en" else {"PIP_RETRIES": "0"}
    lines, seconds = run_cell(clean, UNREACHABLE, setup_source(COURSE, language), **retries)
    print(f"{language}: {seconds:.1f} s\n" + "\n".join(lines))
    assert lines[-1] == "STOPPED", "Run All stops at the setup cell"
    message = lines[:-1]
    text = "\n".join(message)
    assert "Traceback" not in text and "File " not in text and "Error" not in text.split()[0]
    assert 2 <= len(message) <= 6, message
    assert PACKAGE in message[0]
    mirror = f"pip install -i {MIRROR} {PACKAGE}"
    assert any(line.strip() == mirror for line in message), "the exact mirror command"
    release = f"{COURSE.course.repository}/releases/tag/v{VERSION}"
    assert any(line.strip() == release for line in message), "the release page of the wheel"
    assert "Kaggle" in text and "Internet" in text
    if language == "zh_CN":
        assert message[0].startswith("无法安装"), "in Chinese"
        assert message[2].strip() == mirror, "the mirror comes first in the Chinese edition"


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
