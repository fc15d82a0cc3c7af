"""Checks for chapter 06, the same network in NumPy and PyTorch."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_array, expect_close, expect_tensor
from torchcourse.i18n import N_

PARAM_NAMES = ("wh", "bh", "wout", "bout")


def _toy_problem(n_examples, n_in, n_hidden, seed, dtype=torch.float64):
    """Inputs, targets and the four parameters of the two-layer sigmoid network."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 2, (n_examples, n_in), generator=generator).to(dtype)
    y = torch.randint(0, 2, (n_examples, 1), generator=generator).to(dtype)
    shapes = [(n_in, n_hidden), (1, n_hidden), (n_hidden, 1), (1, 1)]
    params = [torch.rand(shape, generator=generator, dtype=dtype) * 2 - 1 for shape in shapes]
    return x, y, params


def _autograd_reference(x, y, params):
    """The forward pass, the loss 1/2 sum (output - y)^2 and autograd's gradients."""
    leaves = [p.clone().requires_grad_(True) for p in params]
    wh, bh, wout, bout = leaves
    hidden = torch.sigmoid(x @ wh + bh)
    output = torch.sigmoid(hidden @ wout + bout)
    loss = 0.5 * ((output - y) ** 2).sum()
    grads = torch.autograd.grad(loss, leaves)
    return output.detach(), grads


@exercise(
    "06.ex1",
    hints=[
        N_(
            "compute s = torch.sigmoid(z) first, then return s * (1 - s); "
            "a * (1 - a) is the slope only when a is already the sigmoid's output."
        )
    ],
)
def _sigmoid_grad(answer):
    cases = [
        torch.linspace(-6, 6, 13),
        torch.tensor([[0.0, 0.5], [-2.0, 3.0]], dtype=torch.float64),
        torch.tensor([-100.0, -30.0, 30.0, 100.0]),
    ]
    for z in cases:
        leaf = z.clone().requires_grad_(True)
        torch.sigmoid(leaf).sum().backward()
        got = call(answer, z.clone())
        expect_tensor(
            got, leaf.grad, f"sigmoid_grad of a {z.dtype} tensor {tuple(z.shape)}", atol=1e-6
        )
    return "equals autograd's slope, also far out where the sigmoid saturates."


@exercise(
    "06.ex2",
    hints=[
        N_(
            "with d_out = (output - y) * output * (1 - output): d_wout = hidden.T @ d_out, "
            "d_bout = d_out.sum(axis=0, keepdims=True), then the same one layer down with "
            "d_hidden = (d_out @ wout.T) * hidden * (1 - hidden)."
        )
    ],
)
def _numpy_gradients(answer):
    for n_examples, n_in, n_hidden, seed in [(3, 4, 3, 0), (5, 2, 4, 1), (1, 6, 2, 2)]:
        x, y, params = _toy_problem(n_examples, n_in, n_hidden, seed)
        arrays = [t.numpy().copy() for t in (x, y, *params)]
        before = [a.copy() for a in arrays]
        got = call(answer, *arrays)
        for name, array, old in zip(("X", "y", *PARAM_NAMES), arrays, before):
            if not np.array_equal(array, old):
                raise Mismatch(
                    f"your function changed its argument {name}: compute the "
                    "gradients without updating anything."
                )
        if not isinstance(got, (tuple, list)) or len(got) != 4:
            kind = type(got).__name__
            size = f" of length {len(got)}" if isinstance(got, (tuple, list)) else ""
            raise Mismatch(
                f"return a tuple of four arrays (d_wh, d_bh, d_wout, d_bout), got a {kind}{size}."
            )
        _, grads = _autograd_reference(x, y, params)
        for name, got_grad, want in zip(PARAM_NAMES, got, grads):
            what = f"d_{name} for X of shape {tuple(x.shape)} and {n_hidden} hidden units"
            if isinstance(got_grad, np.ndarray) and got_grad.shape == tuple(want.shape):
                if np.allclose(got_grad, -want.numpy(), atol=1e-9):
                    raise Mismatch(
                        f"{what} has the wrong sign: that is the direction the "
                        "original code adds (y - output); the gradient of the "
                        "loss uses (output - y)."
                    )
            expect_array(got_grad, want.numpy(), what, atol=1e-9)
    return "all four gradients equal autograd's, for three network sizes."


