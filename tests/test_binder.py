"""Binder's build (repo2docker's binder/ folder): the CPU build of torch, then the course."""

from __future__ import annotations

import os
import re
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
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
    assert wanted == {name: _core()[name] for name in ("torch", "torchvision")}


def test_post_build_installs_the_course_and_its_tools_then_the_workspace():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "repo2docker runs postBuild only when executable"
    lines = _lines(post_build)
    assert lines[0] == "set -euo pipefail"
    assert lines[1:] == [
        'python -m pip install --no-cache-dir ".[tools]"',
        "python -m torchcourse start",
    ]
    assert "tools" in PYPROJECT["project"]["optional-dependencies"]


def test_runtime_is_a_python_the_package_supports():
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    assert match, runtime
    assert match[1] in SpecifierSet(PYPROJECT["project"]["requires-python"])
