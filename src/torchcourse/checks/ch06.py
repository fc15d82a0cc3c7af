"""Checks for chapter 06, the same network in NumPy and PyTorch."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import (
    call,
    call_leaving_inputs,
    expect_array,
    expect_close,
    expect_tensor,
    expect_unchanged,
    kind_of,
    snapshot,
)
from torchcourse.i18n import N_, _

PARAM_NAMES = ("wh", "bh", "wout", "bout")


# --- 06.ex1: the sigmoid's slope at its input, in NumPy ---------------------------------------


def _slope_cases() -> list[np.ndarray]:
    """Inputs of both dtypes, one of them 2-D, and values where np.exp overflows."""
    return [
        np.linspace(-6, 6, 13),
        np.array([[0.0, 0.5], [-2.0, 3.0]]),
        np.array([-100.0, -30.0, 30.0, 100.0], dtype=np.float32),
        np.array([-1000.0, -40.0, 40.0, 1000.0]),
    ]


def _true_slope(z: np.ndarray) -> np.ndarray:
    """Autograd's derivative of the sigmoid at z (computed in float64), in z's dtype."""
    leaf = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(leaf).sum().backward()
    return leaf.grad.numpy().astype(z.dtype)


def _diagnose_slope(got: object, z: np.ndarray, want: np.ndarray) -> None:
    """Name the classic mistakes before the generic comparison does."""
    if isinstance(got, torch.Tensor):
        raise Mismatch(
            _("sigmoid_grad returned a torch.Tensor: this exercise is in NumPy, return an array"),
            hint=N_(
                "this part of the chapter writes the network in NumPy alone: arrays in, arrays "
                "out, with no torch function on the way."
            ),
        )
    if not isinstance(got, np.ndarray) or got.shape != z.shape or got.dtype.kind != "f":
        return
    nan = np.isnan(got)
    if nan.any() and not np.isnan(want).any():
        raise Mismatch(
            _(
                "sigmoid_grad is NaN at z = {z:g}: np.exp overflows to inf there, and a ratio "
                "or a difference of two infinities is NaN"
            ).format(z=float(z[nan][0])),
            hint=N_(
                "for large |z| an exponential overflows to inf, and inf / inf or inf - inf is "
                "NaN; the lesson's sigmoid avoids that, so build the slope on its output."
            ),
        )
    z64, got64 = z.astype(np.float64), got.astype(np.float64)
    with np.errstate(all="ignore"):
        if np.allclose(got64, z64 * (1 - z64)):
            raise Mismatch(
                _(
                    "sigmoid_grad(z) equals z (1 - z): that is the slope formula a (1 - a) for "
                    "the sigmoid's output a, applied to the input z itself"
                ),
                hint=N_(
                    "the slope formula a (1 - a) is written for the sigmoid's output a, and z is "
                    "the sigmoid's input: one step is missing before the formula."
                ),
            )
        if np.allclose(got64, 1 / (1 + np.exp(-z64))):
            raise Mismatch(_("sigmoid_grad(z) equals the sigmoid itself, not its derivative"))


@exercise(
    "06.ex1",
    hints=[
        N_(
            "The derivative of the sigmoid can be written with the sigmoid's own value: "
            "sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)). Which of the two, z or sigmoid(z), "
            "does the formula a (1 - a) expect?"
        ),
        N_(
            "Compute the sigmoid of z first (the lesson's sigmoid works on arrays of any shape "
            "and dtype), then apply the output-based slope to that value. Avoid dividing one "
            "exponential by another: both overflow to inf for large |z|."
        ),
        N_("return sigmoid_slope(sigmoid(z))  (or: s = sigmoid(z); return s * (1 - s))"),
    ],
)
def _sigmoid_grad(answer):
    for z in _slope_cases():
        want = _true_slope(z)
        got = call_leaving_inputs(answer, z, names=("z",))
        _diagnose_slope(got, z, want)
        what = _("sigmoid_grad of a {dtype} array of shape {shape}").format(
            dtype=z.dtype, shape=z.shape
        )
        expect_array(got, want, what, atol=1e-7)
    return _("equals autograd's slope in float32 and float64, also where np.exp overflows.")


# --- 06.ex2: the backward pass in NumPy --------------------------------------------------------


def _toy_problem(n_examples, n_in, n_hidden, seed, dtype=torch.float64):
    """Inputs, targets and the four parameters of the two-layer sigmoid network."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 2, (n_examples, n_in), generator=generator).to(dtype)
    y = torch.randint(0, 2, (n_examples, 1), generator=generator).to(dtype)
    shapes = [(n_in, n_hidden), (1, n_hidden), (n_hidden, 1), (1, 1)]
    params = [torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1 for shape in shapes]
    return x, y, params