@exercise(
    "06.ex3",
    hints=[
        N_(
            "output = sigmoid(hidden @ wout + bout) (with the bias), and bh moves by the sum of "
            "d_hidden over the examples, not of d_output; "
            "update with -= so the tensors change in place."
        )
    ],
)
def _fixed_step(answer):
    lr = 0.5
    for n_examples, n_in, n_hidden, seed in [(3, 4, 3, 0), (6, 3, 5, 1)]:
        x, y, params = _toy_problem(n_examples, n_in, n_hidden, seed, dtype=torch.float32)
        want_output, grads = _autograd_reference(x, y, params)
        mine = [p.clone() for p in params]
        got = call(answer, x.clone(), y.clone(), *mine, lr)
        shape = f"X of shape {tuple(x.shape)}"
        expect_tensor(got, want_output, f"the returned output for {shape}")
        for name, old, new, grad in zip(PARAM_NAMES, params, mine, grads):
            if torch.equal(new, old):
                raise Mismatch(
                    f"{name} did not change: update the tensors you were given in "
                    f"place ({name} -= lr * ...), do not bind a new tensor."
                )
            expect_tensor(new, old - lr * grad, f"{name} after one step for {shape}")
    return "the output uses bout, and every parameter moves against autograd's gradient."


@exercise(
    "06.ex4",
    hints=[
        N_(
            "(logits.argmax(dim=1) == labels).float().mean().item() is the fraction of rows "
            "whose largest logit sits at the label."
        )
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
        got = call(answer, logits.clone(), labels.clone())
        if isinstance(got, torch.Tensor):
            raise Mismatch("the accuracy should be a Python float, got a tensor: end with .item().")
        expect_close(got, want, f"the accuracy of {n} rows with {classes} classes", atol=1e-6)
        if not isinstance(got, float):
            raise Mismatch(f"the accuracy should be a Python float, got {type(got).__name__}.")
    return "a float between 0 and 1, right for three batches."


def _epoch_problem():
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    generator = torch.Generator().manual_seed(7)
    x = torch.randn(10, 6, generator=generator)
    y = torch.randint(0, 3, (10,), generator=generator)
    return model, x, y


def _epoch_variant(model, x, y, batch_size, zero_grad=True, drop_last=False):
    """A reference epoch (and two classic mistakes): (parameters after, mean batch loss)."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for start in range(0, len(x), batch_size):
        if drop_last and start + batch_size > len(x):
            break
        loss = nn.functional.cross_entropy(
            model(x[start : start + batch_size]), y[start : start + batch_size]
        )
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return [p.detach() for p in model.parameters()], sum(losses) / len(losses)


def _same(params, others):
    return all(torch.allclose(a, b, atol=1e-6) for a, b in zip(params, others))


@exercise(
    "06.ex5",
    hints=[
        N_(
            "for each batch in order: optimizer.zero_grad(), loss = loss_fn(model(xb), yb), "
            "loss.backward(), optimizer.step(); collect loss.item() and return their mean."
        )
    ],
)
def _train_epoch(answer):
    model, x, y = _epoch_problem()
    before = [p.detach().clone() for p in model.parameters()]
    want, want_loss = _epoch_variant(model, x, y, batch_size=4)
    no_zero, _ = _epoch_variant(model, x, y, batch_size=4, zero_grad=False)
    dropped, _ = _epoch_variant(model, x, y, batch_size=4, drop_last=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    got_loss = call(answer, model, optimizer, x.clone(), y.clone(), 4)
    got = [p.detach() for p in model.parameters()]
    if _same(got, before):
        raise Mismatch(
            "the parameters did not change: call optimizer.step() after "
            "loss.backward(), and zero the gradients before backward, not between."
        )
    if _same(got, no_zero):
        raise Mismatch(
            "the gradients piled up from batch to batch: call optimizer.zero_grad() "
            "before every loss.backward()."
        )
    if _same(got, dropped):
        raise Mismatch(
            "the last, smaller batch (examples 8 and 9) was skipped: loop over "
            "range(0, len(x), batch_size)."
        )
    if not _same(got, want):
        raise Mismatch(
            "after one epoch of 3 batches the parameters differ from a correct "
            "epoch: take the batches in order, x[start:start + batch_size]."
        )
    if isinstance(got_loss, torch.Tensor):
        raise Mismatch(
            "the returned mean loss should be a Python float, got a tensor: collect loss.item()."
        )
    expect_close(got_loss, want_loss, "the returned mean of the batch losses", atol=1e-5)
    return "one clean epoch: zeroed, back-propagated and stepped on every batch."
