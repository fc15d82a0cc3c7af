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
            "try your function by hand on -40, 0 and 100 degrees Celsius: the answers must be -40, "
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


_UNRECORDED = N_(
    "autograd records tensor operations on x only: a value taken out as a Python number "
    "(.item(), .tolist()), a detached tensor, or a tensor rebuilt with torch.tensor starts "
    "afresh, with no link to x."
)


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
            ),
            hint=_UNRECORDED,
        )
    recorded = _operations(got.grad_fn)
    got.sum().backward()
    if x.grad is None or not torch.allclose(x.grad, torch.full((2,), 9.0)):
        raise Mismatch(
            _(
                "PyTorch did not record the two multiplications by 3 that lead from x to the "
                "result: build the result from x with tensor operations"
            ),
            hint=_UNRECORDED,
        )
    if recorded < 2:
        raise Mismatch(
            _(
                "autograd recorded a single operation between x and the result, not the loop's "
                "two multiplications by 3: multiply the tensor itself inside the loop, one step "
                "at a time, instead of working out the number of steps first"
            ),
            hint=N_(
                "the right numbers are not enough here: the statement asks for a loop that "
                "PyTorch records, so each pass of the loop must multiply the tensor by 3, and "
                "the loop's condition looks at the tensor as it is now."
            ),
        )


def _operations(node, seen=None) -> int:
    """The longest chain of recorded operations from node down to a leaf (0 for a leaf)."""
    if node is None or type(node).__name__ == "AccumulateGrad":
        return 0
    seen = {} if seen is None else seen
    if node not in seen:
        seen[node] = 0  # a cycle cannot happen, but never recurse into a node twice
        seen[node] = 1 + max((_operations(n, seen) for n, _i in node.next_functions), default=0)
    return seen[node]


@exercise(
    "00.ex2",
    hints=[
        N_(
            "read the condition in the statement again, word by word: which numbers are added "
            "up, is the comparison strict, and is it tested once or before every multiplication?"
        ),
        N_(
            "an `if` tests once; a `while` loop tests its condition before every pass. The "
            "condition adds up the absolute values of the current x and must be strictly below "
            "limit; each pass replaces x by three times x."
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
