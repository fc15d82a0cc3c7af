"""Checks for chapter 00, Welcome to PyTorch."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_tensor
from torchcourse.i18n import N_


def _show(x: torch.Tensor) -> str:
    """A short, readable form of a small input tensor for failure messages."""
    if x.ndim != 1 or x.numel() > 6:
        return f"a {tuple(x.shape)} tensor"
    return str([round(v, 2) for v in x.tolist()])


@exercise(
    "00.ex1",
    hints=[N_("multiply the whole tensor by 9 / 5, then add 32: celsius * 9 / 5 + 32.")],
)
def _fahrenheit(answer):
    generator = torch.Generator().manual_seed(0)
    cases = [
        torch.tensor([-40.0, 0.0, 37.0, 100.0]),
        torch.tensor([[21.5, -3.0], [0.25, 15.0]]),
        (torch.rand(3, 4, generator=generator, dtype=torch.float64) * 80 - 30),
    ]
    for celsius in cases:
        before = celsius.clone()
        got = call(answer, celsius)
        expect_tensor(got, before * 9 / 5 + 32, f"fahrenheit({_show(before)})")
        if not torch.equal(celsius, before):
            raise Mismatch("your function changed its input tensor; return a new tensor instead.")
    return "right values, shape and dtype for 3 inputs."


@exercise(
    "00.ex2",
    hints=[N_("loop with `while x.abs().sum() < limit:` and inside it `x = x * 3`.")],
)
def _triple_until(answer):
    cases = [
        (torch.tensor([2.0, 1.0]), 27, 2),  # reaches the limit exactly after two steps
        (torch.tensor([-1.0, 4.0]), 40, 2),
        (torch.tensor([[0.5, 0.25], [-0.25, 0.0]]), 100, 5),
        (torch.tensor([20.0, -10.0]), 5, 0),  # already there: unchanged
    ]
    for x, limit, steps in cases:
        before = x.clone()
        got = call(answer, x, limit)
        expect_tensor(got, before * 3**steps, f"triple_until({_show(before)}, {limit})")
        if not torch.equal(x, before):
            raise Mismatch(
                "your function changed the input tensor (in-place `*=` or `mul_`); "
                "write x = x * 3 to make a new tensor instead."
            )
    x = torch.tensor([2.0, 1.0], requires_grad=True)
    got = call(answer, x, 27)
    expect_tensor(got, torch.tensor([18.0, 9.0]), "triple_until(x, 27) with requires_grad")
    if not got.requires_grad:
        raise Mismatch(
            "the result is not connected to x (it does not require grad): use tensor "
            "operations, not .item(), .tolist(), .detach() or torch.tensor(...)."
        )
    got.sum().backward()
    if x.grad is None or not torch.allclose(x.grad, torch.full((2,), 9.0)):
        raise Mismatch(
            "PyTorch did not record the two multiplications by 3 that lead from x to "
            "the result: build the result from x with tensor operations."
        )
    return "right values, and autograd recorded every multiplication."
