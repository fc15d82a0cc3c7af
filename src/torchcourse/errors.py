"""One-line errors for learners: no wall of traceback in a notebook or a terminal.

IPython shows a CourseError through `_render_traceback_`; plain Python (`python -c`, a script)
through the hook below, installed when no other program has replaced Python's own: one line,
`DatasetError: ...`, and exit status 1. Every other exception keeps its traceback.
"""

from __future__ import annotations

import sys


class CourseError(Exception):
    """A problem the learner can fix; its message says what is wrong and how to fix it."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the traceback.
        return [f"{type(self).__name__}: {self}"]


def _excepthook(kind, value, traceback, previous=sys.__excepthook__) -> None:
    if isinstance(value, CourseError):
        print(f"{kind.__name__}: {value}", file=sys.stderr)
    else:
        previous(kind, value, traceback)


if sys.excepthook is sys.__excepthook__:
    sys.excepthook = _excepthook
