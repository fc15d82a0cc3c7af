"""Comparisons that explain a wrong answer in one phrase (they raise Mismatch).

Write a checker in this order: build the inputs, compute the expected result from them (or
from `snapshot` copies), then call the answer with `call` or `call_leaving_inputs`, then
compare. So an answer that changes its inputs cannot change what it is compared with.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from torchcourse.checks.core import Mismatch
from torchcourse.device import lesson_device
from torchcourse.i18n import N_, _

IN_PLACE = N_(
    "an in-place operation (`*=`, `+=`, a method whose name ends in `_`, or assigning into "
    "x[...]) changes the caller's tensor; an ordinary expression makes a new tensor and leaves "
    "the input as it was."
)


def kind_of(value: object) -> str:
    """The type name a learner recognises: 'None', 'int', 'Tensor', ..."""
    return "None" if value is None else type(value).__name__


def expect_callable(answer: object) -> None:
    """The learner must pass a function (or class), not its result or None."""
    if not callable(answer):
        raise Mismatch(
            _("expected a function, got {kind}: pass the function itself.").format(
                kind=kind_of(answer)
            )
        )


def call(answer: object, *args, **kwargs):
    """Call the learner's function, first making sure it is one."""
    expect_callable(answer)
    return answer(*args, **kwargs)


def snapshot(value: object) -> object:
    """A private copy of an argument: tensors keep their requires_grad, nothing is shared."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone().requires_grad_(value.requires_grad)
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(snapshot(item) for item in value)
    if isinstance(value, dict):
        return {key: snapshot(item) for key, item in value.items()}
    try:
        return copy.deepcopy(value)
    except Exception:  # functions, generators...: nothing to compare
        return value


def _same(value: object, before: object) -> bool:
    if isinstance(before, torch.Tensor):
        return (
            isinstance(value, torch.Tensor)
            and value.shape == before.shape
            and value.dtype == before.dtype
            and value.requires_grad == before.requires_grad
            and bool(torch.equal(value.detach().cpu().nan_to_num(), before.cpu().nan_to_num()))
        )
    if isinstance(before, np.ndarray):
        return (
            isinstance(value, np.ndarray)
            and value.shape == before.shape
            and value.dtype == before.dtype
            and np.array_equal(value, before, equal_nan=before.dtype.kind in "fc")
        )
    if isinstance(before, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(before)
            and all(_same(v, b) for v, b in zip(value, before))
        )
    if isinstance(before, dict):
        return (
            isinstance(value, dict)
            and value.keys() == before.keys()
            and all(_same(value[k], before[k]) for k in before)
        )
    return True  # other objects: not compared


def expect_unchanged(value: object, before: object, name: str) -> None:
    """value must still equal its snapshot `before`: the answer left the argument alone."""
    if not _same(value, before):
        raise Mismatch(
            _(
                "your function changed its argument `{name}` (in place or its requires_grad); "
                "leave the inputs as they are and build the result in new tensors"
            ).format(name=name),
            hint=IN_PLACE,
        )


def call_leaving_inputs(answer: object, *args, names: tuple[str, ...]):
    """Call the answer with args and fail it if it changed any of them; return its result."""
    before = [snapshot(arg) for arg in args]
    result = call(answer, *args)
    for name, arg, old in zip(names, args, before, strict=True):
        expect_unchanged(arg, old, name)
    return result


def _device_ok(got: torch.device, want: torch.device) -> bool:
    """The expected device, or the lesson's own (an answer may create tensors on `device`)."""
    return got.type in (want.type, lesson_device().type)


