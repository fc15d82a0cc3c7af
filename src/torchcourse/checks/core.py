"""The check machinery: a registry of exercises, `check` (one line) and `hint` (the next rung).

A check runs the learner's answer under PyTorch's defaults (grad mode on, float32, no anomaly
detection, fixed seeds) and gives the learner's session back as it was: its global settings
and its random-number streams. So the verdict depends on the answer alone.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import io
import random
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from torchcourse.errors import CourseError
from torchcourse.i18n import N_, _, join
from torchcourse.verdicts import FAILED, NOT_ATTEMPTED, PASSED, Result

_ID = re.compile(r"^\d\d\.ex\d+$")


class Mismatch(Exception):
    """The answer is wrong; the message says how, in a phrase a learner can act on.

    hint, when given (an English N_() string), answers this very mistake: the failure line
    shows it instead of the exercise's next generic rung.
    """

    def __init__(self, message: object = "", hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Exercise:
    id: str
    hints: tuple[str, ...]  # a nudge first, code last (English; translated when shown)
    verify: Callable[[object], str | None]


REGISTRY: dict[str, Exercise] = {}
_hints_shown: dict[str, int] = {}  # exercise id -> rungs of its ladder shown this session
_passed: set[str] = set()


def exercise(exercise_id: str, hints: Sequence[str]):
    """Register `verify(answer)` as the checker of exercise_id (e.g. "03.ex2").

    hints is the ladder, a conceptual nudge first and the code-level hint last. verify raises
    Mismatch for a wrong answer and may return a short note for the pass line.
    """
    if not hints or any(not isinstance(h, str) or not h.strip() for h in hints):
        raise ValueError(f"exercise {exercise_id} needs a ladder of non-empty hints")

    def register(verify: Callable[[object], str | None]):
        if exercise_id in REGISTRY:
            raise ValueError(f"exercise {exercise_id} is registered twice")
        REGISTRY[exercise_id] = Exercise(exercise_id, tuple(hints), verify)
        return verify

    return register


def reset_hints() -> None:
    """Forget which hints were shown and which exercises passed (a fresh session)."""
    _hints_shown.clear()
    _passed.clear()


def _next_rung(ex: Exercise) -> int:
    rung = min(_hints_shown.get(ex.id, 0) + 1, len(ex.hints))
    _hints_shown[ex.id] = rung
    return rung


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _sentence(text: object) -> str:
    """text as the first part of a one-line message, ending without a full stop."""
    return _one_line(text).rstrip(".。")


def _describe(err: BaseException) -> str:
    """An exception's message, even when its __str__ itself fails."""
    try:
        return _sentence(err)
    except Exception:
        return _("(its message could not be shown)")


def _import_chapter(exercise_id: str) -> None:
    """Import the checkers of the exercise's chapter (checks/chNN.py), if there is one."""
    module = f"{__package__}.ch{exercise_id.split('.')[0]}"
    if importlib.util.find_spec(module) is not None:
        importlib.import_module(module)


def find_exercise(exercise_id: object) -> Exercise:
    """The registered exercise; a CourseError that says how to write the id otherwise."""
    if not isinstance(exercise_id, str):
        raise CourseError(
            _(
                'the first argument must be the exercise id in quotes, such as "03.ex2", '
                "not {kind}: copy it from the exercise's heading."
            ).format(kind=type(exercise_id).__name__)
        )
    if _ID.match(exercise_id):
        _import_chapter(exercise_id)
    if exercise_id not in REGISTRY:
        raise CourseError(
            _("there is no exercise {id}: check the id in this cell.").format(id=repr(exercise_id))
        )
    return REGISTRY[exercise_id]


def _set_deterministic_algorithms(mode: bool, warn_only: bool) -> None:
    """torch.use_deterministic_algorithms(mode, warn_only=...), called only if that changes the
    setting: the call imports torch._inductor, which makes a session's first check 1.5 s slower."""
    current = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    if current != (mode, warn_only):
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)


