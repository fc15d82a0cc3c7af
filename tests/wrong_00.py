"""Typical mistakes in chapter 00, Welcome to PyTorch."""

import torch

TENSOR_RESULTS = {"00.ex1", "00.ex2"}


def _if_not_while(x, limit):
    if x.abs().sum() < limit:
        x = x * 3
    return x


def _one_step_too_many(x, limit):
    while x.abs().sum() <= limit:
        x = x * 3
    return x


def _sum_not_abs(x, limit):
    while x.sum() < limit:
        x = x * 3
    return x


def _in_place(x, limit):
    while x.abs().sum() < limit:
        x *= 3
    return x


def _python_floats(x, limit):
    values = x.flatten().tolist()
    while sum(abs(v) for v in values) < limit:
        values = [v * 3 for v in values]
    return torch.tensor(values).reshape(x.shape)


def _detached(x, limit):
    x = x.detach()
    while x.abs().sum() < limit:
        x = x * 3
    return x


def _counts_steps(x, limit):
    steps = 0
    while (x * 3**steps).abs().sum() < limit:
        steps += 1
    return steps


def _counts_then_multiplies_once(x, limit):
    """Was in right_00.py; the statement asks that PyTorch record every multiplication."""
    steps = 0
    while (x * 3**steps).abs().sum() < limit:
        steps += 1
    return x * 3**steps


def _steps_by_item(x, limit):
    steps = 0
    while (x.abs().sum() * 3**steps).item() < limit:
        steps += 1
    return x * 3**steps


WRONG = {
    "00.ex1": [
        ("formula upside down", lambda c: c * 5 / 9 + 32, "wrong values"),
        ("forgets the offset", lambda c: c * 9 / 5, "wrong values"),
        ("floor division", lambda c: c * 9 // 5 + 32, "wrong values"),
        ("adds first", lambda c: (c + 32) * 9 / 5, "wrong values"),
        ("Kelvin instead", lambda c: c + 273.15, "wrong values"),
        (
            "returns NumPy",
            lambda c: c.numpy() * 9 / 5 + 32,
            "should be a torch.Tensor, got ndarray",
        ),
        (
            "returns a list",
            lambda c: (c * 9 / 5 + 32).tolist(),
            "should be a torch.Tensor, got list",
        ),
        (
            "changes its input",
            lambda c: c.mul_(9 / 5).add_(32).clone(),
            "changed its argument",
            "an in-place operation",
        ),
        (
            "changes its input, returns it",
            lambda c: c.mul_(9 / 5).add_(32),
            "changed its argument",
            "an in-place operation",
        ),
        ("rounds to integers", lambda c: (c * 9 / 5 + 32).round(), "wrong values"),
    ],
    "00.ex2": [
        ("if instead of while", _if_not_while, "wrong values"),
        ("<= instead of <", _one_step_too_many, "wrong values"),
        ("sum without abs", _sum_not_abs, "wrong values"),
        ("in-place *=", _in_place, "changed its argument `x`", "an in-place operation"),
        ("through Python floats", _python_floats, "not connected to x", "starts afresh"),
        ("detaches x", _detached, "not connected to x", "starts afresh"),
        (
            "counts the steps with tensors, multiplies once",
            _counts_then_multiplies_once,
            "recorded a single operation",
            "each pass of the loop must multiply",
        ),
        (
            "counts the steps with .item(), multiplies once",
            _steps_by_item,
            "recorded a single operation",
            "each pass of the loop must multiply",
        ),
        ("returns the count", _counts_steps, "should be a torch.Tensor, got int"),
        ("doubles instead", lambda x, limit: x * 2, "wrong values"),
    ],
}
