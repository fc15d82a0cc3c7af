"""Checks for chapter 03, Autograd."""

import torch
from torch.overrides import TorchFunctionMode

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_close, expect_tensor
from torchcourse.i18n import N_, _


def _random(*shape, dtype=torch.float32, seed=3):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 4 - 2).to(dtype)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _autograd(f, x):
    """Reference: the gradient of f(x).sum() at x, computed by autograd on a copy."""
    x = x.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


def _untouched(x, before, requires_grad=False):
    """The learner's function must leave its input alone: values, requires_grad and grad."""
    switched, filled = x.requires_grad != requires_grad, x.grad is not None
    if switched and filled:
        raise Mismatch(
            _(
                "your function switched on requires_grad of the caller's x and filled its .grad; "
                "work on x.detach().requires_grad_(), a new tensor with the same numbers"
            )
        )
    if switched:
        raise Mismatch(
            _(
                "your function switched on requires_grad of the caller's x; work on "
                "x.detach().requires_grad_(), a new tensor with the same numbers"
            )
        )
    if filled:
        raise Mismatch(
            _(
                "your function filled the caller's x.grad; work on x.detach().requires_grad_(), "
                "a new tensor with the same numbers that is cut off from the caller's x"
            )
        )
    if not torch.allclose(x.detach(), before, rtol=0, atol=1e-12):
        raise Mismatch(_("your function changed the values of the caller's x"))


class _AutogradSpy(TorchFunctionMode):
    """Notes whether the code inside runs a backward pass (backward or autograd.grad, which
    torch.func.grad and autograd.functional call too) or forward-mode AD (dual tensors, which
    torch.func.jvp makes too)."""

    _BACKWARD = (torch.Tensor.backward, torch.autograd.backward, torch.autograd.grad)
    _FORWARD = (torch._make_dual, torch._unpack_dual)

    def __init__(self):
        super().__init__()
        self.used = False  # a backward pass
        self.forward = False  # forward-mode AD

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if any(func is entry for entry in self._BACKWARD):
            self.used = True
        if any(func is entry for entry in self._FORWARD):
            self.forward = True
        return func(*args, **(kwargs or {}))


_OWN_FORMULA = N_(
    "this exercise is about the derivative you work out on paper: your function computes it "
    "from σ(x) with ordinary tensor arithmetic, and autograd's only job is the check's "
    "comparison."
)


@exercise(
    "03.ex1",
    hints=[
        N_(
            "Differentiate 1 / (1 + e^(-x)) with the chain rule, then look for σ(x) itself "
            "in the result."
        ),
        N_(
            "The chain rule gives a fraction with (1 + e^(-x))² below. Split it into a product "
            "of two fractions, each with 1 + e^(-x) below: one of them is σ(x) itself, and the "
            "other can be written with σ(x) too (what is 1 minus σ(x)?)."
        ),
        N_("s = torch.sigmoid(x); return s * (1 - s)"),
    ],
)
def _sigmoid_grad(answer):
    cases = [
        torch.linspace(-10, 10, 21),
        _random(3, 4, dtype=torch.float64),
        _random(2, 1, 5) * 3,
    ]
    for x in cases:
        want, before = _autograd(torch.sigmoid, x), x.clone()
        with _AutogradSpy() as spy:
            got = call(answer, x)
        if spy.used:
            raise Mismatch(
                _(
                    "your function runs a backward pass (backward or torch.autograd.grad): "
                    "this exercise asks for your own formula, which the check then compares "
                    "with autograd"
                ),
                hint=_OWN_FORMULA,
            )
        if spy.forward:
            raise Mismatch(
                _(
                    "your function uses forward-mode automatic differentiation (dual tensors "
                    "or torch.func.jvp): this exercise asks for your own formula, without "
                    "autograd in either direction"
                ),
                hint=_OWN_FORMULA,
            )
        expect_tensor(
            got,
            want,
            _("sigmoid_grad of a {shape} {dtype} tensor").format(
                shape=tuple(x.shape), dtype=_dtype_name(x.dtype)
            ),
            atol=1e-6,
        )
        _untouched(x, before)
    return _("your formula agrees with autograd everywhere.")


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
            _("y = x * 2, x itself requiring grad"),
            lambda t: t * 2,
            torch.tensor([1.0, -1.0, 0.5]).requires_grad_(),
            torch.tensor([3.0, 2.0, 1.0]),
        ),
    ]


