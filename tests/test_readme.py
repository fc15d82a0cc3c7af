"""The README agrees with the course: its chapter table is lessons.yml (minutes and
prerequisites included), its test command sets the thread count the Makefile sets, and its
install line pins this version."""

from __future__ import annotations

import re
from pathlib import Path

import torchcourse
from torchcourse.manifest import load_course

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COURSE = load_course(ROOT / "lessons.yml")
ROW = re.compile(r"^\| (\d\d) \| \[([^\]]+)\]\(([^)]+)\) \| (\d+) \| ([\d, ]*?) ?\|$", re.MULTILINE)


def test_the_chapter_table_is_lessons_yml():
    rows = ROW.findall(README)
    expected = [
        (x.id, x.title, x.notebook, str(x.minutes), ", ".join(x.prerequisites))
        for x in COURSE.lessons
    ]
    assert rows == expected, "README.md's chapter table disagrees with lessons.yml"


def test_every_test_command_sets_one_thread_per_process():
    """The Makefile's OMP_NUM_THREADS=1: without it two kernels on 2 cores train ~10x slower."""
    commands = [line for line in README.splitlines() if "-m pytest" in line]
    assert commands, "the README shows no test command"
    for line in commands:
        assert "OMP_NUM_THREADS=1" in line, line
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "OMP_NUM_THREADS=1 $(BIN)/python -m pytest" in makefile


def test_the_install_lines_pin_this_version():
    pins = re.findall(r"torchcourse==([\w.]+)", README)
    assert pins and set(pins) == {torchcourse.__version__}, pins
    assert "git+https://" not in README, "the course installs from the package index"
