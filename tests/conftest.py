"""Shared fixtures, and a report of how much of each notebook nbval really compares."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_facts import compared_counts

from torchcourse.manifest import load_course

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Start nbval's kernels up to three times.

    jupyter_client picks a kernel's ports and the kernel binds them a moment later; a test that
    binds a free port meanwhile (torch.distributed, the site server) can take one, and the
    kernel then dies before replying to kernel_info (seen once in the full suite). A kernel
    that cannot start for any other reason still fails, three times.
    """
    import nbval.kernel

    start = nbval.kernel.start_new_kernel

    def start_new_kernel(*args, **kwargs):
        for attempt in range(3):
            try:
                return start(*args, **kwargs)
            except RuntimeError:
                if attempt == 2:
                    raise

    nbval.kernel.start_new_kernel = start_new_kernel


@pytest.fixture(scope="session")
def course():
    return load_course(ROOT / "lessons.yml")


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel test_packaging.course_wheel gives: built once for every test that installs it
    (test_packaging.py, test_setup_install.py)."""
    from test_packaging import course_wheel

    return course_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(autouse=True)
def fresh_hint_ladders():
    """Each test starts like a new notebook session: no hints shown, nothing passed."""
    from torchcourse.checks import reset_hints  # here: pytest-xdist's controller needs no torch

    reset_hints()
    yield
    reset_hints()


def pytest_terminal_summary(terminalreporter):
    """Print the share of output-producing code cells whose outputs nbval compares."""
    try:
        lessons = load_course(ROOT / "lessons.yml").lessons
    except Exception:
        return
    rows, total_compared, total = [], 0, 0
    for lesson in lessons:
        for rel in (lesson.solution, lesson.notebook):
            if (ROOT / rel).is_file():
                compared, count = compared_counts(ROOT / rel)
                total_compared, total = total_compared + compared, total + count
                rows.append(f"  {rel:<60} {compared:>3}/{count:<3} {compared / max(count, 1):6.1%}")
    if total:
        terminalreporter.section("nbval compared-output ratio")
        for row in rows:
            terminalreporter.write_line(row)
        terminalreporter.write_line(
            f"  {'all notebooks':<60} {total_compared:>3}/{total:<3} {total_compared / total:6.1%}"
        )
