"""Typical mistakes in chapter 01, Tensors."""

import torch

TENSOR_RESULTS = {"01.ex1", "01.ex2", "01.ex3", "01.ex4", "01.ex5", "01.ex6"}

WRONG = {
    "01.ex1": [
        ("int64 from arange", lambda r, c: torch.arange(r * c).reshape(r, c), "dtype torch.int64"),
        ("counts from 1", lambda r, c: torch.arange(1.0, r * c + 1).reshape(r, c), "wrong values"),
        (
            "transposed",
            lambda r, c: torch.arange(r * c, dtype=torch.float32).reshape(c, r).T,
            "wrong values",
        ),
        ("legacy Tensor(shape)", lambda r, c: torch.Tensor(r, c).zero_(), "wrong values"),
    ],
    "01.ex2": [
        ("first row only", lambda x: x[0, [0, -1]], "has shape (2,)"),
        ("diagonal corners", lambda x: x[:2, :2], "wrong values"),
        ("floats", lambda x: x[[0, -1]][:, [0, -1]].float(), "dtype"),
    ],
    "01.ex3": [
        ("flattens the batch too", lambda x: x.reshape(-1), "has shape"),
        ("hard-coded MNIST size", lambda x: x.reshape(-1, 784), "raised RuntimeError"),
        ("view on permuted input", lambda x: x.view(x.shape[0], -1), "raised RuntimeError"),
    ],
    "01.ex4": [
        ("elementwise", lambda a, b: a + b, "raised RuntimeError"),
        ("transposed table", lambda a, b: b[:, None] + a[None, :], "has shape"),
        ("product", lambda a, b: a[:, None] * b[None, :], "wrong values"),
    ],
    "01.ex5": [
        ("no transpose", lambda x, w, b: x @ w + b, "raised RuntimeError"),
        ("forgets bias", lambda x, w, b: x @ w.T, "wrong values"),
        ("elementwise product", lambda x, w, b: (x * w).sum(1) + b, "raised RuntimeError"),
    ],
    "01.ex6": [
        ("ignores device", lambda x, d: x.float(), "asked for device 'meta'"),
        ("keeps dtype", lambda x, d: x.to(d), "dtype torch.int64"),
        (
            "changes x in place",
            lambda x, d: x.mul_(1).add_(1).to(d, torch.float32) - 1,
            "changed x itself",
        ),
        ("float64", lambda x, d: x.to(d, torch.float64), "dtype torch.float64"),
    ],
}
