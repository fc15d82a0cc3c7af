"""Checks for chapter 03, Autograd."""

import numpy as np
import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_tensor


def _random(*shape, dtype=torch.float32, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 4 - 2).to(dtype)


def _autograd(f, x):
    """Reference: the gradient of f(x).sum() at x, computed by autograd on a copy."""
    x = x.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


def _untouched(x, before, what="x"):
    """The learner's function must leave its input alone: values, requires_grad and grad."""
    if x.requires_grad or x.grad is not None:
        raise Mismatch(
            f"your function switched on requires_grad on the caller's {what}; work on a copy: "
            "x = x.clone().requires_grad_()."
        )
    if not torch.allclose(x, before, rtol=0, atol=1e-12):
        raise Mismatch(f"your function changed the values of the caller's {what}.")


@exercise("03.ex1", hint="with s = torch.sigmoid(x), the derivative is s * (1 - s).")
def _sigmoid_grad(answer):
    cases = [
        torch.linspace(-10, 10, 21),
        _random(3, 4, dtype=torch.float64),
        _random(2, 1, 5) * 3,
    ]
    for x in cases:
        before = x.clone()
        got = call(answer, x)
        expect_tensor(
            got,
            _autograd(torch.sigmoid, x),
            f"sigmoid_grad of a {tuple(x.shape)} {str(x.dtype).replace('torch.', '')} tensor",
            atol=1e-6,
        )
        _untouched(x, before)
    return "your formula agrees with autograd everywhere."


def _vjp_cases():
    a = _random(3, 4, seed=5)
    generator = torch.Generator().manual_seed(4)
    return [
        (
            "y = x * 2",
            lambda t: t * 2,
            torch.rand(5, generator=generator),
            torch.tensor([1.0, 2, 3, 4, 5]),
        ),
        (
            "y = A @ x, A of shape (3, 4)",
            lambda t: a @ t,
            _random(4, seed=6),
            torch.tensor([1.0, -2.0, 0.5]),
        ),
        (
            "y = sin(x) * x.sum()",
            lambda t: t.sin() * t.sum(),
            _random(3, seed=7),
            torch.tensor([2.0, -1.0, 3.0]),
        ),
        (
            "y = x @ x.T, x of shape (2, 3)",
            lambda t: t @ t.T,
            _random(2, 3, seed=8),
            torch.tensor([[1.0, 2.0], [0.0, -1.0]]),
        ),
    ]


@exercise("03.ex2", hint="x = x.clone().requires_grad_(); f(x).backward(v); return x.grad.")
def _vjp(answer):
    for name, f, x, v in _vjp_cases():
        want = torch.autograd.functional.vjp(f, x, v)[1]
        before = x.clone()
        got = call(answer, f, x, v.clone())
        expect_tensor(got, want, f"vjp for {name}")
        _untouched(x, before)
    return "vᵀJ is right for 4 functions, also when y and x differ in shape."


_ELEMENTWISE = [
    ("torch.sin", torch.sin, torch.cos),
    ("x**3 - 2*x", lambda t: t**3 - 2 * t, lambda t: 3 * t**2 - 2),
    ("torch.tanh", torch.tanh, lambda t: 1 - torch.tanh(t) ** 2),
    ("exp(-x**2)", lambda t: torch.exp(-(t**2)), lambda t: -2 * t * torch.exp(-(t**2))),
]


@exercise(
    "03.ex3",
    hint="on x = x.clone().requires_grad_(), call f(x).sum().backward(); "
    "x.grad then holds f'(x) for every element.",
)
def _derivative(answer):
    shapes = [(7,), (2, 3), (2, 2, 2)]
    for (name, f, df), shape in zip(_ELEMENTWISE, shapes + [(5,)], strict=True):
        for dtype in (torch.float32, torch.float64):
            x = _random(*shape, dtype=dtype, seed=len(name))
            before = x.clone()
            got = call(answer, f, x)
            expect_tensor(
                got,
                df(x),
                f"derivative({name}, x) for x of shape {shape}, {str(dtype).replace('torch.', '')}",
            )
            _untouched(x, before)
    return "the derivatives of 4 functions, for several shapes and dtypes."


def _batches(count, rows, cols, seed):
    return [_random(rows, cols, seed=seed + i) for i in range(count)]


def _loss_cases():
    return [
        (
            "squared error",
            lambda w, batch: ((batch @ w - 1) ** 2).mean(),
            _random(3, seed=20),
            _batches(3, 4, 3, seed=21),
            None,
        ),
        (
            "tanh sum",
            lambda w, batch: (batch @ w).tanh().sum(),
            _random(2, 3, seed=30),
            _batches(4, 5, 2, seed=31),
            torch.full((2, 3), 5.0),
        ),
    ]


