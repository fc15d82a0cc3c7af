"""Every check passes the reference answer and rejects wrong ones, in one line."""

from __future__ import annotations

import functools
import math

import pytest
import torch
from right_answers import RIGHT
from solution_answers import reference_answer, solution_code_lines
from wrong_answers import TENSOR_RESULTS, WRONG

from torchcourse.checks import (
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    REGISTRY,
    check,
    hint,
    load_all,
    reset_hints,
    run_check,
)

load_all()
IDS = sorted(REGISTRY)


def _as_if_from_a_notebook(answer):
    """Mark answer as defined in a notebook cell, as a learner's answer is: the ranks of an 08
    check then get it by value, not by name (which would import this whole module in each)."""
    answer.__module__ = "__main__"
    return answer


@_as_if_from_a_notebook
def _raises(*args, **kwargs):
    raise ValueError("boom")


@_as_if_from_a_notebook
def _stub(*args, **kwargs):
    raise NotImplementedError("01.ex1: replace this line with your code")


@_as_if_from_a_notebook
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
    assert "Hint" in result.line()


@functools.cache
def _typical_mistake(exercise_id: str, label: str):
    """The verdict on a typical mistake from wrong_NN.py, its ladder fresh; checked once per
    session, since two tests read it and an 08 check starts process groups."""
    answer = next(a for name, a, *_ in WRONG[exercise_id] if name == label)
    reset_hints()
    return run_check(exercise_id, answer)


