"""The one notebook runner that `progress` and `grade` share: run a notebook's cells in a
fresh kernel within one time budget, keep going past errors, kill the kernel's processes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from torchcourse.i18n import _


def _kernel_pid(client: NotebookClient) -> int | None:
    provisioner = getattr(client.km, "provisioner", None)
    return getattr(provisioner, "pid", None)


def _kill(pid: int | None) -> None:
    """Kill a kernel and whatever it started (it leads its own process group)."""
    if pid is None:
        return
    with contextlib.suppress(OSError):
        if hasattr(os, "killpg"):
            os.killpg(pid, signal.SIGKILL)
        else:  # Windows
            os.kill(pid, signal.SIGTERM)


def run_notebook(
    nb: nbformat.NotebookNode,
    folder: Path,
    timeout: float,
    preamble: str = "",
    env: dict[str, str] | None = None,
) -> tuple[str, int]:
    """Execute nb in a fresh kernel within timeout seconds in all; keep going past errors.

    preamble: code the kernel runs first, outside the notebook (grade's limits); env: the
    kernel's environment (default: this process's). Returns (problem, index of the cell it
    happened in): ("", -1) when every cell ran. Ctrl-C (KeyboardInterrupt) kills the kernel
    and propagates. The kernel's process group is killed at the end, so nothing it started
    outlives the run.
    """
    client = NotebookClient(
        nb,
        kernel_name="python3",
        allow_errors=True,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
    )
    extra = {"env": env} if env is not None else {}
    # The kernel's own log lines (not the notebook's output) would clutter the table.
    with client.setup_kernel(stderr=subprocess.DEVNULL, **extra):
        pid = _kernel_pid(client)
        try:
            if preamble and nb.cells:  # execute_cell stores the cell it runs at the index
                first, client.timeout = nb.cells[0], max(1, int(timeout))
                client.execute_cell(nbformat.v4.new_code_cell(preamble), 0)
                nb.cells[0] = first
            return _run_cells(client, nb, timeout)
        except KeyboardInterrupt:
            _kill(pid)  # before the client's polite shutdown, which would wait for a busy kernel
            raise
        finally:
            if preamble:
                _kill(pid)


def _run_cells(client: NotebookClient, nb: nbformat.NotebookNode, timeout: float):
    """run_notebook's loop over the cells, in a kernel that is already started."""
    deadline = time.monotonic() + timeout  # starting the kernel does not count
    stopped = _("stopped after {seconds:.0f} s (an endless loop?)").format(seconds=timeout)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            return stopped, index
        client.timeout = max(1, int(left + 0.999))
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            return stopped, index
        except DeadKernelError:
            return _("the kernel died (out of memory, or the code exited?)"), index
    return "", -1