@contextlib.contextmanager
def known_state() -> Iterator[None]:
    """PyTorch's defaults and fixed seeds inside; the learner's session untouched outside.

    Covers grad and inference mode, the default dtype and device, anomaly detection,
    deterministic algorithms, autocast on the CPU, NumPy's error handling, and the random
    streams of Python, NumPy and torch (on the CPU and an initialised CUDA GPU).
    """
    saved_dtype = torch.get_default_dtype()
    saved_device = torch.get_default_device()
    anomaly = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    deterministic = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    python_state, numpy_state = random.getstate(), np.random.get_state()
    cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with (
            torch.random.fork_rng(devices=cuda),
            torch.inference_mode(False),
            torch.enable_grad(),
            torch.autocast("cpu", enabled=False),
            np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"),
        ):
            torch.set_default_dtype(torch.float32)
            torch.set_default_device(None)
            torch.autograd.set_detect_anomaly(False)
            _set_deterministic_algorithms(False, False)
            torch.manual_seed(0)
            np.random.seed(0)
            random.seed(0)
            yield
    finally:
        torch.set_default_dtype(saved_dtype)
        torch.set_default_device(None if saved_device.type == "cpu" else saved_device)
        torch.autograd.set_detect_anomaly(*anomaly)
        _set_deterministic_algorithms(*deterministic)
        random.setstate(python_state)
        np.random.set_state(numpy_state)


# Exceptions whose raw text puzzles a beginner: (a pattern of the text, what it usually means).
_USUAL_CAUSES = [
    (
        r"shapes cannot be multiplied|size mismatch, m1|inconsistent tensor size",
        N_(
            "That usually means the inner sizes of a matrix product differ: compare the last "
            "size of the left operand with the first size of the right one (a transpose?)"
        ),
    ),
    (
        r"must match the size of tensor",
        N_(
            "That usually means two shapes that cannot broadcast: line them up from the right, "
            "each pair of sizes must be equal or 1"
        ),
    ),
    (
        r"view size is not compatible|use \.reshape\(\.\.\.\) instead",
        N_(
            "That usually means view was called on a non-contiguous tensor (one that was "
            "transposed or permuted): use reshape, which copies when it must"
        ),
    ),
    (
        r"leaf Variable that requires grad is being used in an in-place",
        N_(
            "That usually means a tensor that requires grad (a parameter) was changed in place "
            "while autograd records: make the change with recording switched off, in "
            "torch.no_grad()"
        ),
    ),
    (
        r"on the same device|is not on the expected device",
        N_(
            "That usually means the tensors of one operation sit on different devices: move "
            "them all to one device with .to(device)"
        ),
    ),
    (
        r"slice step cannot be zero",
        N_(
            "That usually means a step computed from a size (such as shape - 1) is 0 for a "
            "dimension of size 1: try your code on an input with one row or one column"
        ),
    ),
    (
        r"expected scalar type|same dtype|expected both vectors to have same dtype|"
        r"Found dtype \w+ but expected|result type \w+ can't be cast",
        N_(
            "That usually means tensors of different dtypes meet in one operation: convert one "
            "of them with .to(dtype), e.g. .float()"
        ),
    ),
]


def _usual_cause(err: BaseException) -> str | None:
    """What the exception usually means (English N_() text), for the common ones."""
    try:
        text = str(err)
    except Exception:
        return None
    for pattern, meaning in _USUAL_CAUSES:
        if re.search(pattern, text):
            return meaning
    return None


def _stub_raised(err: NotImplementedError) -> bool:
    """The generated stub (or a bare `raise NotImplementedError`), not torch's own error."""
    text = _describe(err)
    return not text or "replace this line with your code" in text