@exercise(
    "03.ex2",
    hints=[
        N_(
            "Section 4: backward with a gradient argument v, called on a non-scalar result, "
            "computes exactly vᵀJ and stores it in the .grad of the leaf that records."
        ),
        N_(
            "Make that leaf from x as the statement says, call f on the leaf, call backward "
            "on the result with v as its argument, and return the leaf's .grad."
        ),
        N_("x = x.detach().requires_grad_(); f(x).backward(v); return x.grad"),
    ],
)
def _vjp(answer):
    for name, f, x, v in _vjp_cases():
        want = torch.autograd.functional.vjp(f, x.detach(), v)[1]
        before, requires_grad = x.detach().clone(), x.requires_grad
        got = call(answer, f, x, v.clone())
        _untouched(x, before, requires_grad)
        expect_tensor(got, want, _("vjp for {name}").format(name=name))
    return _("vᵀJ is right for 4 functions, also when y and x differ in shape or x requires grad.")


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
            "For an elementwise f the Jacobian is diagonal, so a vector-Jacobian product with "
            "v full of ones is the list of derivatives f'(x_i) (section 5)."
        ),
        N_(
            "Summing first gives the same ones: from a fresh leaf made as in exercise 2, call "
            "backward on the sum of f of the leaf, then return the leaf's .grad."
        ),
        N_("x = x.detach().requires_grad_(); f(x).sum().backward(); return x.grad"),
    ],
)
def _derivative(answer):
    shapes = [(7,), (2, 3), (2, 2, 2)]
    for (name, f, df), shape in zip(_ELEMENTWISE, shapes + [(5,)], strict=True):
        for dtype in (torch.float32, torch.float64):
            x = _random(*shape, dtype=dtype, seed=len(name))
            want, before = df(x), x.clone()
            with _AutogradSpy() as spy:
                got = call(answer, f, x)
            _untouched(x, before)
            expect_tensor(
                got,
                want,
                _("derivative({name}, x) for x of shape {shape}, {dtype}").format(
                    name=name, shape=shape, dtype=_dtype_name(dtype)
                ),
            )
            if not (spy.used or spy.forward):
                raise Mismatch(
                    _(
                        "derivative({name}, x) never ran autograd (no backward pass): the "
                        "exercise asks for autograd's derivative, not an estimate from finite "
                        "differences"
                    ).format(name=name),
                    hint=N_(
                        "nudging x by a small step only estimates the derivative; autograd "
                        "gives it exactly. Make a leaf that records from x, run f on it, and "
                        "let a backward pass fill in the leaf's gradient."
                    ),
                )
    x = torch.tensor([0.5, -2.0, 3.0], requires_grad=True)
    want, before = torch.cos(x.detach()), x.detach().clone()
    got = call(answer, torch.sin, x)
    _untouched(x, before, requires_grad=True)
    expect_tensor(got, want, _("derivative(torch.sin, x) for x requiring grad"))
    return _("the derivatives of 4 functions, for several shapes and dtypes, x left alone.")


def _batches(count, rows, cols, seed):
    return [_random(rows, cols, seed=seed + i) for i in range(count)]


def _loss_cases():
    return [
        (
            _("squared error"),
            lambda w, batch: ((batch @ w - 1) ** 2).mean(),
            _random(3, seed=20),
            _batches(3, 4, 3, seed=21),
            None,
        ),
        (
            _("tanh sum"),
            lambda w, batch: (batch @ w).tanh().sum(),
            _random(2, 3, seed=30),
            _batches(4, 5, 2, seed=31),
            torch.full((2, 3), 5.0),
        ),
    ]


