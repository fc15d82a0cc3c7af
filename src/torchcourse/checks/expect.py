"""Comparisons that explain a wrong answer in one phrase (they raise Mismatch)."""

from __future__ import annotations

import numpy as np
import torch

from torchcourse.checks.core import Mismatch


def kind_of(value: object) -> str:
    """The type name a learner recognises: 'None', 'int', 'Tensor', ..."""
    return "None" if value is None else type(value).__name__


def expect_callable(answer: object) -> None:
    """The learner must pass a function (or class), not its result or None."""
    if not callable(answer):
        raise Mismatch(f"expected a function, got {kind_of(answer)}: pass the function itself.")


def call(answer: object, *args, **kwargs):
    """Call the learner's function, first making sure it is one."""
    expect_callable(answer)
    return answer(*args, **kwargs)


def expect_tensor(got, want: torch.Tensor, what: str = "the result", atol=1e-5, rtol=1e-5):
    """got must equal want in type, shape, dtype, device and values (NaN-free)."""
    if not isinstance(got, torch.Tensor):
        raise Mismatch(f"{what} should be a torch.Tensor, got {kind_of(got)}.")
    if tuple(got.shape) != tuple(want.shape):
        raise Mismatch(f"{what} has shape {tuple(got.shape)}, expected {tuple(want.shape)}.")
    if got.dtype != want.dtype:
        raise Mismatch(f"{what} has dtype {got.dtype}, expected {want.dtype}.")
    if got.device.type != want.device.type:
        raise Mismatch(f"{what} is on device {got.device.type}, expected {want.device.type}.")
    got, want = got.detach().cpu(), want.detach().cpu()
    if got.is_floating_point() and torch.isnan(got).any() and not torch.isnan(want).any():
        raise Mismatch(f"{what} contains NaN.")
    if got.is_floating_point() or got.is_complex():
        close = torch.isclose(got, want, atol=atol, rtol=rtol, equal_nan=True)
    else:
        close = got == want
    if not bool(close.all()):
        index = tuple(int(i) for i in torch.nonzero(~close)[0])
        raise Mismatch(
            f"{what} has the wrong values: at index {index} it is {got[index].item():.6g}, "
            f"expected {want[index].item():.6g}."
        )


def expect_array(got, want: np.ndarray, what: str = "the result", atol=1e-6):
    """got must be a NumPy array equal to want in shape, dtype and values."""
    if not isinstance(got, np.ndarray):
        raise Mismatch(f"{what} should be a NumPy array, got {kind_of(got)}.")
    if got.shape != want.shape:
        raise Mismatch(f"{what} has shape {got.shape}, expected {want.shape}.")
    if got.dtype != want.dtype:
        raise Mismatch(f"{what} has dtype {got.dtype}, expected {want.dtype}.")
    if np.isnan(got).any() and not np.isnan(want).any():
        raise Mismatch(f"{what} contains NaN.")
    if not np.allclose(got, want, atol=atol, equal_nan=True):
        raise Mismatch(f"{what} has the wrong values.")


def expect_close(got, want: float, what: str = "the result", atol=1e-4, rtol=1e-4):
    """got must be a real number (or 0-d tensor) close to want."""
    if isinstance(got, torch.Tensor):
        if got.numel() != 1:
            raise Mismatch(
                f"{what} should be a single number, got a tensor of shape {tuple(got.shape)}."
            )
        got = got.item()
    if isinstance(got, bool) or not isinstance(got, (int, float, np.floating, np.integer)):
        raise Mismatch(f"{what} should be a number, got {kind_of(got)}.")
    got = float(got)
    if np.isnan(got):
        raise Mismatch(f"{what} is NaN.")
    if not np.isclose(got, want, atol=atol, rtol=rtol):
        raise Mismatch(f"{what} is {got:.6g}, expected {want:.6g}.")


def expect_equal(got, want, what: str = "the result"):
    """got must equal want exactly (plain Python values)."""
    if type(got) is not type(want):
        raise Mismatch(f"{what} should be a {type(want).__name__}, got {kind_of(got)}.")
    if got != want:
        raise Mismatch(f"{what} is {got!r}, expected {want!r}.")
