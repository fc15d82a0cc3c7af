"""Checks for chapter __ID__, __TITLE__."""

import torch

from torchcourse.checks.core import exercise
from torchcourse.checks.expect import call_leaving_inputs, expect_tensor
from torchcourse.i18n import N_, _


def _inputs(*shape, dtype=torch.int64):
    generator = torch.Generator().manual_seed(0)
    return torch.randint(-9, 10, shape, generator=generator).to(dtype)


@exercise(
    "__ID__.ex1",
    hints=[
        N_("Doubling is an elementwise operation: one arithmetic operator on the whole tensor."),
        N_("Multiply by an integer, not by a float: an integer tensor times 2.0 becomes float."),
        N_("`return x * 2` builds a new tensor and leaves `x` as it is."),
    ],
)
def _double(answer):
    for shape, dtype in [((2, 3), torch.int64), ((4,), torch.float32), ((1, 2, 2), torch.int32)]:
        x = _inputs(*shape, dtype=dtype)
        want = x.clone() * 2
        got = call_leaving_inputs(answer, x, names=("x",))
        what = _("double of a {dtype} tensor of shape {shape}").format(dtype=dtype, shape=shape)
        expect_tensor(got, want, what)
    return _("right values, shape and dtype for 3 inputs, and x is left alone.")
