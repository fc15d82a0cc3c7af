"""The check machinery: a registry of exercises and `check`, which prints one line."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

from torchcourse.errors import CourseError

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


class Mismatch(Exception):
    """The answer is wrong; the message says how, in a phrase a learner can act on."""


@dataclass(frozen=True)
class Exercise:
    id: str
    hint: str
    verify: Callable[[object], str | None]


@dataclass(frozen=True)
class Result:
    exercise_id: str
    status: str
    message: str = ""

    def line(self) -> str:
        """The one line the learner sees."""
        if self.status == PASSED:
            return f"✅ {self.exercise_id} passed{': ' + self.message if self.message else '.'}"
        if self.status == NOT_ATTEMPTED:
            return (
                f"⏳ {self.exercise_id} not attempted yet: replace the `raise "
                "NotImplementedError` line with your code, run that cell, then this one."
            )
        return f"❌ {self.exercise_id} failed: {self.message}"


REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, hint: str):
    """Register `verify(answer)` as the checker of exercise_id (e.g. "03.ex2").

    verify raises Mismatch for a wrong answer and may return a short note for the pass line.
    """

    def register(verify: Callable[[object], str | None]):
        if exercise_id in REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        REGISTRY[exercise_id] = Exercise(exercise_id, hint, verify)
        return verify

    return register


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _sentence(text: object) -> str:
    """text as the first part of a one-line message, ending without a full stop."""
    return _one_line(text).rstrip(".")


def _import_chapter(exercise_id: str) -> None:
    """Import the checkers of the exercise's chapter (checks/chNN.py), if there is one."""
    module = f"{__package__}.ch{exercise_id.split('.')[0]}"
    if exercise_id[:2].isdigit() and importlib.util.find_spec(module) is not None:
        importlib.import_module(module)


def run_check(exercise_id: str, answer: object) -> Result:
    """Check answer against exercise_id without printing; never raises for a bad answer."""
    _import_chapter(exercise_id)
    if exercise_id not in REGISTRY:
        raise CourseError(f"there is no exercise {exercise_id!r}: check the id in this cell.")
    ex = REGISTRY[exercise_id]
    try:
        # The learner's prints and warnings would break the one-line promise: hold them back.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            note = ex.verify(answer)
    except NotImplementedError:
        return Result(exercise_id, NOT_ATTEMPTED)
    except Mismatch as wrong:
        return Result(exercise_id, FAILED, f"{_sentence(wrong)}. Hint: {_one_line(ex.hint)}")
    except RecursionError:
        return Result(
            exercise_id, FAILED, _one_line(f"your code recursed forever. Hint: {ex.hint}")
        )
    except Exception as err:  # the learner's code raised: report it, never a traceback
        message = f"your code raised {type(err).__name__}: {_sentence(err)}"
        return Result(exercise_id, FAILED, f"{message}. Hint: {_one_line(ex.hint)}")
    return Result(exercise_id, PASSED, _one_line(note or ""))


def check(exercise_id: str, answer: object) -> None:
    """Print exactly one line: passed, failed (what is wrong and a hint) or not attempted yet."""
    print(run_check(exercise_id, answer).line())
