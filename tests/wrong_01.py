"""Typical mistakes in chapter 01, Tensors."""

import torch

TENSOR_RESULTS = {"01.ex1", "01.ex2", "01.ex3", "01.ex4", "01.ex5", "01.ex6"}


def _zero_inputs(a, b, *rest):
    """The reproduction of the checks issue: zero the inputs, return zeros of the right shape."""
    a.zero_()
    b.zero_()
    return torch.zeros(len(a), len(b))


def _zero_all(x, weight, bias):
    """The same reproduction for 01.ex5: every input zeroed, zeros of the right shape."""
    x.zero_()
    weight.zero_()
    bias.zero_()
    return torch.zeros(len(x), len(weight))


def _unsqueezes_in_place(a, b):
    return a.unsqueeze_(1) + b


def _corners_through_item(x):
    return torch.tensor([[x[0, 0].item(), x[0, -1].item()], [x[-1, 0].item(), x[-1, -1].item()]])


WRONG = {
    "01.ex1": [
        (
            "int64 from arange",
            lambda r, c: torch.arange(r * c).reshape(r, c),
            "dtype torch.int64",
            "unless you ask for a dtype",
        ),
        ("counts from 1", lambda r, c: torch.arange(1.0, r * c + 1).reshape(r, c), "wrong values"),
        (
            "transposed",
            lambda r, c: torch.arange(r * c, dtype=torch.float32).reshape(c, r).T,
            "wrong values",
        ),
        ("legacy Tensor(shape)", lambda r, c: torch.Tensor(r, c).zero_(), "wrong values"),
        ("empty, never filled", lambda r, c: torch.empty(r, c).zero_(), "wrong values"),
    ],
    "01.ex2": [
        ("first row only", lambda x: x[0, [0, -1]], "has shape (2,)"),
        (
            "two paired lists",
            lambda x: x[[0, -1], [0, -1]],
            "paired position by position",
            "read together",
        ),
        ("top-left block", lambda x: x[:2, :2], "wrong values"),
        ("floats", lambda x: x[[0, -1]][:, [0, -1]].float(), "dtype", "same dtype"),
        (
            "rebuilt through .item() and torch.tensor",
            _corners_through_item,
            "must keep x's dtype",
            "same dtype",
        ),
        (
            "slice step from the width (divides by zero on one column)",
            lambda x: x[:: x.shape[0] - 1, :: x.shape[1] - 1],
            "slice step cannot be zero. That usually means a step computed from a size",
        ),
        (
            "first row sliced by the width",
            lambda x: torch.stack([x[0, :: x.shape[1] - 1], x[-1, :: x.shape[1] - 1]]),
            "slice step cannot be zero. That usually means a step computed from a size",
        ),
        ("hard-coded size", lambda x: x[[0, 2]][:, [0, 4]], "raised IndexError"),
        (
            "zeroes the middle",
            lambda x: x.index_fill_(0, torch.arange(1, len(x) - 1), 0)[[0, -1]][:, [0, -1]],
            "changed its argument `x`",
            "an in-place operation",
        ),
    ],
    "01.ex3": [
        ("flattens the batch too", lambda x: x.reshape(-1), "has shape"),
        ("hard-coded MNIST size", lambda x: x.reshape(-1, 784), "raised RuntimeError"),
        ("view on permuted input", lambda x: x.view(x.shape[0], -1), "raised RuntimeError"),
        ("keeps the channel", lambda x: x.reshape(x.shape[0], x.shape[1], -1), "has shape"),
        ("flatten() from dim 0", lambda x: x.flatten(), "has shape"),
    ],
    "01.ex4": [
        ("elementwise", lambda a, b: a + b, "raised RuntimeError"),
        ("transposed table", lambda a, b: b[:, None] + a[None, :], "is transposed", "a column"),
        ("product", lambda a, b: a[:, None] * b[None, :], "wrong values"),
        ("zeroes its inputs", _zero_inputs, "changed its argument `a`", "an in-place operation"),
        (
            "unsqueeze_ in place",
            _unsqueezes_in_place,
            "changed its argument `a`",
            "an in-place operation",
        ),
    ],
    "01.ex5": [
        ("no transpose", lambda x, w, b: x @ w + b, "not transposed", "has to be transposed"),
        ("forgets bias", lambda x, w, b: x @ w.T, "bias is missing", "one more step"),
        ("elementwise product", lambda x, w, b: x * w + b, "elementwise product", "a sum over"),
        ("elementwise, summed", lambda x, w, b: (x * w).sum(1) + b, "has shape"),
        (
            "transposed result",
            lambda x, w, b: w @ x.T + b[:, None],
            "is transposed",
            "outputs in the rows",
        ),
        ("zeroes x and weight", _zero_inputs, "changed its argument `x`", "an in-place operation"),
        ("zeroes all three", _zero_all, "changed its argument `x`", "an in-place operation"),
        (
            "bias added in place",
            lambda x, w, b: x @ w.T + b.add_(0.5) - 0.5,
            "argument `bias`",
            "an in-place operation",
        ),
    ],
    "01.ex6": [
        ("ignores device", lambda x, d: x.float(), "asked for device 'meta'", "second argument"),
        ("keeps dtype", lambda x, d: x.to(d), "dtype torch.int64"),
        (
            "changes x in place",
            lambda x, d: x.mul_(1).add_(1).to(d, torch.float32) - 1,
            "changed its argument `x`",
            "an in-place operation",
        ),
        ("float64", lambda x, d: x.to(d, torch.float64), "dtype torch.float64"),
        (
            "no copy when nothing changes",
            lambda x, d: x.to(d, torch.float32),
            "shares memory",
            "copy explicitly",
        ),
        ("float() then to()", lambda x, d: x.float().to(d), "shares memory", "copy explicitly"),
        ("a view of x", lambda x, d: x.to(d, torch.float32)[:], "shares memory", "copy explicitly"),
    ],
}
