"""`torchcourse lab`: the learner's workspace, then JupyterLab on it (what `make lab` does,
without make: Windows learners get the same command)."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from torchcourse.errors import CourseError
from torchcourse.i18n import LANG_ENV, SOURCE_LANGUAGE, _, normalize
from torchcourse.manifest import Course
from torchcourse.paths import course_root
from torchcourse.workspace import start, workspace_dir, workspace_language


def is_root() -> bool:
    """True for the superuser (Docker, many cloud machines), whom Jupyter refuses by default."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def jupyter_command(workspace: Path, extra: list[str]) -> list[str]:
    """The JupyterLab command line for the workspace (`--allow-root` when run as root)."""
    command = [sys.executable, "-m", "jupyterlab", str(workspace)]
    if is_root() and "--allow-root" not in extra:
        command.append("--allow-root")
    return command + extra


def check_jupyter_args(extra: list[str]) -> None:
    """A CourseError (one line) when JupyterLab would refuse its options: it parses them the
    way JupyterLab will, instead of printing its whole usage text."""
    import contextlib
    import io

    from jupyterlab.labapp import LabApp

    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
            LabApp().parse_command_line(extra)
    except SystemExit as done:
        if done.code in (0, None):  # --help, --version: JupyterLab answers them itself
            return
        lines = said.getvalue().strip().splitlines()
        reason = lines[-1].split("error: ", 1)[-1] if lines else ""
        raise CourseError(
            _(
                "JupyterLab refuses {args} ({reason}): see `python -m jupyterlab --help` for "
                "its options."
            ).format(args=" ".join(extra), reason=reason)
        ) from None


def launch(command: list[str]) -> int:
    """Run JupyterLab in place of this process where possible, so Ctrl-C reaches it alone."""
    if os.name == "posix":
        os.execv(command[0], command)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Windows: JupyterLab handles it
    try:
        return subprocess.run(command).returncode
    finally:
        signal.signal(signal.SIGINT, previous)


def lab(
    course: Course,
    workspace: Path | None = None,
    extra: list[str] | None = None,
    language: str | None = None,
) -> int:
    """Create or update the workspace (edited notebooks are kept), then open JupyterLab there.

    JupyterLab and its kernels get $TORCHCOURSE_LANG set to the workspace's language, so the
    checks speak it.
    """
    if importlib.util.find_spec("jupyterlab") is None:
        raise CourseError(
            _(
                'JupyterLab is not installed: `pip install "torchcourse[tools]"` (or open the '
                "notebooks in your own Jupyter)."
            )
        )
    check_jupyter_args(extra or [])
    root = course_root()
    workspace = workspace or workspace_dir(root)
    start(course, update=True, root=root, workspace=workspace, language=language)
    chosen = workspace_language(workspace) or SOURCE_LANGUAGE
    if chosen != SOURCE_LANGUAGE and not normalize(os.environ.get(LANG_ENV, "")):
        os.environ[LANG_ENV] = chosen  # $TORCHCOURSE_LANG, when set, comes first
    return launch(jupyter_command(workspace, extra or []))
