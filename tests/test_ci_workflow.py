"""The ready CI workflow for the course's users parses and runs the documented commands."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "course.yml"


def load():
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


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


def test_every_step_is_well_formed():
    for name, job in load()["jobs"].items():
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), f"{name}: {step}"


def test_the_gpu_job_checks_for_what_torch_compile_needs():
    for job in load()["jobs"].values():
        if "verify --device cuda" in runs(job):
            assert "gcc --version" in runs(job) and "Python.h" in runs(job)
