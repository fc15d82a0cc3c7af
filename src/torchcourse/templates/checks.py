"""Checks for chapter __ID__, __TITLE__."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_tensor


def _inputs(*shape, dtype=torch.int64):
    generator = torch.Generator().manual_seed(0)
    return torch.randint(-9, 10, shape, generator=generator).to(dtype)


@exercise("__ID__.ex1", hint="multiply by the integer 2, `x * 2`, so that the dtype stays.")
def _double(answer):
    for shape, dtype in [((2, 3), torch.int64), ((4,), torch.float32), ((1, 2, 2), torch.int32)]:
        x = _inputs(*shape, dtype=dtype)
        before = x.clone()
        got = call(answer, x)
        expect_tensor(got, before * 2, f"double of a {dtype} tensor of shape {shape}")
        if not torch.equal(x, before):
            raise Mismatch("your function changed x itself; return a new tensor instead.")
    return "right values, shape and dtype for 3 inputs, and x is left alone."
