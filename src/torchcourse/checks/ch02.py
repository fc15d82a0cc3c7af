"""Checks for chapter 02, NumPy interop."""

import numpy as np
import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_array, expect_tensor
from torchcourse.i18n import N_


def _array(dtype=np.float64):
    return np.arange(1, 7, dtype=dtype).reshape(2, 3)


@exercise(
    "02.ex1",
    hints=[N_("torch.from_numpy(a) wraps the array's memory without copying.")],
)
def _shared_tensor(answer):
    a = _array()
    t = call(answer, a)
    expect_tensor(t, torch.arange(1, 7, dtype=torch.float64).reshape(2, 3), "the tensor")
    a[0, 0] = 100.0
    if t[0, 0].item() != 100.0:
        raise Mismatch("after a[0, 0] = 100 the tensor still holds the old value: it is a copy.")
    return "the tensor sees changes made to the array."


@exercise("02.ex2", hints=[N_("torch.tensor(a) always copies the data.")])
def _independent_tensor(answer):
    a = _array(np.int32)
    t = call(answer, a)
    expect_tensor(t, torch.arange(1, 7, dtype=torch.int32).reshape(2, 3), "the tensor")
    a[0, 0] = 100
    if t[0, 0].item() == 100:
        raise Mismatch("after a[0, 0] = 100 the tensor changed too: it shares the array's memory.")
    return "same values and dtype, its own memory."


@exercise(
    "02.ex3",
    hints=[N_("torch.from_numpy(a).float() or torch.tensor(a, dtype=torch.float32).")],
)
def _float32_tensor(answer):
    a = _array() / 3
    t = call(answer, a)
    expect_tensor(t, torch.from_numpy(a).float(), "the tensor")
    return "float64 in, float32 out."


@exercise(
    "02.ex4",
    hints=[N_("write into the array you were given: np.add(a, 1, out=a) or a += 1.")],
)
def _add_one_in_place(answer):
    a = _array()
    before = a.copy()
    call(answer, a)
    if np.array_equal(a, before):
        raise Mismatch("the caller's array is unchanged: `a = a + 1` only rebinds your local name.")
    expect_array(a, before + 1, "the caller's array")
    return "the caller's array changed in place."


@exercise("02.ex5", hints=[N_("t.detach().cpu().numpy() works for every tensor.")])
def _to_numpy(answer):
    for t in (torch.arange(4.0, requires_grad=True) * 2, torch.arange(6).reshape(2, 3)):
        want = t.detach().cpu().numpy().copy()
        expect_array(call(answer, t), want, f"the array for a {tuple(t.shape)} tensor")
    return "works for tensors that require grad."