def _autograd_reference(x, y, params):
    """The forward pass, and autograd's gradients of the loss 1/2 sum (output - y)^2."""
    leaves = [p.clone().requires_grad_(True) for p in params]
    wh, bh, wout, bout = leaves
    hidden = torch.sigmoid(x @ wh + bh)
    output = torch.sigmoid(hidden @ wout + bout)
    loss = 0.5 * ((output - y) ** 2).sum()
    grads = torch.autograd.grad(loss, leaves)
    return output.detach(), grads


def _expect_four(got: object) -> None:
    if isinstance(got, (tuple, list)) and len(got) == 4:
        return
    if isinstance(got, (tuple, list)):
        raise Mismatch(
            _(
                "return a tuple of the four gradient arrays, in the order of wh, bh, wout and "
                "bout; got a {kind} of length {length}"
            ).format(kind=kind_of(got), length=len(got))
        )
    raise Mismatch(
        _(
            "return a tuple of the four gradient arrays, in the order of wh, bh, wout and "
            "bout; got {kind}"
        ).format(kind=kind_of(got))
    )


def _diagnose_copied_bias(name, got, want, d_output_sum, what):
    """d_bh filled with the summed output delta: the copied code's bug 2."""
    copied = np.full_like(want, d_output_sum)
    if name == "bh" and not np.allclose(want, copied) and np.allclose(got, copied, atol=1e-9):
        raise Mismatch(
            _(
                "{what} is the summed delta of the output layer, the same number for every "
                "hidden unit (the copied code's bug 2): each hidden unit has its own delta"
            ).format(what=what)
        )


@exercise(
    "06.ex2",
    hints=[
        N_(
            "Work backwards through the table of section 1: first delta at the output, then "
            "the output layer's two gradients, then delta one layer down, then the hidden "
            "layer's two gradients."
        ),
        N_(
            "A weight gradient is the layer's input, transposed, times the layer's delta; a "
            "bias gradient is the delta summed over the examples (axis 0), kept as a row with "
            "keepdims=True. The loss's gradient at the output is (output - y), not the "
            "original's (y - output)."
        ),
        N_(
            "d_output = (output - y) * sigmoid_slope(output); "
            "d_hidden = (d_output @ wout.T) * sigmoid_slope(hidden); then "
            "d_wout = hidden.T @ d_output, d_bout = d_output.sum(axis=0, keepdims=True), "
            "d_wh = X.T @ d_hidden, d_bh = d_hidden.sum(axis=0, keepdims=True)."
        ),
    ],
)
def _numpy_gradients(answer):
    for n_examples, n_in, n_hidden, seed in [(3, 4, 3, 0), (5, 2, 4, 1), (1, 6, 2, 2)]:
        x, y, params = _toy_problem(n_examples, n_in, n_hidden, seed)
        grads = _autograd_reference(x, y, params)[1]
        arrays = [t.numpy().copy() for t in (x, y, *params)]
        got = call_leaving_inputs(answer, *arrays, names=("X", "y", *PARAM_NAMES))
        _expect_four(got)
        for name, got_grad, want in zip(PARAM_NAMES, got, grads):
            what = _("d_{name} for X of shape {shape} and {hidden} hidden units").format(
                name=name, shape=tuple(x.shape), hidden=n_hidden
            )
            if isinstance(got_grad, np.ndarray) and got_grad.shape == tuple(want.shape):
                _diagnose_copied_bias(name, got_grad, want.numpy(), grads[3].sum().item(), what)
                if np.allclose(got_grad, -want.numpy(), atol=1e-9):
                    raise Mismatch(
                        _(
                            "{what} has the wrong sign: that is the direction the original "
                            "code adds, built from (y - output); the gradient of the loss is "
                            "built from (output - y)"
                        ).format(what=what)
                    )
            expect_array(got_grad, want.numpy(), what, atol=1e-9)
    return _("all four gradients equal autograd's, for three network sizes.")


