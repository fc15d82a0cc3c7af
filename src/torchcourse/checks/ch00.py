"""Checks for chapter 00, Welcome to PyTorch."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call_leaving_inputs, expect_tensor
from torchcourse.i18n import N_, _


def _show(x: torch.Tensor) -> str:
    """A short, readable form of a small input tensor for failure messages."""
    if x.ndim != 1 or x.numel() > 6:
        return _("a {shape} tensor").format(shape=tuple(x.shape))
    return str([round(v, 2) for v in x.tolist()])


@exercise(
    "00.ex1",
    hints=[
        N_(
            "compare your formula with the statement: multiply by 9/5 first, then add 32; "
            "tensor arithmetic applies it to every element at once, as in NumPy."
        ),
        N_(
            "try your function on torch.tensor([-40.0, 0.0, 100.0]): the answer must be -40, "
            "32 and 212 degrees Fahrenheit; the first wrong number shows which step is off."
        ),
        N_("return celsius * 9 / 5 + 32"),
    ],
)
def _fahrenheit(answer):
    generator = torch.Generator().manual_seed(0)
    cases = [
        torch.tensor([-40.0, 0.0, 37.0, 100.0]),
        torch.tensor([[21.5, -3.0], [0.25, 15.0]]),
        (torch.rand(3, 4, generator=generator, dtype=torch.float64) * 80 - 30),
    ]
    for celsius in cases:
        want = celsius * 9 / 5 + 32
        what = _("fahrenheit({x})").format(x=_show(celsius))
        got = call_leaving_inputs(answer, celsius, names=("celsius",))
        expect_tensor(got, want, what)
    return _("right values, shape and dtype for 3 inputs.")


def _connected(answer) -> None:
    """The result must stay in autograd's graph: d(result)/dx is 9 after two triplings."""
    x = torch.tensor([2.0, 1.0], requires_grad=True)
    got = call_leaving_inputs(answer, x, 27, names=("x", "limit"))
    expect_tensor(got, torch.tensor([18.0, 9.0]), _("triple_until(x, 27) with requires_grad"))
    if not got.requires_grad:
        raise Mismatch(
            _(
                "the result is not connected to x (it does not require grad): build it with "
                "tensor operations, not .item(), .tolist(), .detach() or torch.tensor(...)"
            )
        )
    got.sum().backward()
    if x.grad is None or not torch.allclose(x.grad, torch.full((2,), 9.0)):
        raise Mismatch(
            _(
                "PyTorch did not record the two multiplications by 3 that lead from x to the "
                "result: build the result from x with tensor operations"
            )
        )


@exercise(
    "00.ex2",
    hints=[
        N_(
            "`if` tests once; you need a loop that keeps multiplying as long as the condition "
            "holds, and a new tensor each time (leave the input alone)."
        ),
        N_(
            "test `x.abs().sum() < limit` before each multiplication (strictly below), and "
            "rebind the name to the product instead of changing the tensor in place."
        ),
        N_("`while x.abs().sum() < limit:` and, inside the loop, `x = x * 3`; then `return x`."),
    ],
)
def _triple_until(answer):
    cases = [
        (torch.tensor([2.0, 1.0]), 27, 2),  # reaches the limit exactly after two steps
        (torch.tensor([-1.0, 4.0]), 40, 2),
        (torch.tensor([[0.5, 0.25], [-0.25, 0.0]]), 100, 5),
        (torch.tensor([20.0, -10.0]), 5, 0),  # already there: unchanged
    ]
    for x, limit, steps in cases:
        want = x * 3**steps
        what = _("triple_until({x}, {limit})").format(x=_show(x), limit=limit)
        got = call_leaving_inputs(answer, x, limit, names=("x", "limit"))
        expect_tensor(got, want, what)
    _connected(answer)
    return _("right values, and autograd recorded every multiplication.")
