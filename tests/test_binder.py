"""Binder's build (repo2docker's binder/ folder): the CPU build of torch pinned to what the
verification records ran, then the course, then one workspace per edition that the site's
Binder links open."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

from torchcourse.i18n import SOURCE_LANGUAGE
from torchcourse.manifest import load_course
from torchcourse.release import binder_requirements
from torchcourse.site import launch_urls, site_languages
from torchcourse.workspace import workspace_notebook

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [line.split("#")[0].strip() for line in text.splitlines() if line.split("#")[0].strip()]


def _core() -> dict[str, SpecifierSet]:
    return {(r := Requirement(x)).name: r.specifier for x in PYPROJECT["project"]["dependencies"]}


def test_requirements_install_torch_from_the_cpu_index_only():
    lines = _lines(BINDER / "requirements.txt")
    options = [line for line in lines if line.startswith("-")]
    assert options == [f"--index-url {CPU_INDEX}"], "PyTorch's CPU index, and no other index"
    wanted = {(r := Requirement(line)).name: r.specifier for line in lines if line not in options}
    assert set(wanted) == {"torch", "torchvision"}
    for name, pin in wanted.items():
        assert len(pin) == 1 and next(iter(pin)).operator == "==", f"{name} is pinned: {pin}"


def test_the_pins_are_the_versions_the_verification_records_ran():
    assert (BINDER / "requirements.txt").read_text(encoding="utf-8") == binder_requirements(
        ROOT, COURSE
    ), "binder/requirements.txt is stale: run `python -m torchcourse.release bump <version>`"
    lines = [line for line in _lines(BINDER / "requirements.txt") if not line.startswith("-")]
    for line in lines:  # the pins satisfy what the course itself requires
        req = Requirement(line)
        version = str(next(iter(req.specifier)).version).replace(".*", ".0")
        assert version in _core()[req.name], f"{line} is outside pyproject's {_core()[req.name]}"


def test_post_build_installs_the_course_and_its_tools_then_the_workspace():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when executable"
    lines = _lines(post_build)
    assert lines[0] == "set -euo pipefail"
    assert lines[1] == 'python -m pip install --no-cache-dir ".[tools]"'
    assert all(line.startswith("python -m torchcourse start") for line in lines[2:])
    assert "tools" in PYPROJECT["project"]["optional-dependencies"]


def _workspaces() -> dict[str, str]:
    """{language: workspace folder} as postBuild's `torchcourse start` lines make them."""
    made = {}
    for line in _lines(BINDER / "postBuild"):
        words = shlex.split(line)
        if words[:4] == ["python", "-m", "torchcourse", "start"]:
            options = dict(zip(words[4::2], words[5::2]))
            language = options.get("--lang", SOURCE_LANGUAGE).replace("-", "_")
            made[language] = options.get("--workspace", "workspace")
    return made


def test_every_edition_s_binder_link_opens_the_learner_s_copy():
    made = _workspaces()
    assert set(made) == set(site_languages(ROOT)), "one workspace per edition of the site"
    for language, folder in made.items():
        for lesson in COURSE.lessons:
            url = launch_urls(COURSE, lesson, language)["binder"]
            path = unquote(url.split("?urlpath=", 1)[1]).removeprefix("lab/tree/")
            assert Path(path) == workspace_notebook(lesson, Path(folder)), url


def test_post_build_s_translated_workspace_holds_that_edition(tmp_path):
    """The zh-CN start line, run for real into a scratch folder."""
    folder = tmp_path / _workspaces()["zh_CN"]
    command = ["start", "--lang", "zh-CN", "--workspace", str(folder)]
    done = subprocess.run(
        [sys.executable, "-m", "torchcourse", *command], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lesson = COURSE.lessons[0]
    copy = workspace_notebook(lesson, folder)
    assert copy.read_bytes() == (ROOT / "zh-CN" / lesson.notebook).read_bytes()


def test_runtime_is_a_python_the_package_supports():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, runtime
    assert match[1] in SpecifierSet(PYPROJECT["project"]["requires-python"])
