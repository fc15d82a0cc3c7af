"""The command line: one clear line and exit 1 for every user error."""

from __future__ import annotations

import json

import torch

from torchcourse import cli, verify
from torchcourse.manifest import load_course


def test_list_shows_every_lesson(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for lesson in load_course().lessons:
        assert f"{lesson.id}  {lesson.title}" in out


def test_doctor_reports_versions_and_checksums(capsys):
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert f"torch        {torch.__version__}" in out
    assert "matches torch" in out
    assert "checksums OK" in out


def test_unknown_lesson_is_one_line(capsys):
    assert cli.main(["verify", "42"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no lesson '42'" in err


def test_forcing_cuda_without_a_gpu_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert cli.main(["verify", "--device", "cuda", "01"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no usable CUDA GPU" in err


def test_verify_records_each_notebook(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    outcomes = {"solutions": (True, 3.2, ""), "chapters": (False, 2.0, "E   1 failed")}
    monkeypatch.setattr(
        verify, "run_nbval", lambda path, device, root: outcomes[path.relative_to(root).parts[0]]
    )
    assert cli.main(["verify", "--record", "01"]) == 1
    record = json.loads((tmp_path / "verification" / "01-cpu.json").read_text())
    assert record["lesson"] == "01" and record["device"] == "cpu"
    assert record["torch"] == torch.__version__ and record["passed"] is False
    assert record["notebooks"]["solutions/01-tensors/01-tensors.ipynb"] == {
        "result": "passed",
        "seconds": 3.2,
    }
    assert "FAIL chapters/01-tensors/01-tensors.ipynb" in capsys.readouterr().out