def expect_tensor(got, want: torch.Tensor, what: str = "", atol=1e-5, rtol=1e-5):
    """got must equal want in type, shape, dtype, device and values (NaN-free)."""
    what = what or _("the result")
    if not isinstance(got, torch.Tensor):
        raise Mismatch(
            _("{what} should be a torch.Tensor, got {kind}.").format(what=what, kind=kind_of(got))
        )
    if tuple(got.shape) != tuple(want.shape):
        raise Mismatch(
            _("{what} has shape {got}, expected {want}.").format(
                what=what, got=tuple(got.shape), want=tuple(want.shape)
            )
        )
    if got.dtype != want.dtype:
        raise Mismatch(
            _("{what} has dtype {got}, expected {want}.").format(
                what=what, got=got.dtype, want=want.dtype
            )
        )
    if not _device_ok(got.device, want.device):
        raise Mismatch(
            _("{what} is on device {got}, expected {want}.").format(
                what=what, got=got.device.type, want=want.device.type
            )
        )
    got, want = got.detach().cpu(), want.detach().cpu()
    if got.is_floating_point() and torch.isnan(got).any() and not torch.isnan(want).any():
        raise Mismatch(_("{what} contains NaN.").format(what=what))
    if got.is_floating_point() or got.is_complex():
        close = torch.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    else:
        close = got == want
    if not bool(close.all()):
        index = tuple(int(i) for i in torch.nonzero(~close)[0])
        raise Mismatch(
            _(
                "{what} has the wrong values: at index {index} it is {got:.6g}, "
                "expected {want:.6g}."
            ).format(what=what, index=index, got=got[index].item(), want=want[index].item())
        )


def expect_array(got, want: np.ndarray, what: str = "", atol=1e-6):
    """got must be a NumPy array equal to want in shape, dtype and values."""
    what = what or _("the result")
    if not isinstance(got, np.ndarray):
        raise Mismatch(
            _("{what} should be a NumPy array, got {kind}.").format(what=what, kind=kind_of(got))
        )
    if got.shape != want.shape:
        raise Mismatch(
            _("{what} has shape {got}, expected {want}.").format(
                what=what, got=got.shape, want=want.shape
            )
        )
    if got.dtype != want.dtype:
        raise Mismatch(
            _("{what} has dtype {got}, expected {want}.").format(
                what=what, got=got.dtype, want=want.dtype
            )
        )
    if got.dtype.kind in "fc" and np.isnan(got).any() and not np.isnan(want).any():
        raise Mismatch(_("{what} contains NaN.").format(what=what))
    if not np.allclose(got, want, atol=atol, equal_nan=True):
        raise Mismatch(_("{what} has the wrong values.").format(what=what))


def as_number(got, what: str = "") -> float:
    """got as a float: a Python number, a NumPy scalar or a one-element tensor all count."""
    what = what or _("the result")
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Mismatch(
                _("{what} should be a single number, got a tensor of shape {shape}.").format(
                    what=what, shape=tuple(got.shape)
                )
            )
        got = got.item()
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.floating, np.integer)):
        raise Mismatch(
            _("{what} should be a number, got {kind}.").format(what=what, kind=kind_of(got))
        )
    return float(got)


def expect_close(got, want: float, what: str = "", atol=1e-4, rtol=1e-4):
    """got must be a real number (or a one-element tensor) close to want."""
    what = what or _("the result")
    value = as_number(got, what)
    if np.isnan(value):
        raise Mismatch(_("{what} is NaN.").format(what=what))
    if not np.isclose(value, want, atol=atol, rtol=rtol):
        raise Mismatch(
            _("{what} is {got:.6g}, expected {want:.6g}.").format(what=what, got=value, want=want)
        )


def expect_equal(got, want, what: str = ""):
    """got must equal want exactly (plain Python values)."""
    what = what or _("the result")
    if type(got) is not type(want):
        raise Mismatch(
            _("{what} should be a {want_kind}, got {kind}.").format(
                what=what, want_kind=type(want).__name__, kind=kind_of(got)
            )
        )
    if got != want:
        raise Mismatch(
            _("{what} is {got!r}, expected {want!r}.").format(what=what, got=got, want=want)
        )
