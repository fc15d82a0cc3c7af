"""Typical mistakes in chapter 06, the same network in NumPy and PyTorch."""

import numpy as np
import torch
from torch import nn

TENSOR_RESULTS = {"06.ex3"}


# --- 06.ex1: the sigmoid's slope at its input, in NumPy ---------------------------------------


def _np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _slope_of_input(z):
    return z * (1 - z)  # the output-based formula applied to the input


def _quotient(z):
    return np.exp(-z) / (1 + np.exp(-z)) ** 2  # right on paper, inf / inf for z = -1000


def _tensor_back(z):
    s = torch.sigmoid(torch.from_numpy(z))
    return s * (1 - s)


def _float64_always(z):
    s = _np_sigmoid(z.astype(np.float64))
    return s * (1 - s)


def _overwrites_z(z):
    z[...] = _np_sigmoid(z)
    return z * (1 - z)


# --- 06.ex2: NumPy gradients -------------------------------------------------------------------


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _forward(X, wh, bh, wout, bout):
    hidden = _sig(X @ wh + bh)
    return hidden, _sig(hidden @ wout + bout)


def _ascent(X, y, wh, bh, wout, bout):
    """The original's update directions, (y - output): minus the gradient."""
    hidden, output = _forward(X, wh, bh, wout, bout)
    d_out = (y - output) * output * (1 - output)
    d_hid = (d_out @ wout.T) * hidden * (1 - hidden)
    return X.T @ d_hid, d_hid.sum(0, keepdims=True), hidden.T @ d_out, d_out.sum(0, keepdims=True)


def _no_keepdims(X, y, wh, bh, wout, bout):
    hidden, output = _forward(X, wh, bh, wout, bout)
    d_out = (output - y) * output * (1 - output)
    d_hid = (d_out @ wout.T) * hidden * (1 - hidden)
    return X.T @ d_hid, d_hid.sum(0), hidden.T @ d_out, d_out.sum(0)


def _copied_bias(X, y, wh, bh, wout, bout):
    hidden, output = _forward(X, wh, bh, wout, bout)
    d_out = (output - y) * output * (1 - output)
    d_hid = (d_out @ wout.T) * hidden * (1 - hidden)
    d_bh = np.full_like(bh, d_out.sum())  # the copied code's bug 2
    return X.T @ d_hid, d_bh, hidden.T @ d_out, d_out.sum(0, keepdims=True)


def _slope_on_pre_activation(X, y, wh, bh, wout, bout):
    z_hidden = X @ wh + bh
    hidden = _sig(z_hidden)
    z_out = hidden @ wout + bout
    output = _sig(z_out)
    d_out = (output - y) * z_out * (1 - z_out)
    d_hid = (d_out @ wout.T) * z_hidden * (1 - z_hidden)
    return X.T @ d_hid, d_hid.sum(0, keepdims=True), hidden.T @ d_out, d_out.sum(0, keepdims=True)


def _float32(X, y, wh, bh, wout, bout):
    grads = _ascent(X, y, wh, bh, wout, bout)
    return tuple((-g).astype(np.float32) for g in grads)


def _updates_in_place(X, y, wh, bh, wout, bout):
    grads = tuple(-g for g in _ascent(X, y, wh, bh, wout, bout))
    wh -= 0.1 * grads[0]
    return grads


def _as_dict(X, y, wh, bh, wout, bout):
    grads = tuple(-g for g in _ascent(X, y, wh, bh, wout, bout))
    return dict(zip(("wh", "bh", "wout", "bout"), grads))


# --- 06.ex3: the fixed torch step --------------------------------------------------------------


def _torch_step(X, y, wh, bh, wout, bout, lr, use_bout=True, hidden_bias_from_output=False):
    hidden = torch.sigmoid(X @ wh + bh)
    output = torch.sigmoid(hidden @ wout + (bout if use_bout else 0))
    d_out = (output - y) * output * (1 - output)
    d_hid = (d_out @ wout.T) * hidden * (1 - hidden)
    wout -= lr * hidden.T @ d_out
    bout -= lr * d_out.sum(0, keepdim=True)
    wh -= lr * X.T @ d_hid
    bh -= lr * (d_out.sum() if hidden_bias_from_output else d_hid.sum(0, keepdim=True))
    return output


def _bug1(*args):
    return _torch_step(*args, use_bout=False)


def _bug2(*args):
    return _torch_step(*args, hidden_bias_from_output=True)


def _rebinds(X, y, wh, bh, wout, bout, lr):
    output = _torch_step(X, y, wh.clone(), bh.clone(), wout.clone(), bout.clone(), lr)
    wh = wh - 1  # noqa: F841 - only the local name changes
    return output


def _ascends(X, y, wh, bh, wout, bout, lr):
    return _torch_step(X, y, wh, bh, wout, bout, -lr)


