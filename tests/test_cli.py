"""The command line: one clear line and exit 1 for every user error."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from faults import one_line, read_only

import torchcourse.device
import torchcourse.doctor
from torchcourse import cli, verify
from torchcourse.manifest import load_course

ROOT = Path(__file__).resolve().parents[1]


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


@pytest.mark.parametrize("kind", ["cuda", "mps", "xpu"])
def test_doctor_names_the_accelerator_torch_finds(monkeypatch, capsys, kind):
    found = torch.device(kind)
    monkeypatch.setattr(torch.accelerator, "current_accelerator", lambda check_available: found)
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1)
    monkeypatch.setattr(torchcourse.doctor, "device_name", lambda device: f"a {device} device")
    cli.main(["doctor"])
    out = capsys.readouterr().out
    assert f"accelerator  {kind}: a {kind}:0 device; pick_device() gives {kind}\n" in out


def test_unknown_lesson_is_one_line(capsys):
    assert cli.main(["verify", "42"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no lesson '42'" in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--device", "cuda"],
            "--device asks for cuda, but this machine has no usable accelerator",
        ),
        (["--device", "mps"], "--device asks for mps, but this machine has no usable accelerator"),
        (["--device", "tpu"], "--device='tpu' is not a device PyTorch knows"),
    ],
)
def test_an_absent_or_unknown_device_is_one_line_before_anything_runs(
    monkeypatch, capsys, argv, words
):
    monkeypatch.setattr(torchcourse.device, "accelerator", lambda: None)
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    assert cli.main(["verify", *argv, "01"]) == 1
    assert words in one_line(capsys.readouterr().err)


def test_any_accelerator_pytorch_knows_is_verified_and_recorded(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(torchcourse.device, "accelerator", lambda: torch.device("mps"))
    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    _notebooks(tmp_path, "01")
    forced = []

    def fake_nbval(path, device, root):
        forced.append(device)
        return True, 1.0, ""

    monkeypatch.setattr(verify, "run_nbval", fake_nbval)
    assert cli.main(["verify", "--device", "MPS", "--record", "01"]) == 0
    assert forced == ["mps", "mps"]
    record = json.loads((tmp_path / "verification" / "01-mps.json").read_text())
    assert record["device"] == "mps" and record["passed"] is True
    assert "Verifying 1 lesson(s) on mps" in capsys.readouterr().out


def test_a_device_index_past_the_last_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(torchcourse.device, "accelerator", lambda: torch.device("cuda"))
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1)
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    assert cli.main(["verify", "--device", "cuda:1", "01"]) == 1
    assert "asks for cuda:1, but this machine has 1 cuda device(s)" in one_line(
        capsys.readouterr().err
    )


def _notebooks(root: Path, *lesson_ids: str) -> None:
    """Empty stand-ins for the lessons' notebooks (the tests fake nbval itself)."""
    for lesson in load_course().lessons:
        if lesson.id in lesson_ids:
            for rel in (lesson.solution, lesson.notebook):
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_text("{}")


def _no_nbval(*args, **kwargs):
    raise AssertionError("nothing may run when a problem can be seen before")


