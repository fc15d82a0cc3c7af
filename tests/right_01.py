"""Correct answers to chapter 01 that differ from the reference: each must pass its check."""

import math

import torch


def _grid_loops(rows, cols):
    grid = torch.zeros(rows, cols)
    for r in range(rows):
        for c in range(cols):
            grid[r, c] = r * cols + c
    return grid


def _outer_double_loop(a, b):
    table = torch.empty(len(a), len(b), dtype=a.dtype)
    for i in range(len(a)):
        for j in range(len(b)):
            table[i, j] = a[i] + b[j]
    return table


def _corners_by_hand(x):
    top = torch.stack([x[0, 0], x[0, -1]])
    bottom = torch.stack([x[-1, 0], x[-1, -1]])
    return torch.stack([top, bottom])


def _linear_loop(x, weight, bias):
    rows = [torch.stack([example.dot(w) for w in weight]) for example in x]
    return torch.stack(rows) + bias


RIGHT = {
    "01.ex1": [
        ("arange from a float, view", lambda r, c: torch.arange(0.0, r * c).view(r, c)),
        (
            "broadcast rows and columns",
            lambda r, c: (torch.arange(r)[:, None] * c + torch.arange(c)).float(),
        ),
        ("two loops into zeros", _grid_loops),
        (
            "nested list",
            lambda r, c: torch.tensor([[i * c + j for j in range(c)] for i in range(r)]).float(),
        ),
    ],
    "01.ex2": [
        ("columns first", lambda x: x[:, [0, -1]][[0, -1]]),
        ("broadcast index lists", lambda x: x[[[0], [-1]], [0, -1]]),
        (
            "index_select twice",
            lambda x: x.index_select(0, torch.tensor([0, len(x) - 1])).index_select(
                1, torch.tensor([0, x.shape[1] - 1])
            ),
        ),
        ("stacked elements", _corners_by_hand),
        ("four slices", lambda x: torch.cat([x[:1], x[-1:]])[:, torch.tensor([0, -1])]),
        (
            "stack of two rows",
            lambda x: torch.stack([x[0, [0, -1]], x[-1, [0, -1]]]),
        ),
        (
            "advanced indexing with tensors",
            lambda x: x[torch.tensor([[0], [x.shape[0] - 1]]), torch.tensor([0, x.shape[1] - 1])],
        ),
        (
            "new_tensor keeps dtype",
            lambda x: x.new_tensor([[x[0, 0], x[0, -1]], [x[-1, 0], x[-1, -1]]]),
        ),
    ],
    "01.ex3": [
        ("flatten(1)", lambda x: x.flatten(1)),
        ("torch.flatten start_dim", lambda x: torch.flatten(x, start_dim=1)),
        ("contiguous then view", lambda x: x.contiguous().view(len(x), -1)),
        ("product of sizes", lambda x: x.reshape(len(x), math.prod(x.shape[1:]))),
        ("nn.Flatten", lambda x: torch.nn.Flatten()(x)),
    ],
    "01.ex4": [
        ("unsqueeze", lambda a, b: a.unsqueeze(1) + b),
        ("reshape to a column", lambda a, b: a.reshape(-1, 1) + b.reshape(1, -1)),
        ("expand both", lambda a, b: a[:, None].expand(len(a), len(b)) + b.expand(len(a), -1)),
        ("double loop", _outer_double_loop),
        ("stack of rows", lambda a, b: torch.stack([ai + b for ai in a])),
    ],
    "01.ex5": [
        ("nn.functional.linear", lambda x, w, b: torch.nn.functional.linear(x, w, b)),
        ("torch.addmm", lambda x, w, b: torch.addmm(b, x, w.t())),
        ("einsum", lambda x, w, b: torch.einsum("bi,oi->bo", x, w) + b),
        ("matmul of transposes", lambda x, w, b: torch.matmul(w, x.T).T + b),
        ("broadcast and sum", lambda x, w, b: (x[:, None, :] * w).sum(dim=2) + b),
        ("dot products in a loop", _linear_loop),
    ],
    "01.ex6": [
        ("clone, then to", lambda x, d: x.clone().to(d, torch.float32)),
        ("to, then float, then clone", lambda x, d: x.to(d).float().clone()),
        (
            "empty_like and copy_",
            lambda x, d: torch.empty_like(x, dtype=torch.float32, device=d).copy_(x),
        ),
        ("torch.tensor copies", lambda x, d: torch.tensor(x, dtype=torch.float32, device=d)),
        ("keyword copy=True", lambda x, d: x.float().to(device=d, copy=True)),
    ],
}
