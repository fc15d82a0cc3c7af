"""Checks for chapter 03, Autograd."""

import torch

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_close, expect_tensor
from torchcourse.i18n import N_


def _random(*shape, dtype=torch.float32, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 4 - 2).to(dtype)


def _autograd(f, x):
    """Reference: the gradient of f(x).sum() at x, computed by autograd on a copy."""
    x = x.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


def _untouched(x, before, requires_grad=False):
    """The learner's function must leave its input alone: values, requires_grad and grad."""
    if x.requires_grad != requires_grad or x.grad is not None:
        changes = []
        if x.requires_grad != requires_grad:
            changes.append("switched on requires_grad of the caller's x")
        if x.grad is not None:
            changes.append("filled the caller's x.grad")
        raise Mismatch(
            f"your function {' and '.join(changes)}; work on x.detach().requires_grad_(), "
            "a new tensor with the same numbers, instead."
        )
    if not torch.allclose(x.detach(), before, rtol=0, atol=1e-12):
        raise Mismatch("your function changed the values of the caller's x.")


@exercise(
    "03.ex1",
    hints=[N_("with s = torch.sigmoid(x), the derivative is s * (1 - s).")],
)
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
        (
            "y = x * 2, x itself requiring grad",
            lambda t: t * 2,
            torch.tensor([1.0, -1.0, 0.5]).requires_grad_(),
            torch.tensor([3.0, 2.0, 1.0]),
        ),
    ]


@exercise(
    "03.ex2",
    hints=[N_("x = x.detach().requires_grad_(); f(x).backward(v); return x.grad.")],
)
def _vjp(answer):
    for name, f, x, v in _vjp_cases():
        want = torch.autograd.functional.vjp(f, x.detach(), v)[1]
        before, requires_grad = x.detach().clone(), x.requires_grad
        got = call(answer, f, x, v.clone())
        _untouched(x, before, requires_grad)
        expect_tensor(got, want, f"vjp for {name}")
    return "vᵀJ is right for 4 functions, also when y and x differ in shape or x requires grad."


_ELEMENTWISE = [
    ("torch.sin", torch.sin, torch.cos),
    ("x**3 - 2*x", lambda t: t**3 - 2 * t, lambda t: 3 * t**2 - 2),
    ("torch.tanh", torch.tanh, lambda t: 1 - torch.tanh(t) ** 2),
    ("exp(-x**2)", lambda t: torch.exp(-(t**2)), lambda t: -2 * t * torch.exp(-(t**2))),
]


@exercise(
    "03.ex3",
    hints=[
        N_(
            "on x = x.detach().requires_grad_(), call f(x).sum().backward(); "
            "x.grad then holds f'(x) for every element."
        )
    ],
)
def _derivative(answer):
    shapes = [(7,), (2, 3), (2, 2, 2)]
    for (name, f, df), shape in zip(_ELEMENTWISE, shapes + [(5,)], strict=True):
        for dtype in (torch.float32, torch.float64):
            x = _random(*shape, dtype=dtype, seed=len(name))
            before = x.clone()
            got = call(answer, f, x)
            _untouched(x, before)
            dtype_name = str(dtype).replace("torch.", "")
            expect_tensor(got, df(x), f"derivative({name}, x) for x of shape {shape}, {dtype_name}")
    x = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
    got = call(answer, torch.sin, x)
    _untouched(x, x.detach().clone(), requires_grad=True)
    expect_tensor(got, torch.cos(x.detach()), "derivative(torch.sin, x) for x requiring grad")
    return "the derivatives of 4 functions, for several shapes and dtypes, x left alone."


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
    hints=[
        N_(
            "in the loop: w.grad = None, then loss_fn(w, batch).backward(), then "
            "keep w.grad; torch.stack the list at the end."
        )
    ],
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


class _BuggyCube(torch.autograd.Function):
    """x**3 with a wrong backward (3x instead of 3x**2)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x


class _BuggyProduct(torch.autograd.Function):
    """The product of all elements, with a backward that forgets to divide by x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.prod()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x.prod() * torch.ones_like(x)


def _expect_error(got, want, what, tol):
    """got must be close to want; explain the two usual reasons when it is small but wrong."""
    try:
        expect_close(got, want, what, atol=tol, rtol=1e-5)
    except Mismatch as wrong:
        value = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
        if not isinstance(value, float) or not 0 <= value < 1e-2 or want > 1e-2:
            raise
        if value > max(want, tol):
            raise Mismatch(
                f"{wrong} That is the size of a one-sided difference's error, which grows "
                "like h: use the central difference (f(x + step) - f(x - step)) / (2 * h)."
            ) from None
        if want > 0 and value < want / 10:
            raise Mismatch(
                f"{wrong} With h=0.01 the central difference of x**3 is off by exactly "
                "h**2 = 1e-4: use the h you are given."
            ) from None
        raise


def _f64(*values):
    return torch.tensor(values, dtype=torch.float64)


@exercise(
    "03.ex5",
    hints=[
        N_(
            "x = x.detach().requires_grad_(); f(x).backward(); then for each element i, "
            "step = zeros with h at i, numeric[i] = (f(x + step) - f(x - step)) / (2 * h); "
            "return (x.grad - numeric).abs().max().item()."
        )
    ],
)
def _gradient_error(answer):
    cube = _f64([1.0, 2.0], [3.0, -1.0])
    cases = [  # (what, f, x, the error it should report, tolerance)
        ("a correct sum(x**3)", lambda t: (t**3).sum(), cube, 0.0, 1e-6),
        ("the buggy cube", lambda t: _BuggyCube.apply(t).sum(), _f64(0.5, -1.5, 2.0), 11.25, 1e-5),
        (
            "a correct sin(x0 * x1) + sum(x)",
            lambda t: (t[0] * t[1]).sin() + t.sum(),
            _f64(0.3, -1.2, 2.0),
            0.0,
            1e-6,
        ),
        ("the buggy product", _BuggyProduct.apply, _f64(1.5, -2.0, 0.5), 2.25, 1e-5),
        (
            "the buggy cube, x requiring grad",
            lambda t: _BuggyCube.apply(t).sum(),
            _f64(0.5, -1.5, 2.0).requires_grad_(),
            11.25,
            1e-5,
        ),
    ]
    for what, f, x, want, tol in cases:
        before, requires_grad = x.detach().clone(), x.requires_grad
        got = call(answer, f, x)
        _untouched(x, before, requires_grad)
        _expect_error(got, want, f"gradient_error for {what}", tol)
    # With h = 0.01 a central difference of x**3 is off by exactly h**2 = 1e-4.
    got = call(answer, lambda t: (t**3).sum(), cube, h=1e-2)
    _expect_error(got, 1e-4, "gradient_error for a correct sum(x**3) with h=0.01", 1e-7)
    return "finds the buggy backward passes, passes the correct ones, and uses h as asked."