def run_check(exercise_id: str, answer: object, record: bool = True) -> Result:
    """Check answer against exercise_id without printing; never raises for a bad answer.

    With record (the default) the verdict counts for the hint ladder: a failure moves it on, a
    pass ends it; record=False leaves the ladder alone (a lesson that only asks whether an
    answer works). Raises CourseError when exercise_id names no exercise.
    """
    ex = find_exercise(exercise_id)

    def _failed(ex: Exercise, problem: str, diagnosis: str | None = None) -> Result:
        if not record:
            return Result(ex.id, FAILED, problem)
        _passed.discard(ex.id)
        if diagnosis:  # the mistake is known: its own hint, the ladder stays where it is
            shown = _hints_shown.get(ex.id, 0)
            return Result(ex.id, FAILED, problem, _(diagnosis), shown, len(ex.hints), True)
        rung = _next_rung(ex)
        return Result(ex.id, FAILED, problem, _(ex.hints[rung - 1]), rung, len(ex.hints))

    try:
        # The learner's prints and warnings would break the one-line promise: hold them back.
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
            known_state(),
        ):
            warnings.simplefilter("ignore")
            note = ex.verify(answer)
    except KeyboardInterrupt:  # the stop button stops the cell
        raise
    except NotImplementedError as err:
        if _stub_raised(err):
            return Result(ex.id, NOT_ATTEMPTED)
        return _failed(
            ex, _("your code raised NotImplementedError: {error}").format(error=_describe(err))
        )
    except Mismatch as wrong:
        return _failed(ex, _describe(wrong), wrong.hint)
    except RecursionError:
        return _failed(ex, _("your code recursed forever"))
    except SystemExit:
        return _failed(ex, _("your code called exit(), which would stop the notebook's kernel"))
    except BaseException as err:  # the learner's code raised: report it, never a traceback
        problem = _("your code raised {error_type}: {error}").format(
            error_type=type(err).__name__, error=_describe(err)
        )
        meaning = _usual_cause(err)
        return _failed(ex, f"{problem}. {_sentence(_(meaning))}" if meaning else problem)
    if record:
        _passed.add(ex.id)
    return Result(ex.id, PASSED, _one_line(note or ""))


_MISSING = object()


def check(exercise_id: str = _MISSING, answer: object = _MISSING) -> None:
    """Print exactly one line: passed, failed (what is wrong and a hint) or not attempted yet."""
    try:
        if exercise_id is _MISSING:
            raise CourseError(
                _(
                    'give the exercise id and your function, such as `check("03.ex2", '
                    "my_function)`: copy the id from the exercise's heading."
                )
            )
        if answer is _MISSING:
            find_exercise(exercise_id)
            raise CourseError(
                _(
                    "you gave only the exercise id: write check({id}, your_function), with "
                    "the function itself (no parentheses after its name)."
                ).format(id=repr(exercise_id))
            )
        print(run_check(exercise_id, answer).line())
    except CourseError as err:
        print(_("⚠️ check: {problem}").format(problem=_one_line(err)))


def hint(exercise_id: str = _MISSING) -> None:
    """Print the next hint of the exercise's ladder (nothing to give once it has passed)."""
    try:
        if exercise_id is _MISSING:
            raise CourseError(
                _(
                    'give the exercise id in quotes, such as `hint("03.ex2")`: copy it from the '
                    "exercise's heading."
                )
            )
        ex = find_exercise(exercise_id)
    except CourseError as err:
        print(_("⚠️ hint: {problem}").format(problem=_one_line(err)))
        return
    if ex.id in _passed:
        print(_("✅ {id} has passed: no hint needed.").format(id=ex.id))
        return
    rung = _next_rung(ex)
    line = _("💡 {id} hint {rung}/{rungs}: {hint}").format(
        id=ex.id, rung=rung, rungs=len(ex.hints), hint=_(ex.hints[rung - 1])
    )
    if rung == len(ex.hints):
        line = join(line, _("(That is the last hint: the reference answer is in solutions/.)"))
    print(line)


def yours_or_reference(exercise_id: str, yours: type, reference: type) -> tuple[type, bool]:
    """(yours, True) if the learner's class passes the exercise's check, else (reference, False),
    and one line, in the learner's language, saying which is used. Asking is not a try of the
    exercise: the hint ladder stays where it was."""
    number = exercise_id.split(".ex")[-1]
    if run_check(exercise_id, yours, record=False).status == PASSED:
        print(
            _("Training your {name} from exercise {number}.").format(
                name=yours.__name__, number=number
            )
        )
        return yours, True
    name = f"{reference.__module__.rsplit('.', 1)[-1]}.{reference.__qualname__}"
    print(
        _("Training the reference {name}: exercise {number} has not passed yet.").format(
            name=name, number=number
        )
    )
    return reference, False
