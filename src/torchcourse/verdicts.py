"""What a check says about one exercise: a status and the line the learner sees.

Kept apart from the checks, which need torch: `progress` and `grade` read verdicts without it.
"""

from __future__ import annotations

from dataclasses import dataclass

from torchcourse.i18n import _, join

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


@dataclass(frozen=True)
class Result:
    exercise_id: str
    status: str
    message: str = ""  # passed: a note; failed: what is wrong (never the solution)
    hint: str = ""  # failed: the rung of the hint ladder this failure shows
    rung: int = 0
    rungs: int = 0
    diagnosed: bool = False  # hint answers the diagnosed mistake, not a rung of the ladder

    def line(self) -> str:
        """The one line the learner sees."""
        if self.status == PASSED:
            if self.message:
                return _("✅ {id} passed: {note}").format(id=self.exercise_id, note=self.message)
            return _("✅ {id} passed.").format(id=self.exercise_id)
        if self.status == NOT_ATTEMPTED:
            return _(
                "⏳ {id} not attempted yet: replace the `raise NotImplementedError` line with "
                "your code, run that cell, then this one."
            ).format(id=self.exercise_id)
        return _("❌ {id} failed: {problem}. {hint}").format(
            id=self.exercise_id, problem=self.message, hint=_hint_text(self)
        )


def _hint_text(result: Result) -> str:
    if result.diagnosed:
        return join(
            _("Hint: {hint}").format(hint=result.hint),
            _('(`hint("{id}")` gives the next one.)').format(id=result.exercise_id),
        )
    text = _("Hint {rung}/{rungs}: {hint}").format(
        rung=result.rung, rungs=result.rungs, hint=result.hint
    )
    if result.rung < result.rungs:
        text = join(text, _('(`hint("{id}")` gives the next one.)').format(id=result.exercise_id))
    return text
