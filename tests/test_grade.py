"""`torchcourse grade`: a synthetic class of 15 students on chapters 00-02, graded exactly.

The class covers complete, partial and empty workspaces, wrong answers from wrong_00.py, four
kinds of tampering (none of which may change a grade, each named), and the faults a notebook
can have: an answer that never returns, a fork bomb (bounded), a huge allocation, a kernel
that dies, a write outside the scratch folder and a corrupt file; one workspace is zh-CN.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
import shutil
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from matplotlib import font_manager

from torchcourse import grade_report
from torchcourse.grade import Limits, grade, grade_class
from torchcourse.grade_cells import (
    CHANGED_AT_RUN_TIME,
    EDITED_CHECK,
    FAKE_VERDICTS,
    INTERPRETER,
    PATCHES_COURSE,
    REDEFINES_CHECK,
)
from torchcourse.i18n import use_language
from torchcourse.manifest import load_course

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
LESSONS = ["00", "01", "02"]
P, F, NA, NG = "passed", "failed", "not attempted", "not graded"
# The endless-loop student burns its whole check time: 4 s shows the loop as well as 10 would,
# and leaves a real check (well under a second here) room on a loaded machine.
LIMITS = Limits(notebook_seconds=120, check_seconds=4, memory=2**30, processes=8)


def wrong_answer(exercise_id: str, label: str, name: str) -> str:
    """The source of a typical mistake from tests/wrong_NN.py, bound to the answer's name."""
    path = TESTS / f"wrong_{exercise_id[:2]}.py"
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple) and len(node.elts) == 3:
            first, answer = node.elts[0], node.elts[1]
            if isinstance(first, ast.Constant) and first.value == label:
                if isinstance(answer, ast.Name):
                    source = ast.get_source_segment(text, functions[answer.id])
                    return f"import torch\n\n{source}\n\n{name} = {answer.id}\n"
                return f"{name} = {ast.get_source_segment(text, answer)}\n"
    raise KeyError(label)


def _course_nb(lesson_id: str, language: str = "en") -> nbformat.NotebookNode:
    lesson = load_course(ROOT / "lessons.yml").lesson(lesson_id)
    path = ROOT / lesson.notebook
    if language != "en":
        path = ROOT / "zh-CN" / lesson.notebook
    return nbformat.read(path, as_version=4)


def _solution_cell(lesson_id: str, exercise_id: str) -> str:
    lesson = load_course(ROOT / "lessons.yml").lesson(lesson_id)
    cells = nbformat.read(ROOT / lesson.solution, as_version=4).cells
    index = next(i for i, c in enumerate(cells) if c.source.startswith(f'check("{exercise_id}"'))
    return cells[index - 1].source


def _check_index(nb, exercise_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.source.startswith(f'check("{exercise_id}"'))


def notebook(lesson_id: str, answers: dict | None = None, language="en", extra=(), edit=None):
    """A student's notebook: the course's, with answers (exercise id -> source, or "solution")
    in the exercise cells, extra code cells added after the imports, and edit(nb) applied."""
    nb = _course_nb(lesson_id, language)
    for exercise_id, source in (answers or {}).items():
        if source == "solution":
            source = _solution_cell(lesson_id, exercise_id)
        nb.cells[_check_index(nb, exercise_id) - 1].source = source
    imports = next(i for i, c in enumerate(nb.cells) if "from torchcourse import" in c.source)
    for offset, source in enumerate(extra, 1):
        nb.cells.insert(imports + offset, nbformat.v4.new_code_cell(source))
    if edit:
        edit(nb)
    return nb