def _diagnose_batches(got, want, stale):
    """Explain the typical ways a per-batch gradient goes wrong, when one of them fits."""
    if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
        return
    if got.device.type != want.device.type:
        return
    got = got.detach()
    close = lambda a, b: torch.allclose(a, b, atol=1e-5, rtol=1e-5)  # noqa: E731
    if close(got, want.cumsum(0)) or (stale is not None and close(got, want.cumsum(0) + stale)):
        raise Mismatch(
            "the gradients add up from batch to batch: .grad accumulates, so reset "
            "w.grad (w.grad = None) before each backward."
        )
    if close(got, want[-1].expand_as(want)):
        raise Mismatch(
            "every row equals the last batch's gradient: you stored w.grad itself, "
            "which the next backward overwrites; store w.grad.clone()."
        )
    if stale is not None and close(got[0], want[0] + stale) and close(got[1:], want[1:]):
        raise Mismatch(
            "the first gradient includes what w.grad held before your loop: reset "
            "w.grad before each backward, not after."
        )


@exercise(
    "03.ex4",
    hint="in the loop: w.grad = None, then loss_fn(w, batch).backward(), then "
    "keep w.grad; torch.stack the list at the end.",
)
def _per_batch_grads(answer):
    for name, loss_fn, w0, batches, stale in _loss_cases():
        want = torch.stack([_batch_grad(loss_fn, w0, batch) for batch in batches])
        w = w0.clone().requires_grad_()
        if stale is not None:
            w.grad = stale.clone()
        got = call(answer, loss_fn, w, [b.clone() for b in batches])
        what = f"per_batch_grads for the {name} loss ({len(batches)} batches"
        what += ", w holding an old gradient)" if stale is not None else ")"
        _diagnose_batches(got, want, stale)
        expect_tensor(got, want, what)
    return "one clean gradient per batch, even when w arrives with an old gradient."


def _batch_grad(loss_fn, w0, batch):
    w = w0.clone().requires_grad_()
    (grad,) = torch.autograd.grad(loss_fn(w, batch), w)
    return grad


def _black_box(t):
    """A function autograd cannot see into: it goes through NumPy."""
    values = t.detach().cpu().numpy()
    return torch.tensor(float(np.cos(values).sum() + values[0] * values[1]), dtype=torch.float64)


def _diagnose_accuracy(got, want):
    """A result that is near the gradient but not accurate: most likely a one-sided difference."""
    if not isinstance(got, torch.Tensor) or got.shape != want.shape or got.dtype != want.dtype:
        return
    if got.device.type != want.device.type or torch.isnan(got).any():
        return
    error = (got.detach() - want).abs().max().item()
    if 1e-6 < error < 1e-2 and not torch.allclose(got, want, atol=1e-6, rtol=1e-6):
        raise Mismatch(
            f"close, but off by up to {error:.1e}: a one-sided difference (f(x + h) - f(x)) / h "
            "has an error of order h; the central difference is far more accurate."
        )


@exercise(
    "03.ex5",
    hint="for each element i: step = zeros with h at position i; "
    "grad[i] = (f(x + step) - f(x - step)) / (2 * h).",
)
def _numerical_grad(answer):
    cube = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=torch.float64)
    prod = torch.tensor([1.5, -2.0, 0.5], dtype=torch.float64)
    box = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float64)
    box_grad = -torch.sin(box) + torch.tensor([box[1], box[0], 0.0], dtype=torch.float64)
    cases = [
        ("sum(x**3)", lambda t: (t**3).sum(), cube, {"h": 1e-4}, 3 * cube**2),
        ("prod(x)", lambda t: t.prod(), prod, {}, prod.prod() / prod),
        ("a NumPy black box", _black_box, box, {}, box_grad),
    ]
    for name, f, x, kwargs, want in cases:
        before = x.clone()
        got = call(answer, f, x, **kwargs)
        if not torch.allclose(x, before, rtol=0, atol=1e-12):
            raise Mismatch(
                "x is not the same after your function: nudge a copy (x + step), "
                "or put every element back."
            )
        step = f", h={kwargs['h']}" if kwargs else ""
        _diagnose_accuracy(got, want)
        expect_tensor(
            got,
            want,
            f"numerical_grad({name}, x of shape {tuple(x.shape)}{step})",
            atol=1e-6,
            rtol=1e-6,
        )
    return "central differences match the true gradient, x untouched."
