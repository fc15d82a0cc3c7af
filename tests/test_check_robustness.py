"""Verdicts depend on the answer alone: not on the learner's session, not on what the answer
does to its inputs, and bad calls of check itself give one line (issue reproductions)."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys

import numpy as np
import pytest
import torch
from solution_answers import reference_answer
from wrong_answers import WRONG

from torchcourse.checks import FAILED, NOT_ATTEMPTED, PASSED, REGISTRY, check, load_all, run_check
from torchcourse.checks.core import known_state

load_all()
IDS = sorted(REGISTRY)


@contextlib.contextmanager
def hostile_session():
    """Global settings a learner's notebook may have left behind, restored afterwards."""
    dtype, grad = torch.get_default_dtype(), torch.is_grad_enabled()
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    torch.autograd.set_detect_anomaly(True)
    torch.use_deterministic_algorithms(True, warn_only=True)
    np.seterr(all="raise")
    try:
        yield
    finally:
        torch.set_default_dtype(dtype)
        torch.set_grad_enabled(grad)
        torch.autograd.set_detect_anomaly(False)
        torch.use_deterministic_algorithms(False)
        np.seterr(all="warn", under="ignore")


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_passes_whatever_the_session_set(exercise_id):
    answer = reference_answer(exercise_id)
    with hostile_session():
        result = run_check(exercise_id, answer)
        assert torch.get_default_dtype() == torch.float64 and not torch.is_grad_enabled()
        assert torch.is_anomaly_enabled() and torch.are_deterministic_algorithms_enabled()
    assert result.status == PASSED, result.line()


@pytest.mark.parametrize(
    ("exercise_id", "label", "answer"),
    [(i, label, answer) for i, cases in WRONG.items() for label, answer, *_ in cases],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_wrong_answers_fail_whatever_the_session_set(exercise_id, label, answer):
    with hostile_session():
        result = run_check(exercise_id, answer)
    assert result.status == FAILED, f"{label} passed in a float64, no-grad session"


def _draws():
    return torch.rand(3).tolist(), np.random.rand(), random.random()


@pytest.mark.parametrize("exercise_id", IDS)
def test_a_check_leaves_the_learners_random_streams_alone(exercise_id):
    answer = reference_answer(exercise_id)
    for seed_all in (lambda: (torch.manual_seed(5), np.random.seed(5), random.seed(5)),):
        seed_all()
        expected = _draws()
        seed_all()
        run_check(exercise_id, answer)
        assert _draws() == expected, f"{exercise_id} consumed or reseeded the learner's streams"


# The reproductions quoted in the checks issue.


def _zero_inputs(a, b, *rest):
    a.zero_()
    b.zero_()
    return torch.zeros(len(a), len(b))


@pytest.mark.parametrize("exercise_id", ["01.ex4", "01.ex5"])
def test_an_answer_that_zeroes_its_inputs_fails(exercise_id):
    result = run_check(exercise_id, _zero_inputs)
    assert result.status == FAILED, result.line()


def test_numpy_without_detach_fails_even_with_grad_disabled():
    torch.set_grad_enabled(False)
    try:
        assert run_check("02.ex5", lambda t: t.numpy()).status == FAILED
    finally:
        torch.set_grad_enabled(True)


def test_an_answer_without_cpu_fails_on_a_cpu_only_machine():
    """`t.detach().numpy()` breaks on a GPU tensor; the check must tell without a GPU."""
    result = run_check("02.ex5", lambda t: t.detach().numpy())
    assert result.status == FAILED and ".cpu()" in result.line(), result.line()


def test_float64_default_neither_passes_a_wrong_06_ex1_nor_fails_03_ex4():
    torch.set_default_dtype(torch.float64)
    try:
        for label, answer, *_ in WRONG["06.ex1"]:
            assert run_check("06.ex1", answer).status == FAILED, label
        assert run_check("03.ex4", reference_answer("03.ex4")).status == PASSED
    finally:
        torch.set_default_dtype(torch.float32)


# Bad calls of check itself: one line, never a traceback.


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((5, print), "exercise id in quotes"),
        ((None, print), "exercise id in quotes"),
        (("03.ex99", print), "no exercise '03.ex99'"),
        (("3.1", print), "no exercise '3.1'"),
        (("03.ex2",), "you gave only the exercise id"),
    ],
)
def test_bad_calls_of_check_print_one_line(capsys, args, words):
    check(*args)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1 and words in lines[0], lines


def _exits(*args, **kwargs):
    sys.exit(1)


class _Unprintable(Exception):
    def __str__(self):
        raise ValueError("no message")


def _raises_unprintable(*args, **kwargs):
    raise _Unprintable


def _shouts(*args, **kwargs):
    print("to stderr", file=sys.stderr)
    print("to stdout")
    raise NotImplementedError


def _torch_not_implemented(*args, **kwargs):
    raise NotImplementedError("Could not run 'aten::foo' with arguments from the 'Meta' backend")


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (_exits, FAILED, "called exit()"),
        (_raises_unprintable, FAILED, "_Unprintable"),
        (_shouts, NOT_ATTEMPTED, "not attempted"),
        (_torch_not_implemented, FAILED, "raised NotImplementedError: Could not run"),
    ],
)
def test_odd_answers_give_one_line(capsys, answer, status, words):
    check("03.ex1", answer)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert len(lines) == 1 and words in lines[0], lines
    assert run_check("03.ex1", answer).status == status


def test_keyboard_interrupt_stops_the_cell():
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_check("03.ex1", interrupted)


def test_bad_calls_under_plain_python_print_no_traceback():
    code = "from torchcourse import check; check(5, print); check(None, print); check('x', None)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert len(proc.stdout.splitlines()) == 3


@pytest.mark.parametrize("warn_only", [False, True])
def test_deterministic_mode_is_off_inside_a_check_and_restored_after(warn_only):
    seen = []
    torch.use_deterministic_algorithms(True, warn_only=warn_only)
    try:
        with known_state():
            seen.append(torch.are_deterministic_algorithms_enabled())
        after = (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        )
    finally:
        torch.use_deterministic_algorithms(False)
    assert seen == [False] and after == (True, warn_only)


def test_a_first_check_does_not_import_the_compiler():
    """torch.use_deterministic_algorithms imports torch._inductor (about 1.5 s); a session that
    never changed the setting must not pay for it at its first check."""
    code = (
        "import sys; from torchcourse import check; "
        "check('00.ex1', lambda c: c * 9 / 5 + 32); print('torch._inductor' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False", proc.stdout