_ACCUMULATES = N_(
    "backward adds the new gradient to whatever w.grad already holds; a clean gradient for one "
    "batch needs an empty w.grad when that batch's backward starts."
)
_CALLERS_GRAD = N_(
    "the caller may still need the gradient w.grad held before your function ran: keep that "
    "tensor aside at the start and put it back at the end."
)


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
            _(
                "the gradients add up from batch to batch: .grad accumulates, so empty "
                "w.grad (set it to None) before each backward"
            ),
            hint=_ACCUMULATES,
        )
    if close(got, want[-1].expand_as(want)):
        raise Mismatch(
            _(
                "every row equals the last batch's gradient: you stored the tensor w.grad "
                "itself, which the next backward changes in place; store a copy (.clone()) "
                "or give each backward a fresh w.grad (None)"
            ),
            hint=N_(
                "a list holds references, not copies: when the next backward adds into the "
                "same tensor, every entry that refers to it changes too."
            ),
        )
    if stale is not None and close(got[0], want[0] + stale) and close(got[1:], want[1:]):
        raise Mismatch(
            _(
                "the first gradient includes what w.grad held before your loop: empty w.grad "
                "before each backward, not after"
            ),
            hint=_ACCUMULATES,
        )


def _expect_w_as_found(w, w0, stale):
    """After the call, w must hold its old values and the caller's old gradient (or None)."""
    if not torch.equal(w.detach(), w0) or not w.requires_grad:
        raise Mismatch(_("your function changed w itself (its values or requires_grad)"))
    if stale is None and w.grad is not None:
        raise Mismatch(
            _(
                "w.grad was None when your function was called and holds a gradient when it "
                "returns: put the caller's gradient back (here None) before returning"
            ),
            hint=_CALLERS_GRAD,
        )
    if stale is not None and (
        w.grad is None or w.grad.shape != stale.shape or not torch.equal(w.grad, stale)
    ):
        raise Mismatch(
            _(
                "w.grad no longer holds the gradient it had when your function was called: "
                "keep the caller's gradient aside (unchanged) and put it back before returning"
            ),
            hint=_CALLERS_GRAD,
        )


@exercise(
    "03.ex4",
    hints=[
        N_(
            "backward adds into w.grad, so each batch needs an empty w.grad before its backward; "
            "and the caller's gradient must be back in w.grad when you return."
        ),
        N_(
            "Three things to get right: what w.grad holds when each batch's backward starts, "
            "whether what you keep from a batch can still be changed by the next backward, and "
            "what w.grad holds when your function returns (the caller's value, even None)."
        ),
        N_(
            "old = w.grad; then for each batch: w.grad = None; loss_fn(w, batch).backward(); "
            "grads.append(w.grad); after the loop w.grad = old; return torch.stack(grads)"
        ),
    ],
)
def _per_batch_grads(answer):
    for name, loss_fn, w0, batches, stale in _loss_cases():
        want = torch.stack([_batch_grad(loss_fn, w0, batch) for batch in batches])
        w = w0.clone().requires_grad_()
        if stale is not None:
            w.grad = stale.clone()
        got = call(answer, loss_fn, w, [b.clone() for b in batches])
        if stale is None:
            what = _("per_batch_grads for the {name} loss ({count} batches)")
        else:
            what = _(
                "per_batch_grads for the {name} loss ({count} batches, w holding an old gradient)"
            )
        what = what.format(name=name, count=len(batches))
        _diagnose_batches(got, want, stale)
        expect_tensor(got, want, what)
        _expect_w_as_found(w, w0, stale)
    return _("one clean gradient per batch, and w.grad as the caller left it.")


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


def _float32_gap(f, x, h) -> float:
    """What a correct answer returns when its numeric gradient sits in a float32 buffer."""
    x = x.detach().clone().requires_grad_()
    (grad,) = torch.autograd.grad(f(x), x)
    numeric = torch.zeros(x.numel(), dtype=torch.float32)
    with torch.no_grad():
        for i in range(x.numel()):
            step = torch.zeros(x.numel(), dtype=x.dtype)
            step[i] = h
            step = step.reshape(x.shape)
            numeric[i] = ((f(x + step) - f(x - step)) / (2 * h)).item()
    return (grad - numeric.double().reshape(x.shape)).abs().max().item()