# --- 06.ex3: the fixed step in PyTorch ----------------------------------------------------------


def _forward(x, wh, bh, wout, bout):
    return torch.sigmoid(torch.sigmoid(x @ wh + bh) @ wout + bout)


def _close(got: object, want: torch.Tensor) -> bool:
    return (
        isinstance(got, torch.Tensor)
        and got.shape == want.shape
        and bool(torch.allclose(got.detach().cpu().to(want.dtype), want, atol=1e-5))
    )


def _diagnose_output(got, x, params, want_output, want_params):
    """Name the copied code's bug 1, and an output computed after the update."""
    if _close(got, want_output):
        return
    wh, bh, wout, _bout = params
    if _close(got, torch.sigmoid(torch.sigmoid(x @ wh + bh) @ wout)):
        raise Mismatch(
            _(
                "the returned output ignores bout: the output layer computes its sigmoid "
                "without adding its bias (the copied code's bug 1)"
            )
        )
    if _close(got, _forward(x, *want_params)):
        raise Mismatch(
            _(
                "the returned output was computed with the updated parameters: return the "
                "output of the forward pass that the step started with"
            )
        )


def _diagnose_update(name, old, new, want, lr, grad, bug2):
    """Name an unchanged parameter, a step uphill, and the copied code's bug 2."""
    if _close(new, want):
        return
    if torch.equal(new, old):
        raise Mismatch(
            _(
                "{name} did not change: the step must update the tensors it was given, in "
                "place; binding a new tensor to the name changes nothing for the caller"
            ).format(name=name)
        )
    if _close(new, old + lr * grad):
        raise Mismatch(
            _("{name} moved along its gradient, uphill: a descent step moves against it").format(
                name=name
            )
        )
    if name == "bh" and _close(new, bug2):
        raise Mismatch(
            _(
                "bh moved by the summed delta of the output layer, the same number for every "
                "hidden unit (the copied code's bug 2): each hidden unit has its own delta"
            )
        )


def _bug2_bh(x, y, params, lr):
    """bh after the copied code's update, in the modern direction."""
    wh, bh, wout, bout = params
    output = _forward(x, wh, bh, wout, bout)
    return bh - lr * ((output - y) * output * (1 - output)).sum()


