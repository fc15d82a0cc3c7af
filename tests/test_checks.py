"""Every check passes the reference answer and rejects wrong ones, in one line."""

from __future__ import annotations

import math

import pytest
import torch
from solution_answers import reference_answer
from wrong_answers import TENSOR_RESULTS, WRONG

from torchcourse.checks import FAILED, NOT_ATTEMPTED, PASSED, REGISTRY, check, load_all, run_check

load_all()
IDS = sorted(REGISTRY)


def _raises(*args, **kwargs):
    raise ValueError("boom")


def _stub(*args, **kwargs):
    raise NotImplementedError("01.ex1: replace this line with your code")


def _forever(*args, **kwargs):
    return _forever(*args, **kwargs)


def _mutants(reference):
    """Wrong answers made by spoiling the reference's tensor result in one way each."""

    def spoil(change):
        def answer(*args, **kwargs):
            result = reference(*args, **kwargs)
            return change(result) if isinstance(result, torch.Tensor) else result

        return answer

    def nan(t):
        t = t.detach().clone().double() if not t.is_floating_point() else t.detach().clone()
        t.view(-1)[0] = math.nan
        return t

    return {
        "wrong dtype": spoil(
            lambda t: t.to(torch.float16 if t.dtype != torch.float16 else torch.float64)
        ),
        "wrong shape": spoil(lambda t: t.unsqueeze(0)),
        "wrong values": spoil(lambda t: t + 1),
        "NaN": spoil(nan),
        "wrong device": spoil(lambda t: t.to("meta")),
    }


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_answer_passes(exercise_id):
    result = run_check(exercise_id, reference_answer(exercise_id))
    assert result.status == PASSED, result.line()


@pytest.mark.parametrize("exercise_id", IDS)
@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (None, FAILED, "got None"),
        (_raises, FAILED, "raised ValueError: boom"),
        (_forever, FAILED, "recursed forever"),
        (_stub, NOT_ATTEMPTED, "not attempted yet"),
    ],
    ids=["None", "raises", "recurses", "stub"],
)
def test_generic_answers(exercise_id, answer, status, words):
    result = run_check(exercise_id, answer)
    assert result.status == status and words in result.line(), result.line()


@pytest.mark.parametrize("exercise_id", sorted(TENSOR_RESULTS))
@pytest.mark.parametrize(
    "kind", ["wrong dtype", "wrong shape", "wrong values", "NaN", "wrong device"]
)
def test_spoiled_tensor_results_fail(exercise_id, kind):
    wrong = _mutants(reference_answer(exercise_id))[kind]
    result = run_check(exercise_id, wrong)
    assert result.status == FAILED, f"{kind} passed: {result.line()}"
    assert "Hint:" in result.line()


@pytest.mark.parametrize(
    ("exercise_id", "label", "answer", "words"),
    [(i, label, answer, words) for i, cases in WRONG.items() for label, answer, words in cases],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_typical_mistakes_fail_with_a_useful_message(exercise_id, label, answer, words):
    result = run_check(exercise_id, answer)
    assert result.status == FAILED, f"{label} passed: {result.line()}"
    assert words in result.line(), result.line()


def test_check_prints_exactly_one_line(capsys):
    def noisy(*args, **kwargs):
        print("debugging output\nover two lines")
        raise NotImplementedError

    for answer in (noisy, None, reference_answer("01.ex1")):
        check("01.ex1", answer)
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 1 and "Traceback" not in lines[0]


def test_unknown_exercise_is_a_course_error():
    from torchcourse.errors import CourseError

    with pytest.raises(CourseError, match="no exercise '01.ex99'"):
        check("01.ex99", None)


def test_every_exercise_has_typical_mistakes():
    assert set(WRONG) == set(IDS), f"no typical mistakes for {sorted(set(IDS) - set(WRONG))}"