def _expect_error(got, want, what, tol, float32_gap):
    """got must be close to want; explain the three usual reasons when it is small but wrong."""
    try:
        expect_close(got, want, what, atol=tol, rtol=1e-5)
    except Mismatch as wrong:
        value = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
        if not isinstance(value, float) or not 0 <= value < 1e-2 or want > 1e-2:
            raise
        if float32_gap > tol and abs(value - float32_gap) <= max(tol, abs(value - want) / 10):
            raise Mismatch(
                _(
                    "{wrong}. That is the rounding of a float32 buffer: the numeric gradient "
                    "went into a tensor of the default dtype, float32, which keeps about 7 "
                    "digits; give the tensors you create x's dtype (float64)"
                ).format(wrong=str(wrong).rstrip(".")),
                hint=N_(
                    "a tensor created without a dtype is float32, and float64 numbers written "
                    "into it are rounded to float32's precision; make each new tensor with the "
                    "dtype of x."
                ),
            ) from None
        if value > max(want, tol):
            raise Mismatch(
                _(
                    "{wrong}. That is the size of a one-sided difference's error, which grows "
                    "like h: use the central difference, (f(x + step) - f(x - step)) / (2 * h)"
                ).format(wrong=str(wrong).rstrip(".")),
                hint=N_(
                    "a one-sided difference compares f at x and at one nudged point; the "
                    "statement nudges both ways, which cancels the error term that grows like h."
                ),
            ) from None
        if want > 0 and value < want / 10:
            raise Mismatch(
                _(
                    "{wrong}. With h = 0.01 the central difference of x**3 is off by exactly "
                    "h**2 = 1e-4: use the h you are given"
                ).format(wrong=str(wrong).rstrip(".")),
                hint=N_(
                    "the step h is an argument of your function, with a default value: the "
                    "check passes other steps, and your differences must use the one passed."
                ),
            ) from None
        raise


def _f64(*values):
    return torch.tensor(values, dtype=torch.float64)


@exercise(
    "03.ex5",
    hints=[
        N_(
            "Compute two gradients of the same f at the same x, one by autograd and one element "
            "by element from central differences, then return the largest absolute gap."
        ),
        N_(
            "For the numeric gradient, visit the elements of x one at a time: nudge only that "
            "element up and down by h (a tensor of zeros with h in one place does it), and store "
            "each central difference in a tensor of x's shape and dtype."
        ),
        N_(
            "x = x.detach().requires_grad_(); f(x).backward(); numeric = torch.zeros(x.numel(), "
            "dtype=x.dtype); for each i: step = torch.zeros_like(numeric); step[i] = h; "
            "step = step.reshape(x.shape); numeric[i] = (f(x + step) - f(x - step)) / (2 * h); "
            "finally return (x.grad - numeric.reshape(x.shape)).abs().max().item()"
        ),
    ],
)
def _gradient_error(answer):
    cube = _f64([1.0, 2.0], [3.0, -1.0])
    cases = [  # (what, f, x, the error it should report, tolerance)
        (_("a correct sum(x**3)"), lambda t: (t**3).sum(), cube, 0.0, 1e-6),
        (
            _("the buggy cube"),
            lambda t: _BuggyCube.apply(t).sum(),
            _f64(0.5, -1.5, 2.0),
            11.25,
            1e-5,
        ),
        (
            _("a correct sin(x0 * x1) + sum(x)"),
            lambda t: (t[0] * t[1]).sin() + t.sum(),
            _f64(0.3, -1.2, 2.0),
            0.0,
            1e-6,
        ),
        (_("the buggy product"), _BuggyProduct.apply, _f64(1.5, -2.0, 0.5), 2.25, 1e-5),
        (
            _("the buggy cube, x requiring grad"),
            lambda t: _BuggyCube.apply(t).sum(),
            _f64(0.5, -1.5, 2.0).requires_grad_(),
            11.25,
            1e-5,
        ),
    ]
    for what, f, x, want, tol in cases:
        before, requires_grad = x.detach().clone(), x.requires_grad
        float32_gap = _float32_gap(f, x, 1e-6)
        got = call(answer, f, x)
        _untouched(x, before, requires_grad)
        _expect_error(got, want, _("gradient_error for {what}").format(what=what), tol, float32_gap)
    # With h = 0.01 a central difference of x**3 is off by exactly h**2 = 1e-4.
    cubes = lambda t: (t**3).sum()  # noqa: E731
    float32_gap = _float32_gap(cubes, cube, 1e-2)
    got = call(answer, cubes, cube, h=1e-2)
    what = _("gradient_error for a correct sum(x**3) with h=0.01")
    _expect_error(got, 1e-4, what, 1e-7, float32_gap)
    return _("finds the buggy backward passes, passes the correct ones, and uses h as asked.")
