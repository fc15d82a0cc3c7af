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


def _triple_by_adding(x, limit):
    while x.abs().sum() < limit:
        x = x + x + x
    return x


def _triple_with_item_in_the_condition(x, limit):
    while x.abs().sum().item() < limit:
        x = 3 * x
    return x


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
        ("x + x + x", _triple_by_adding),
        (".item() in the condition only", _triple_with_item_in_the_condition),
    ],
}
