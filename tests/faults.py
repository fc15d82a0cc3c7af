"""Helpers for the fault tests: folders nobody may write to, even when the tests run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest


def _chattr(flag: str, path: Path) -> bool:
    tool = shutil.which("chattr")
    if tool is None:
        return False
    return subprocess.run([tool, flag, str(path)], capture_output=True).returncode == 0


@contextlib.contextmanager
def read_only(path: Path):
    """path (a folder) cannot be written into inside the block: mode 0555, and for root, who
    ignores modes, the immutable attribute; skips the test where neither can be had."""
    mode = path.stat().st_mode
    path.chmod(0o555)
    immutable = hasattr(os, "geteuid") and os.geteuid() == 0
    try:
        if immutable and not _chattr("+i", path):
            pytest.skip("running as root without chattr: cannot make a folder read-only")
        yield path
    finally:
        if immutable:
            _chattr("-i", path)
        path.chmod(stat.S_IMODE(mode))


def one_line(text: str) -> str:
    """The text's only line; fails when it has more (or none)."""
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    assert "Traceback" not in text
    return lines[0]
