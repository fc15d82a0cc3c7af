"""Hidden temporary files for atomic writes (write, then os.replace), and telling which ones a
killed process left behind: the name carries the writer's process id."""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

STALE_SECONDS = 600  # where the writer cannot be asked (another system), a file this old
_WRITER = re.compile(r"\.(\d+)-[0-9a-f]+\.tmp$")


def tmp_path(target: Path) -> Path:
    """A hidden name beside target for its next version: .<name>.<pid>-<random>.tmp"""
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def _running(pid: int) -> bool | None:
    """Whether process pid runs; None where this cannot be asked (Windows)."""
    if os.name != "posix":
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it runs, as someone else
    return True


def is_stale(tmp: Path) -> bool:
    """True for a temporary file whose writer is gone (it was killed half way)."""
    match = _WRITER.search(tmp.name)
    if match and int(match[1]) != os.getpid():
        running = _running(int(match[1]))
        if running is not None:
            return not running
    try:
        return time.time() - tmp.stat().st_mtime > STALE_SECONDS
    except OSError:
        return False


def remove_stale(pattern_root: Path, pattern: str) -> None:
    """Delete the temporary files matching pattern under pattern_root whose writer is gone."""
    for tmp in pattern_root.glob(pattern):
        try:
            if is_stale(tmp):
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete
