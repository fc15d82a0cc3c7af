"""Checks for chapter 02, NumPy interop."""

import numpy as np
import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import (
    call,
    call_leaving_inputs,
    expect_array,
    expect_tensor,
    kind_of,
)
from torchcourse.i18n import N_, _


def _array(dtype=np.float64):
    return np.arange(1, 7, dtype=dtype).reshape(2, 3)


def _sees_changes(t, a) -> bool:
    """Whether the tensor t follows a write into the array a (a is changed, then restored)."""
    old = a.flat[0]
    a.flat[0] = 100
    seen = isinstance(t, torch.Tensor) and t.numel() > 0 and t.reshape(-1)[0].item() == 100
    a.flat[0] = old
    return seen


@exercise(
    "02.ex1",
    hints=[
        N_("Section 1 showed a conversion that wraps the array's memory instead of copying it."),
        N_(
            "torch.tensor always copies; torch.from_numpy never does, and keeps the array's "
            "dtype: pass it the array itself."
        ),
        N_("return torch.from_numpy(a)"),
    ],
)
def _shared_tensor(answer):
    for a in (_array(), _array(np.float32).T):
        want = torch.from_numpy(a.copy())
        t = call_leaving_inputs(answer, a, names=("a",))
        expect_tensor(
            t,
            want,
            _("the tensor for a {dtype} array of shape {shape}").format(
                dtype=a.dtype, shape=a.shape
            ),
        )
        if not _sees_changes(t, a):
            raise Mismatch(
                _(
                    "after a change to the array the tensor still holds the old value: "
                    "it is a copy, not a view of the array's memory"
                ),
                hint=N_(
                    "some conversions copy the numbers into new memory, others wrap the "
                    "array's own memory; section 1 says which is which."
                ),
            )
    return _("the tensor sees changes made to the array.")


@exercise(
    "02.ex2",
    hints=[
        N_(
            "This is the opposite of exercise 1: new memory holding the same numbers, "
            "with the same dtype."
        ),
        N_(
            "Section 3 lists the one constructor that always copies; it keeps a NumPy array's "
            "dtype. (Or copy a shared tensor with .clone().)"
        ),
        N_("return torch.tensor(a), or torch.from_numpy(a).clone()"),
    ],
)
def _independent_tensor(answer):
    for a in (_array(np.int32), _array(np.float32)):
        want = torch.from_numpy(a.copy())
        t = call_leaving_inputs(answer, a, names=("a",))
        expect_tensor(
            t,
            want,
            _("the tensor for a {dtype} array").format(dtype=a.dtype),
        )
        if _sees_changes(t, a):
            raise Mismatch(
                _(
                    "after a change to the array the tensor changed too: it shares the "
                    "array's memory"
                ),
                hint=N_(
                    "a tensor that wraps the array's memory sees every later change to the "
                    "array; this exercise wants the conversion that copies."
                ),
            )
    return _("same values and dtype, its own memory.")


@exercise(
    "02.ex3",
    hints=[
        N_("The values stay; only the dtype changes, from NumPy's float64 to PyTorch's float32."),
        N_(
            "Section 5 converted a tensor with a method named after the dtype, just before the "
            "Linear layer; torch.tensor also takes a dtype= argument."
        ),
        N_("return torch.from_numpy(a).float(), or torch.tensor(a, dtype=torch.float32)"),
    ],
)
def _float32_tensor(answer):
    a = _array() / 3
    want = torch.from_numpy(a.copy()).float()
    t = call_leaving_inputs(answer, a, names=("a",))
    expect_tensor(t, want, _("the tensor"))
    return _("float64 in, float32 out.")


def _explain_unchanged(returned) -> str:
    """Why the caller's array is unchanged, from what the function returned."""
    if returned is None:
        return _(
            "the caller's array is unchanged: an assignment such as `a = a + 1` only makes "
            "your local name `a` point at a new array, which the caller never sees"
        )
    if isinstance(returned, np.ndarray):
        return _(
            "the caller's array is unchanged: your function returned a new array instead, but "
            "the caller keeps looking at its own array; write into that one"
        )
    return _("the caller's array is unchanged (your function returned {kind})").format(
        kind=kind_of(returned)
    )


@exercise(
    "02.ex4",
    hints=[
        N_(
            "Your function receives the caller's array object itself; the caller sees only "
            "what you write into that object's memory."
        ),
        N_(
            "Section 2: an augmented assignment (+=) or a NumPy function with out= writes in "
            "place; assigning a new value to the name a does not."
        ),
        N_("np.add(a, 1, out=a), or a += 1"),
    ],
)
def _add_one_in_place(answer):
    for a in (_array(), np.linspace(-1.0, 1.0, 5)):
        before = a.copy()
        returned = call(answer, a)
        if np.array_equal(a, before):
            raise Mismatch(
                _explain_unchanged(returned),
                hint=N_(
                    "the caller keeps its own array object; it sees only what is written into "
                    "that object's memory, never what your function's names point at later."
                ),
            )
        expect_array(a, before + 1, _("the caller's array"))
    return _("the caller's array changed in place.")


class _TensorOnAGPU(torch.Tensor):
    """A CPU tensor that acts like a CUDA tensor where NumPy is concerned: `.numpy()` refuses,
    `.cpu()` and `.to("cpu")` copy to a plain CPU tensor, and it says it is on cuda:0."""

    @property
    def device(self):
        return torch.device("cuda", 0)

    @property
    def is_cuda(self):
        return True

    @property
    def is_cpu(self):
        return False

    def numpy(self, *, force=False):
        if force:  # what PyTorch does for force=True: detach, then copy to the CPU
            return self.detach().cpu().numpy()
        raise TypeError(
            "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
            "tensor to host memory first."
        )

    def cpu(self, memory_format=torch.preserve_format):
        return self.as_subclass(torch.Tensor).clone(memory_format=memory_format)

    def to(self, *args, **kwargs):
        target = torch._C._nn._parse_to(*args, **kwargs)[0]
        if target is not None and target.type == "cpu":
            return self.cpu().to(*args, **kwargs)
        return super().to(*args, **kwargs)


def _numpy_cases():
    """(what, tensor, on a GPU?) built with grad mode on, whatever the session set."""
    with torch.enable_grad():
        return [
            (
                _("a float32 tensor that requires grad"),
                torch.arange(4.0, requires_grad=True) * 2,
                False,
            ),
            (_("an int64 tensor"), torch.arange(6).reshape(2, 3), False),
            (_("an int64 tensor on a GPU"), torch.arange(6).reshape(3, 2), True),
            (
                _("a float64 tensor on a GPU that requires grad"),
                torch.linspace(0, 1, 4, dtype=torch.float64).requires_grad_() * 3,
                True,
            ),
        ]


@exercise(
    "02.ex5",
    hints=[
        N_(
            "NumPy cannot read a tensor in two situations: it is recorded by autograd "
            "(requires grad), or its numbers live in GPU memory. Handle both, in every case."
        ),
        N_(
            "Section 6 names the two methods: one gives a tensor that autograd does not record, "
            "the other copies to the CPU. Call both before .numpy()."
        ),
        N_("return t.detach().cpu().numpy(), or t.numpy(force=True)"),
    ],
)
def _to_numpy(answer):
    for what, t, on_gpu in _numpy_cases():
        want = t.detach().numpy().copy()
        if on_gpu:
            t = t.as_subclass(_TensorOnAGPU)
        try:
            with torch.enable_grad():
                got = call(answer, t)
        except TypeError as err:
            if on_gpu and "device type tensor to numpy" in str(err):
                raise Mismatch(
                    _(
                        "your function works on the CPU but fails for a tensor on a GPU (the "
                        "check uses a stand-in that refuses .numpy() as a CUDA tensor does): "
                        "NumPy reads only CPU memory, so copy the values with .cpu() first"
                    ),
                    hint=N_(
                        "NumPy can only read the computer's main memory; a tensor on a GPU has "
                        "to be copied there before it can become an array."
                    ),
                ) from None
            raise
        expect_array(got, want, _("the array for {what}").format(what=what))
    return _("works with and without requires_grad, also for a tensor on a GPU.")