def _output_after_update(X, y, wh, bh, wout, bout, lr):
    _torch_step(X, y, wh, bh, wout, bout, lr)
    return torch.sigmoid(torch.sigmoid(X @ wh + bh) @ wout + bout)


# --- 06.ex5: one epoch ---------------------------------------------------------------------------


def _epoch(
    model,
    optimizer,
    x,
    y,
    batch_size,
    zero=True,
    drop_last=False,
    zero_late=False,
    as_tensor=False,
    weighted=True,
    divide_by_batches=False,
):
    losses, sizes = [], []
    for start in range(0, len(x), batch_size):
        if drop_last and start + batch_size > len(x):
            break
        if zero:
            optimizer.zero_grad()
        loss = nn.functional.cross_entropy(
            model(x[start : start + batch_size]), y[start : start + batch_size]
        )
        loss.backward()
        if zero_late:
            optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.detach() if as_tensor else loss.item())
        sizes.append(len(x[start : start + batch_size]))
    if not weighted:
        return sum(losses) / len(losses)
    total = sum(loss * n for loss, n in zip(losses, sizes))
    return total / len(losses) if divide_by_batches else total / sum(sizes)


def _shuffled(model, optimizer, x, y, batch_size):
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    return _epoch(model, optimizer, x[order], y[order], batch_size)


WRONG = {
    "06.ex1": [
        ("a * (1 - a) on the input", _slope_of_input, "equals z (1 - z)", "one step is missing"),
        ("the sigmoid itself", _np_sigmoid, "equals the sigmoid itself"),
        ("overflowing quotient", _quotient, "is NaN at z = -100:", "overflows to inf"),
        ("a tensor back", _tensor_back, "returned a torch.Tensor", "arrays in"),
        ("float64 for a float32 input", _float64_always, "dtype float64, expected float32"),
        (
            "overwrites its input",
            _overwrites_z,
            "changed its argument `z`",
            "an in-place operation",
        ),
    ],
    "06.ex2": [
        ("ascent direction (y - output)", _ascent, "wrong sign"),
        ("bias sums without keepdims", _no_keepdims, "has shape (3,), expected (1, 3)"),
        (
            "copied bias bug",
            _copied_bias,
            "d_bh for X of shape (3, 4) and 3 hidden units is the summed delta of the output",
        ),
        ("slope of the pre-activation", _slope_on_pre_activation, "wrong values"),
        ("float32 gradients", _float32, "dtype float32"),
        ("updates wh", _updates_in_place, "changed its argument `wh`", "an in-place operation"),
        ("returns a dict", _as_dict, "tuple of the four gradient arrays"),
    ],
    "06.ex3": [
        ("bug 1: output without bout", _bug1, "the returned output ignores bout"),
        ("bug 2: bh from d_output", _bug2, "the same number for every hidden unit"),
        ("rebinds instead of in place", _rebinds, "wh did not change"),
        ("adds the gradient", _ascends, "wh moved along its gradient, uphill"),
        ("output after the update", _output_after_update, "computed with the updated"),
    ],
    "06.ex4": [
        (
            "a tensor",
            lambda lo, la: (lo.argmax(1) == la).float().mean(),
            "Python float, got a tensor",
            "plain Python number",
        ),
        ("a count", lambda lo, la: int((lo.argmax(1) == la).sum()), "is 4, expected 0.5"),
        (
            "percent",
            lambda lo, la: 100 * (lo.argmax(1) == la).float().mean().item(),
            "is 50, expected 0.5",
        ),
        (
            "argmax over the batch",
            lambda lo, la: (lo.argmax(0) == la).float().mean().item(),
            "raised RuntimeError",
        ),
        (
            "max instead of argmax",
            lambda lo, la: (lo.max(1).values == la).float().mean().item(),
            "expected 0.5",
        ),
    ],
    "06.ex5": [
        ("no zero_grad", lambda *a: _epoch(*a, zero=False), "piled up"),
        (
            "zero_grad between backward and step",
            lambda *a: _epoch(*a, zero=False, zero_late=True),
            "did not change",
        ),
        ("drops the last batch", lambda *a: _epoch(*a, drop_last=True), "last, smaller batch"),
        ("shuffles", _shuffled, "differ from a correct epoch"),
        (
            "returns a tensor",
            lambda *a: _epoch(*a, as_tensor=True),
            "Python float, got a tensor",
        ),
        ("returns nothing", lambda *a: _epoch(*a) and None, "should be a number, got None"),
        ("plain mean of batch losses", lambda *a: _epoch(*a, weighted=False), "plain mean"),
        (
            "weighted sum over the number of batches",
            lambda *a: _epoch(*a, divide_by_batches=True),
            "the returned mean loss over examples is",
        ),
    ],
}