@pytest.mark.parametrize(
    ("exercise_id", "label", "words", "hint_words"),
    [
        (i, label, words, rest[0] if rest else None)
        for i, cases in WRONG.items()
        for label, _answer, words, *rest in cases
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_typical_mistakes_fail_with_a_useful_message_and_the_hint_for_it(
    exercise_id, label, words, hint_words
):
    """The message names the mistake; the hint shown is that mistake's own hint when the check
    diagnosed it (hint_words, the 4th item of a wrong_NN.py entry), else rung 1 of the ladder."""
    result = _typical_mistake(exercise_id, label)
    assert result.status == FAILED, f"{label} passed: {result.line()}"
    assert words in result.line(), result.line()
    if hint_words is None:
        assert not result.diagnosed, f"{label}: diagnosed; add its hint words: {result.hint}"
        assert result.hint == REGISTRY[exercise_id].hints[0], result.line()
    else:
        assert result.diagnosed, f"{label}: shows the ladder, not a hint for it: {result.line()}"
        assert hint_words in result.hint and "Hint: " in result.line(), result.line()
        assert f'hint("{exercise_id}")' in result.line()


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
        run_check("01.ex99", None)


def test_every_exercise_has_typical_mistakes():
    assert set(WRONG) == set(IDS), f"no typical mistakes for {sorted(set(IDS) - set(WRONG))}"


@pytest.mark.parametrize(
    ("exercise_id", "label", "answer"),
    [(i, label, answer) for i, cases in RIGHT.items() for label, answer in cases],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_alternative_correct_answers_pass(exercise_id, label, answer):
    result = run_check(exercise_id, answer)
    assert result.status == PASSED, f"{label}: {result.line()}"


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_exercise_has_two_alternative_correct_answers(exercise_id):
    assert len(RIGHT.get(exercise_id, [])) >= 2, f"{exercise_id}: add answers to right_NN.py"


# Hints by degrees


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_exercise_has_a_ladder_of_hints(exercise_id):
    hints = REGISTRY[exercise_id].hints
    assert len(hints) >= 3, f"{exercise_id}: a nudge, a more specific hint, then the code"
    assert len(set(hints)) == len(hints), f"{exercise_id}: two rungs say the same"


@pytest.mark.parametrize("exercise_id", IDS)
def test_no_solution_code_before_the_last_rung_or_in_a_failure(exercise_id):
    """Early rungs and what-is-wrong messages never quote the reference answer's code."""
    code = solution_code_lines(exercise_id)
    hints = REGISTRY[exercise_id].hints
    texts = [("rung", h) for h in hints[:-1]]
    for label, *_ in WRONG.get(exercise_id, []):
        result = _typical_mistake(exercise_id, label)
        texts.append((f"failure for {label!r}", result.message))
        if result.diagnosed:
            texts.append((f"diagnosis hint for {label!r}", result.hint))
    for where, text in texts:
        for line in code:
            assert line not in text, f"{exercise_id}: the {where} gives away `{line}`"


def test_each_failure_shows_the_next_rung_then_stays_on_the_last():
    exercise_id = IDS[0]
    hints = REGISTRY[exercise_id].hints
    seen = [run_check(exercise_id, None) for _ in range(len(hints) + 1)]
    assert [r.rung for r in seen] == [*range(1, len(hints) + 1), len(hints)]
    assert [r.hint for r in seen[: len(hints)]] == list(hints)
    assert f'hint("{exercise_id}")' in seen[0].line(), "the learner is told how to get more"
    assert 'hint("' not in seen[-1].line(), "no promise of a next rung after the last"


def test_hint_prints_the_next_rung_on_demand(capsys):
    exercise_id = IDS[0]
    hints = REGISTRY[exercise_id].hints
    hint(exercise_id)
    run_check(exercise_id, None)
    hint(exercise_id)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and hints[0] in lines[0] and hints[2] in lines[1], lines


def test_a_learner_who_passed_gets_no_hint(capsys):
    exercise_id = IDS[0]
    run_check(exercise_id, None)
    assert run_check(exercise_id, reference_answer(exercise_id)).status == PASSED
    hint(exercise_id)
    out = capsys.readouterr().out
    assert "no hint needed" in out
    assert not any(h in out for h in REGISTRY[exercise_id].hints)


def test_the_pass_and_not_attempted_lines_carry_no_hint():
    exercise_id = IDS[0]
    for answer in (reference_answer(exercise_id), _stub):
        line = run_check(exercise_id, answer).line()
        assert "Hint" not in line and not any(h in line for h in REGISTRY[exercise_id].hints)


def test_an_unrecorded_check_leaves_the_ladder_alone():
    exercise_id = IDS[0]
    assert run_check(exercise_id, None, record=False).rung == 0
    assert run_check(exercise_id, None).rung == 1, "the first recorded failure shows rung 1"
    assert run_check(exercise_id, reference_answer(exercise_id), record=False).status == PASSED
    assert run_check(exercise_id, None).rung == 2, "an unrecorded pass ends nothing"


def test_a_diagnosed_failure_keeps_the_ladder_where_it_was():
    from torchcourse.checks import Mismatch, exercise

    @exercise("99.ex1", hints=["nudge", "closer", "code"])
    def _verify(answer):
        if answer == "known":
            raise Mismatch("a known mistake", hint="the hint for that mistake")
        raise Mismatch("something else")

    try:
        first = run_check("99.ex1", "known")
        assert first.diagnosed and first.hint == "the hint for that mistake"
        assert "Hint: the hint for that mistake" in first.line() and "1/3" not in first.line()
        assert run_check("99.ex1", "other").hint == "nudge", "the ladder starts at rung 1"
        assert run_check("99.ex1", "known").hint == "the hint for that mistake"
        assert run_check("99.ex1", "other").hint == "closer"
    finally:
        del REGISTRY["99.ex1"]


@pytest.mark.parametrize(
    ("cause", "words"),
    [
        (lambda: torch.ones(2, 3) @ torch.ones(4, 5), "inner sizes of a matrix product"),
        (lambda: torch.ones(3) + torch.ones(4), "cannot broadcast"),
        (lambda: torch.ones(2, 3).T.view(6), "non-contiguous"),
        (lambda: torch.ones(2, requires_grad=True).add_(1), "torch.no_grad()"),
        (lambda: torch.ones(2).to("meta") + torch.ones(2), "different devices"),
        (lambda: torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64), "different dtypes"),
        (lambda: torch.ones(3, 1)[:, :: 1 - 1], "one row or one column"),
    ],
    ids=["matmul shapes", "broadcast", "view", "in-place leaf", "device", "dtype", "step 0"],
)
def test_a_common_exception_is_explained_after_its_own_text(cause, words):
    def answer(*args, **kwargs):
        cause()

    line = run_check("01.ex1", answer).line()
    assert "your code raised " in line and words in line, line
    assert line.index("your code raised") < line.index(words)


def test_hint_and_check_without_arguments_say_how_to_call_them(capsys):
    hint()
    check()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and 'hint("03.ex2")' in lines[0] and "TypeError" not in lines[0]
    assert 'check("03.ex2", my_function)' in lines[1]
