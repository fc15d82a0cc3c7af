"""Correct answers to chapter 00 that differ from the reference: each must pass its check."""

import torch


def _triple_recursive(x, limit):
    if x.abs().sum() >= limit:
        return x
    return _triple_recursive(x * 3, limit)


def _triple_with_break(x, limit):
    while True:
        if torch.ge(x.abs().sum(), limit):
            return x
        x = torch.mul(x, 3)


def _triple_counting_steps(x, limit):
    steps = 0
    while (x * 3**steps).abs().sum() < limit:
        steps += 1
    return x * 3**steps


RIGHT = {
    "00.ex1": [
        ("torch.add and torch.mul", lambda c: torch.add(torch.mul(c, 1.8), 32)),
        ("methods", lambda c: c.mul(9).div(5).add(32)),
        ("one fraction", lambda c: (c * 9 + 160) / 5),
        ("1.8 times", lambda c: 1.8 * c + 32.0),
    ],
    "00.ex2": [
        ("recursion", _triple_recursive),
        ("while True with torch.mul", _triple_with_break),
        ("count the steps, multiply once", _triple_counting_steps),
    ],
}