def workspace(folder: Path, notebooks: dict, language: str | None = None, loose=False) -> None:
    """A student's entry: a workspace/ (as `start` makes it) or loose notebooks."""
    course = load_course(ROOT / "lessons.yml")
    base = folder if loose else folder / "workspace"
    for lesson in course.lessons[:3]:
        nb = notebooks.get(lesson.id) or _course_nb(lesson.id, language or "en")
        path = (
            base / f"{lesson.name}.ipynb" if loose else base / lesson.name / f"{lesson.name}.ipynb"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(nb, str):
            path.write_text(nb, encoding="utf-8")
        else:
            nbformat.write(nb, path)
    if language:
        (base / ".torchcourse.json").write_text(json.dumps({"lang": language}), encoding="utf-8")


def _edit_check(nb):
    nb.cells[_check_index(nb, "00.ex1")].source = 'check("00.ex1", lambda c: c * 9 / 5 + 32)'


PATCH_IN_A_CELL = """import torchcourse.checks.core as core
from torchcourse.checks.core import PASSED, Result
core.run_check = lambda exercise_id, answer, record=True: Result(exercise_id, PASSED)"""
PATCH_IN_THE_ANSWER = """import torchcourse.checks.expect as expect
expect.expect_tensor = lambda *args, **kwargs: None

def fahrenheit(celsius):
    return celsius + 273.15
"""
LOOPS = "def fahrenheit(celsius):\n    while True:\n        pass\n"
FORKS = """import os, time
for _ in range(40):
    if os.fork() == 0:
        time.sleep(30)
        os._exit(0)"""
ALLOCATES = "import torch\n\nhoard = torch.empty(3 * 2**30, dtype=torch.uint8)"
DIES = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"


def build_class(folder: Path) -> dict[str, Path]:
    """The class; returns where the faulty students would write."""
    solved = {i: "solution" for i in ("00.ex1", "00.ex2")}
    ex1 = {"00.ex1": "solution"}
    fake_check = 'def check(exercise_id, answer):\n    print(f"✅ {exercise_id} passed.")'
    students = {
        "complete": {
            "00": notebook("00", solved),
            "01": notebook("01", {f"01.ex{k}": "solution" for k in range(1, 7)}),
            "02": notebook("02", {f"02.ex{k}": "solution" for k in range(1, 6)}),
        },
        "partial": {"00": notebook("00", ex1)},
        "empty": {},
        "wrong": {
            "00": notebook(
                "00",
                {
                    "00.ex1": wrong_answer("00.ex1", "formula upside down", "fahrenheit"),
                    "00.ex2": wrong_answer("00.ex2", "if instead of while", "triple_until"),
                },
            )
        },
        "redefines-check": {"00": notebook("00", extra=[fake_check])},
        "fake-verdicts": {"00": notebook("00", extra=['print("✅ 00.ex1 passed.")'])},
        "edits-check-cell": {
            "00": notebook(
                "00",
                {"00.ex1": wrong_answer("00.ex1", "forgets the offset", "fahrenheit")},
                edit=_edit_check,
            )
        },
        "patches-checks": {
            "00": notebook(
                "00",
                {
                    "00.ex1": PATCH_IN_THE_ANSWER,
                    "00.ex2": wrong_answer("00.ex2", "doubles instead", "triple_until"),
                },
                extra=[PATCH_IN_A_CELL],
            )
        },
        "endless-loop": {"00": notebook("00", {"00.ex1": LOOPS, "00.ex2": "solution"})},
        "fork-bomb": {"00": notebook("00", solved, extra=[FORKS])},
        "huge-allocation": {"00": notebook("00", solved, extra=[ALLOCATES])},
        "kills-kernel": {"00": notebook("00", solved, extra=[DIES])},
        "corrupt": {"00": '{"cells": [ this is not json'},
    }
    for name, notebooks in students.items():
        workspace(folder / name, notebooks)
    zh = {
        "00": notebook(
            "00",
            {
                "00.ex1": "solution",
                "00.ex2": wrong_answer("00.ex2", "<= instead of <", "triple_until"),
            },
            language="zh_CN",
        )
    }
    workspace(folder / "zh-cn", zh, language="zh_CN")
    target = folder / "writes-outside" / "hacked.txt"
    writes = f"open({str(target)!r}, 'w').write('graded!')"
    workspace(folder / "writes-outside", {"00": notebook("00", solved, extra=[writes])}, loose=True)
    # One student hands in a zip (an LMS export).
    shutil.make_archive(str(folder / "zipped"), "zip", folder / "wrong")
    shutil.rmtree(folder / "wrong")
    (folder / "zipped.zip").rename(folder / "wrong.zip")
    return {"writes-outside": target}


def _digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def _row(student, statuses, flags=""):
    ids = ["00.ex1", "00.ex2", *(f"01.ex{k}" for k in range(1, 7))] + [
        f"02.ex{k}" for k in range(1, 6)
    ]
    full = dict.fromkeys(ids, NA)
    full.update(statuses)
    counts = [sum(s == status for s in full.values()) for status in (P, F, NA, NG)]
    return [student, *full.values(), *map(str, counts), flags]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    out = tmp_path_factory.mktemp("grades")
    targets = build_class(folder)
    before = _digest(folder)
    assert grade(load_course(ROOT / "lessons.yml"), folder, LESSONS, out, 2, LIMITS) == 0
    return folder, out, targets, before


def test_the_gradebook_is_exactly_right(graded):
    _folder, out, _targets, _before = graded
    with (out / "gradebook.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    both_ng = {"00.ex1": NG, "00.ex2": NG}
    complete = {"00.ex1": P, "00.ex2": P}
    complete.update({f"01.ex{k}": P for k in range(1, 7)})
    complete.update({f"02.ex{k}": P for k in range(1, 6)})
    patched = " ".join(f"00:{flag}" for flag in sorted([CHANGED_AT_RUN_TIME, PATCHES_COURSE]))
    expected = [
        _row("complete", complete),
        _row("corrupt", both_ng),
        _row("edits-check-cell", {"00.ex1": F}, f"00:{EDITED_CHECK}"),
        _row("empty", {}),
        _row("endless-loop", {"00.ex1": F, "00.ex2": P}),
        _row("fake-verdicts", {}, f"00:{FAKE_VERDICTS}"),
        _row("fork-bomb", both_ng, f"00:{INTERPRETER}"),
        _row("huge-allocation", both_ng),
        _row("kills-kernel", both_ng),
        _row("partial", {"00.ex1": P}),
        _row("patches-checks", {"00.ex1": F, "00.ex2": F}, patched),
        _row("redefines-check", {}, f"00:{FAKE_VERDICTS} 00:{REDEFINES_CHECK}"),
        _row("writes-outside", both_ng),
        _row("wrong", {"00.ex1": F, "00.ex2": F}),
        _row("zh-cn", {"00.ex1": P, "00.ex2": F}),
    ]
    assert rows[0][:3] == ["student", "00.ex1", "00.ex2"]
    assert rows[0][-5:] == [P, F, NA, NG, "flags"]
    assert rows[1:] == expected, "\n".join(",".join(row) for row in rows)


def test_a_notebook_with_no_answer_is_not_run(tmp_path):
    """Its verdicts are "not attempted" whatever its cells would do: this one kills its kernel."""
    workspace(tmp_path / "idle", {"00": notebook("00", extra=[DIES])})
    lesson = load_course(ROOT / "lessons.yml").lesson("00")
    (graded,) = grade_class(load_course(ROOT / "lessons.yml"), tmp_path, ["00"], 1, LIMITS)
    assert {v.status for v in graded.verdicts.values()} == {NA}
    assert set(graded.verdicts) == set(lesson.exercise_ids()) and graded.note == ""


def test_no_submission_was_written(graded):
    folder, _out, targets, before = graded
    assert _digest(folder) == before
    assert not targets["writes-outside"].exists()


def test_feedback_names_each_fault_and_speaks_the_students_language(graded):
    _folder, out, _targets, _before = graded
    feedback = {p.stem: p.read_text(encoding="utf-8") for p in (out / "feedback").glob("*.md")}
    assert len(feedback) == 15
    assert "Hint 1/" in feedback["wrong"] and "wrong values" in feedback["wrong"]
    assert "an endless loop" in feedback["endless-loop"]
    assert "fork bomb" in feedback["fork-bomb"]
    assert "memory" in feedback["huge-allocation"]
    assert "kernel died" in feedback["kills-kernel"]
    assert "outside its scratch folder" in feedback["writes-outside"]
    assert "not a valid notebook" in feedback["corrupt"]
    assert "edited a check cell" in feedback["edits-check-cell"]
    assert "redefines `check`" in feedback["redefines-check"]
    assert "通过" in feedback["zh-cn"] and "提示" in feedback["zh-cn"]


def test_the_class_report_shows_rates_diagnoses_and_a_plot(graded):
    _folder, out, _targets, _before = graded
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in report
    assert "wrong values" in report  # the most frequent diagnosis of 00.ex1
    assert "patches-checks" in report and "fork-bomb" in report


@pytest.mark.parametrize("fonts", [grade_report.CJK_FONTS, ("No Such Font",)], ids=["cjk", "none"])
def test_a_chinese_class_report_plots_without_warnings(monkeypatch, fonts):
    """With a Chinese font the y label is Chinese; without one it stays English (no boxes)."""
    monkeypatch.setattr(grade_report, "CJK_FONTS", fonts)
    with use_language("zh_CN"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        label, _fonts = grade_report._y_label()
        assert grade_report._plot({"00.ex1": Counter(passed=2, failed=1)}, 3)
    installed = {font.name for font in font_manager.fontManager.ttflist}
    chinese = any(name in installed for name in fonts)
    assert label == ("学生比例" if chinese else "share of students")


def test_an_empty_class_folder_is_one_clear_error(tmp_path, capsys):
    from torchcourse import cli

    (tmp_path / "class").mkdir()
    out = str(tmp_path / "out")
    assert cli.main(["grade", str(tmp_path / "class"), "00", "--out", out]) == 1
    err = capsys.readouterr().err
    assert "holds no submissions" in err and "Traceback" not in err


def test_out_inside_the_submissions_is_refused(tmp_path, capsys):
    from torchcourse import cli

    (tmp_path / "someone").mkdir()
    assert cli.main(["grade", str(tmp_path), "00", "--out", str(tmp_path / "grades")]) == 1
    assert "never writes" in capsys.readouterr().err


def test_the_zip_is_read_in_place(tmp_path):
    folder = tmp_path / "class"
    workspace(folder / "ann", {"00": notebook("00", {"00.ex1": "solution"})})
    shutil.make_archive(str(tmp_path / "ann"), "zip", folder / "ann")
    shutil.rmtree(folder / "ann")
    shutil.move(str(tmp_path / "ann.zip"), folder / "ann.zip")
    from torchcourse.submissions import submissions

    (student,) = submissions(folder)
    lesson = load_course(ROOT / "lessons.yml").lesson("00")
    assert student.name == "ann"
    assert student.notebook(lesson) == "workspace/00-welcome/00-welcome.ipynb"
    assert zipfile.is_zipfile(folder / "ann.zip")
