"""One-line errors for learners: no wall of traceback in a notebook or a terminal."""


class CourseError(Exception):
    """A problem the learner can fix; its message says what is wrong and how to fix it."""

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of printing the traceback.
        return [f"{type(self).__name__}: {self}"]
