"""Typical mistakes in chapter 02, NumPy interop."""

import numpy as np
import torch

TENSOR_RESULTS = {"02.ex1", "02.ex2", "02.ex3"}


def _rebinds(a):
    a = a + 1  # noqa: F841 - the classic mistake: only the local name changes


def _copies_then_adds(a):
    a = a.copy()
    a += 1


def _writes_into_the_array(a):
    t = torch.from_numpy(a)
    a[...] = 0
    return t


WRONG = {
    "02.ex1": [
        ("torch.tensor copies", lambda a: torch.tensor(a), "it is a copy", "which is which"),
        ("float32 copy", lambda a: torch.from_numpy(a).float(), "dtype torch.float32"),
        ("returns the array", lambda a: a, "should be a torch.Tensor, got ndarray"),
        (
            "a contiguous copy first",
            lambda a: torch.from_numpy(np.ascontiguousarray(a)),
            "it is a copy",
            "which is which",
        ),
        (
            "clears the array",
            _writes_into_the_array,
            "changed its argument `a`",
            "an in-place operation",
        ),
    ],
    "02.ex2": [
        (
            "from_numpy shares",
            lambda a: torch.from_numpy(a),
            "shares the array's memory",
            "wants the conversion that copies",
        ),
        (
            "as_tensor shares",
            lambda a: torch.as_tensor(a),
            "shares the array's memory",
            "wants the conversion that copies",
        ),
        ("default dtype", lambda a: torch.tensor(a.tolist()), "dtype torch.int64"),
        ("float32 always", lambda a: torch.tensor(a, dtype=torch.float32), "dtype torch.float32"),
    ],
    "02.ex3": [
        ("keeps float64", lambda a: torch.from_numpy(a), "dtype torch.float64"),
        ("rounds to int", lambda a: torch.from_numpy(a).int().float(), "wrong values"),
        ("half precision", lambda a: torch.from_numpy(a).half(), "dtype torch.float16"),
        (
            "converts the array in place",
            lambda a: torch.from_numpy(a.round(out=a)).float(),
            "`a`",
            "an in-place operation",
        ),
    ],
    "02.ex4": [
        ("rebinds a = a + 1", _rebinds, "only makes your local name", "what is written into"),
        ("adds 2", lambda a: np.add(a, 2, out=a), "wrong values"),
        ("returns a copy", lambda a: a + 1, "returned a new array", "what is written into"),
        ("adds to a copy", _copies_then_adds, "unchanged", "what is written into"),
        (
            "returns a tensor",
            lambda a: torch.from_numpy(a) + 1,
            "returned Tensor",
            "what is written into",
        ),
    ],
    "02.ex5": [
        ("numpy() on a grad tensor", lambda t: t.numpy(), "raised RuntimeError"),
        ("returns a tensor", lambda t: t.detach(), "should be a NumPy array"),
        ("a list", lambda t: t.tolist(), "should be a NumPy array, got list"),
        ("float32 everything", lambda t: t.detach().float().numpy(), "dtype float32"),
        ("no .cpu()", lambda t: t.detach().numpy(), ".cpu() first", "main memory"),
        (
            "np.asarray without .cpu()",
            lambda t: np.asarray(t.detach()),
            ".cpu() first",
            "main memory",
        ),
        ("no .detach()", lambda t: t.cpu().numpy(), "raised RuntimeError"),
    ],
}
