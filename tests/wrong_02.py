"""Typical mistakes in chapter 02, NumPy interop."""

import numpy as np
import torch

TENSOR_RESULTS = {"02.ex1", "02.ex2", "02.ex3"}


def _rebinds(a):
    a = a + 1  # noqa: F841 - the classic mistake: only the local name changes


WRONG = {
    "02.ex1": [
        ("torch.tensor copies", lambda a: torch.tensor(a), "it is a copy"),
        ("float32 copy", lambda a: torch.from_numpy(a).float(), "dtype torch.float32"),
        ("returns the array", lambda a: a, "should be a torch.Tensor, got ndarray"),
    ],
    "02.ex2": [
        ("from_numpy shares", lambda a: torch.from_numpy(a), "shares the array's memory"),
        ("as_tensor shares", lambda a: torch.as_tensor(a), "shares the array's memory"),
        ("default dtype", lambda a: torch.tensor(a.tolist()), "dtype torch.int64"),
    ],
    "02.ex3": [
        ("keeps float64", lambda a: torch.from_numpy(a), "dtype torch.float64"),
        ("rounds to int", lambda a: torch.from_numpy(a).int().float(), "wrong values"),
        ("half precision", lambda a: torch.from_numpy(a).half(), "dtype torch.float16"),
    ],
    "02.ex4": [
        ("rebinds a = a + 1", _rebinds, "unchanged"),
        ("adds 2", lambda a: np.add(a, 2, out=a), "wrong values"),
        ("returns a copy", lambda a: a + 1, "unchanged"),
    ],
    "02.ex5": [
        ("numpy() on a grad tensor", lambda t: t.numpy(), "raised RuntimeError"),
        ("returns a tensor", lambda t: t.detach(), "should be a NumPy array"),
        ("a list", lambda t: t.tolist(), "should be a NumPy array, got list"),
        ("float32 everything", lambda t: t.detach().float().numpy(), "dtype float32"),
    ],
}