def test_verify_records_each_notebook(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    _notebooks(tmp_path, "01")
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


def test_verify_into_a_read_only_folder_stops_before_running(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    _notebooks(tmp_path, "01")
    (tmp_path / "verification").mkdir()
    with read_only(tmp_path / "verification"):
        assert cli.main(["verify", "--record", "01"]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("torchcourse verify: cannot write the records into ")
    assert "(nothing was run)" in line


def test_verify_with_a_missing_notebook_says_so_first(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    _notebooks(tmp_path, "01", "02")
    (tmp_path / "chapters" / "02-numpy-interop" / "02-numpy-interop.ipynb").unlink()
    assert cli.main(["verify", "01", "02"]) == 1
    captured = capsys.readouterr()
    assert one_line(captured.err) == (
        "torchcourse verify: chapters/02-numpy-interop/02-numpy-interop.ipynb is missing: "
        "generate it with `python -m torchcourse chapters 02` (nothing was run)."
    )
    assert "compared-output ratio" not in captured.out


def test_a_failure_report_leaves_out_the_ratio_table():
    output = "E   cell 3 differs\n1 failed\n===== nbval compared-output ratio =====\n  a  1/1\n"
    assert verify._tail(output) == ["E   cell 3 differs", "1 failed"]


@pytest.fixture
def lesson_copy(tmp_path, monkeypatch):
    """A course folder with lessons.yml and lesson 00's notebooks."""
    shutil.copy(ROOT / "lessons.yml", tmp_path)
    for folder in ("solutions", "chapters"):
        shutil.copytree(ROOT / folder / "00-welcome", tmp_path / folder / "00-welcome")
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("damage", ["missing", "a folder"])
def test_chapters_without_the_solution_is_one_line(lesson_copy, capsys, damage):
    path = lesson_copy / "solutions" / "00-welcome" / "00-welcome.ipynb"
    path.unlink()
    if damage == "a folder":
        path.mkdir()
    assert cli.main(["chapters", "00"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "solutions/00-welcome/00-welcome.ipynb is missing" in line and "restore it" in line


def test_chapters_over_a_corrupt_student_notebook_is_one_line(lesson_copy, capsys):
    path = lesson_copy / "chapters" / "00-welcome" / "00-welcome.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    assert cli.main(["chapters", "00"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "was edited by hand" in line and "--force" in line
    assert path.read_text(encoding="utf-8") == '{"cells": ['


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        ([], "the following arguments are required: command"),
        (["lsit"], "argument command: invalid choice: 'lsit'"),
        (["verify", "--device"], "argument --device: expected one argument"),
        (["start", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_a_usage_error_is_one_line_and_status_1(argv, words, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.main(argv)
    assert stopped.value.code == 1
    line = one_line(capsys.readouterr().err)
    assert words in line and line.endswith("--help`.")


def test_verify_record_refreshes_the_readme_summary(monkeypatch, tmp_path, capsys):
    from torchcourse.records import README_END, README_START

    monkeypatch.setattr(verify, "course_root", lambda: tmp_path)
    _notebooks(tmp_path, "01")
    (tmp_path / "README.md").write_text(f"intro\n{README_START}\nstale\n{README_END}\n")
    monkeypatch.setattr(verify, "run_nbval", lambda path, device, root: (True, 1.0, ""))
    assert cli.main(["verify", "--record", "01"]) == 0
    text = (tmp_path / "README.md").read_text()
    assert "stale" not in text and "- Verified on CPU: chapters 01 of" in text
    assert "verification summary updated" in capsys.readouterr().out


def test_verify_on_the_meta_device_says_it_cannot_run_notebooks(monkeypatch, capsys):
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    assert cli.main(["verify", "--device", "meta", "01"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "meta is not a device that can run notebooks" in line
    assert "accelerator" in line and "no usable accelerator" not in line


def test_progress_names_a_workspace_that_is_a_file(tmp_path, monkeypatch, capsys):
    from fake_course import make_course

    make_course(tmp_path, [("01", "alpha", 1)])
    (tmp_path / "workspace").write_text("my notes")
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    assert cli.main(["progress"]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"{tmp_path / 'workspace'} is a file, not your workspace folder" in line


def test_progress_names_a_missing_workspace_where_it_was_looked_for(tmp_path, monkeypatch, capsys):
    from fake_course import make_course

    make_course(tmp_path, [("01", "alpha", 1)])
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    missing = tmp_path / "elsewhere" / "ws"
    assert cli.main(["progress", "--workspace", str(missing)]) == 1
    line = one_line(capsys.readouterr().err)
    assert f"there is no workspace {missing} yet" in line
    assert f"torchcourse start --workspace {missing}" in line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["progress", "--workspace", "/nonexistent/ws"], "还没有工作区 /nonexistent/ws"),
        (["lab", "--no-browser"], "JupyterLab 的选项要写在 `--` 之后"),
        (["verify", "--device", "meta", "01"], "meta 不是能运行笔记本的设备"),
    ],
)
def test_messages_speak_chinese_with_the_variable(tmp_path, monkeypatch, capsys, argv, words):
    from fake_course import make_course

    from torchcourse import i18n

    make_course(tmp_path, [("01", "alpha", 1)])
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    monkeypatch.setenv(i18n.LANG_ENV, "zh_CN")
    monkeypatch.setattr(verify, "run_nbval", _no_nbval)
    assert cli.main(argv) == 1
    assert words in one_line(capsys.readouterr().err)


def fresh_python(code: str) -> str:
    """What code prints in a new interpreter (the imports of this test process do not count)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_package_and_the_command_line_start_without_torch():
    """check, hint and pick_device load torch on first use; the CLI's start does not need it."""
    fresh_python(
        "import sys, torchcourse, torchcourse.cli\n"
        "assert 'torch' not in sys.modules, 'torch imported at start'\n"
        "assert {'check', 'hint', 'pick_device'} <= set(dir(torchcourse))\n"
        "from torchcourse import check, hint, pick_device\n"
        "assert 'torch' in sys.modules and callable(check) and callable(pick_device)\n"
    )


def test_progress_and_grade_read_verdicts_without_torch():
    """They run notebooks in kernels; importing torch themselves would cost every run a second."""
    code = "import sys, torchcourse.progress, torchcourse.grade; print('torch' in sys.modules)"
    assert fresh_python(code).split() == ["False"]


def test_the_command_line_skips_jsonschema_s_slow_iri_parsers_and_still_validates():
    """Blocking rfc3987-syntax made `torchcourse --help` start in 0.3 s instead of 1.3 s."""
    notebook = ROOT / "solutions" / "00-welcome" / "00-welcome.ipynb"
    printed = fresh_python(
        "import sys, torchcourse.cli, nbformat\n"
        "assert sys.modules['rfc3987_syntax'] is None, 'the Lark parsers were built'\n"
        f"nb = nbformat.read({str(notebook)!r}, 4)\n"
        "nbformat.validate(nb)\n"
        "del nb.cells[0]['cell_type']\n"
        "try:\n"
        "    nbformat.validate(nb)\n"
        "except nbformat.ValidationError:\n"
        "    print('invalid notebook caught')\n"
    )
    assert printed.split() == ["invalid", "notebook", "caught"]