@exercise(
    "06.ex3",
    hints=[
        N_(
            "Two lines of the copied step are wrong: one value is computed and never used, and "
            "one bias moves by the delta of the wrong layer. The other lines only need the "
            "modern direction (the gradient of L, subtracted)."
        ),
        N_(
            "The output layer adds bout before its sigmoid. The hidden bias moves by the sum of "
            "d_hidden over the examples, one number per hidden unit (keepdim=True). Subtract "
            "lr times each gradient in place, so that the caller's four tensors change."
        ),
        N_(
            "hidden = tsigmoid(X @ wh + bh); output = tsigmoid(hidden @ wout + bout); "
            "d_output = (output - y) * output * (1 - output); "
            "d_hidden = (d_output @ wout.T) * hidden * (1 - hidden); "
            "wout -= lr * hidden.T @ d_output; bout -= lr * d_output.sum(dim=0, keepdim=True); "
            "wh -= lr * X.T @ d_hidden; bh -= lr * d_hidden.sum(dim=0, keepdim=True); "
            "return output."
        ),
    ],
)
def _fixed_step(answer):
    lr = 0.5
    for n_examples, n_in, n_hidden, seed in [(3, 4, 3, 0), (6, 3, 5, 1)]:
        x, y, params = _toy_problem(n_examples, n_in, n_hidden, seed, dtype=torch.float32)
        want_output, grads = _autograd_reference(x, y, params)
        want_params = [p - lr * g for p, g in zip(params, grads)]
        bug2 = _bug2_bh(x, y, params, lr)
        mine = [p.clone() for p in params]
        x_before, y_before = snapshot(x), snapshot(y)
        got = call(answer, x, y, *mine, lr)
        expect_unchanged(x, x_before, "X")
        expect_unchanged(y, y_before, "y")
        shape = tuple(x.shape)
        _diagnose_output(got, x, params, want_output, want_params)
        expect_tensor(
            got, want_output, _("the returned output for X of shape {shape}").format(shape=shape)
        )
        for name, old, new, grad, want in zip(PARAM_NAMES, params, mine, grads, want_params):
            _diagnose_update(name, old, new, want, lr, grad, bug2)
            what = _("{name} after one step for X of shape {shape}").format(name=name, shape=shape)
            expect_tensor(new, want, what)
    return _("the output uses bout, and every parameter moves against autograd's gradient.")


# --- 06.ex4: accuracy ----------------------------------------------------------------------------


_PYTHON_FLOAT = N_(
    "a one-element tensor still is a tensor; the statement asks for a plain Python number, "
    "which a tensor gives up through one of its methods."
)


@exercise(
    "06.ex4",
    hints=[
        N_(
            "For each row, find the position of its largest logit (the predicted class), "
            "compare it with that row's label, and take the fraction of matches."
        ),
        N_(
            "the predicted class of a row is the index of its largest logit, not the logit "
            "itself, and it is taken along the class dimension; comparing gives booleans, "
            "which must become numbers before an average, and the result a Python float."
        ),
        N_("return (logits.argmax(dim=1) == labels).float().mean().item()"),
    ],
)
def _accuracy(answer):
    generator = torch.Generator().manual_seed(6)
    for n, classes in [(8, 10), (5, 3), (1, 4)]:
        logits = torch.randn(n, classes, generator=generator)
        labels = logits.argmax(dim=1)
        wrong = torch.arange(n) % 2 == 1  # change every other label, so the answer is not 1
        labels[wrong] = (labels[wrong] + 1) % classes
        want = (labels == logits.argmax(dim=1)).double().mean().item()
        got = call_leaving_inputs(answer, logits, labels, names=("logits", "labels"))
        if isinstance(got, torch.Tensor):
            raise Mismatch(
                _("the accuracy should be a Python float, got a tensor of shape {shape}").format(
                    shape=tuple(got.shape)
                ),
                hint=_PYTHON_FLOAT,
            )
        what = _("the accuracy of {n} rows with {classes} classes").format(n=n, classes=classes)
        expect_close(got, want, what, atol=1e-6)
        if not isinstance(got, float):
            raise Mismatch(
                _("the accuracy should be a Python float, got {kind}").format(kind=kind_of(got)),
                hint=_PYTHON_FLOAT,
            )
    return _("a float between 0 and 1, right for three batches.")


# --- 06.ex5: one clean epoch ---------------------------------------------------------------------


def _epoch_problem():
    """A small model and 10 examples: batches of 4, 4 and 2."""
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(10, 6, generator=generator)
    y = torch.randint(0, 3, (10,), generator=generator)
    return model, x, y


def _epoch_variant(model, x, y, batch_size, zero_grad=True, drop_last=False):
    """A reference epoch (or a classic mistake) on a copy of model.

    Returns (parameters after, mean loss over examples, plain mean of the batch losses).
    """
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses, sizes = [], []
    for start in range(0, len(x), batch_size):
        if drop_last and start + batch_size > len(x):
            break
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        loss = nn.functional.cross_entropy(model(xb), yb)
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        sizes.append(len(xb))
    weighted = sum(loss * size for loss, size in zip(losses, sizes)) / sum(sizes)
    return [p.detach() for p in model.parameters()], weighted, sum(losses) / len(losses)


def _same(params, others):
    return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params, others))


def _expect_trained_like(got, before, want, no_zero, dropped):
    """The parameters after the learner's epoch, compared with the reference and two mistakes."""
    if _same(got, before):
        raise Mismatch(
            _(
                "the parameters did not change: no optimizer step ran after the gradients "
                "were computed (or the gradients were cleared between backward and the step)"
            )
        )
    if _same(got, no_zero):
        raise Mismatch(
            _(
                "the gradients piled up from batch to batch: they were not cleared before "
                "each backward pass"
            )
        )
    if _same(got, dropped):
        raise Mismatch(
            _("the last, smaller batch (examples 8 and 9) was skipped: an epoch uses every example")
        )
    if not _same(got, want):
        raise Mismatch(
            _(
                "after one epoch of 3 batches the parameters differ from a correct epoch's: "
                "take the batches in order, one optimizer step per batch"
            )
        )


@exercise(
    "06.ex5",
    hints=[
        N_(
            "An epoch visits every example once, in order, a batch at a time; each batch gets "
            "the five steps of chapter 05's loop; the epoch's loss is a mean over examples, "
            "not over batches."
        ),
        N_(
            "Slice the batches with a range that steps by batch_size (the last slice may be "
            "shorter). Per batch: clear the gradients, forward, cross-entropy, backward, "
            "optimizer step. Add the batch's loss as a Python number times the batch's size "
            "to a running total, and divide by the number of examples at the end."
        ),
        N_(
            "total = 0.0; for start in range(0, len(x), batch_size): "
            "xb, yb = x[start:start + batch_size], y[start:start + batch_size]; "
            "optimizer.zero_grad(); loss = nn.functional.cross_entropy(model(xb), yb); "
            "loss.backward(); optimizer.step(); total += loss.item() * len(xb). "
            "After the loop: return total / len(x)."
        ),
    ],
)
def _train_epoch(answer):
    model, x, y = _epoch_problem()
    before = [p.detach().clone() for p in model.parameters()]
    want, want_loss, plain_loss = _epoch_variant(model, x, y, batch_size=4)
    no_zero, _w, _p = _epoch_variant(model, x, y, batch_size=4, zero_grad=False)
    dropped, _w, _p = _epoch_variant(model, x, y, batch_size=4, drop_last=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x_before, y_before = snapshot(x), snapshot(y)
    got_loss = call(answer, model, optimizer, x, y, 4)
    expect_unchanged(x, x_before, "x")
    expect_unchanged(y, y_before, "y")
    _expect_trained_like([p.detach() for p in model.parameters()], before, want, no_zero, dropped)
    if isinstance(got_loss, torch.Tensor):
        raise Mismatch(
            _("the returned loss should be a Python float, got a tensor of shape {shape}").format(
                shape=tuple(got_loss.shape)
            )
        )
    if isinstance(got_loss, float) and abs(got_loss - plain_loss) < 1e-6:
        raise Mismatch(
            _(
                "you returned {got:.4f}, the plain mean of the three batch losses; the last "
                "batch holds only 2 of the 10 examples, so it counts as much as a batch of 4: "
                "the epoch's loss is the mean over examples, expected {want:.4f}"
            ).format(got=got_loss, want=want_loss)
        )
    expect_close(got_loss, want_loss, _("the returned mean loss over examples"), atol=1e-5)
    if not isinstance(got_loss, float):
        raise Mismatch(
            _("the returned loss should be a Python float, got {kind}").format(
                kind=kind_of(got_loss)
            )
        )
    return _("one clean epoch: every batch zeroed, back-propagated and stepped; mean per example.")
