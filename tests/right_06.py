"""Correct answers to chapter 06's exercises, written the way other learners would."""

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

# --- 06.ex1: the sigmoid's slope at its input, in NumPy ---------------------------------------


def _slope_inline(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def _slope_symmetric(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 / (1 + np.exp(z)))  # sigmoid(z) * sigmoid(-z)


def _slope_stable_quotient(z):
    e = np.exp(-np.abs(z))  # never overflows; the slope is symmetric in z
    return e / (1 + e) ** 2


def _slope_tanh(z):
    t = np.tanh(z / 2)  # sigmoid(z) = (1 + tanh(z / 2)) / 2
    return (1 - t * t) / 4


def _slope_via_torch(z):
    s = torch.special.expit(torch.from_numpy(z))
    return (s * (1 - s)).numpy()


# --- 06.ex2: NumPy gradients -------------------------------------------------------------------


def _sig(z):
    return 1 / (1 + np.exp(-z))


def _gradients_einsum(X, y, wh, bh, wout, bout):
    hidden = _sig(np.einsum("ni,ih->nh", X, wh) + bh)
    output = _sig(np.einsum("nh,ho->no", hidden, wout) + bout)
    d_out = (output - y) * output * (1 - output)
    d_hid = np.einsum("no,ho->nh", d_out, wout) * hidden * (1 - hidden)
    return (
        np.einsum("ni,nh->ih", X, d_hid),
        d_hid.sum(axis=0)[None, :],
        np.einsum("nh,no->ho", hidden, d_out),
        d_out.sum(axis=0).reshape(1, -1),
    )


def _gradients_per_example(X, y, wh, bh, wout, bout):
    """Sum the gradients of one example at a time (np.outer instead of matrix products)."""
    d_wh, d_bh = np.zeros_like(wh), np.zeros_like(bh)
    d_wout, d_bout = np.zeros_like(wout), np.zeros_like(bout)
    for x_row, y_row in zip(X, y):
        hidden = _sig(x_row @ wh + bh[0])
        output = _sig(hidden @ wout + bout[0])
        d_out = (output - y_row) * output * (1 - output)
        d_hid = (wout @ d_out) * hidden * (1 - hidden)
        d_wout += np.outer(hidden, d_out)
        d_bout += d_out
        d_wh += np.outer(x_row, d_hid)
        d_bh += d_hid
    return d_wh, d_bh, d_wout, d_bout


def _gradients_as_list(X, y, wh, bh, wout, bout):
    hidden = _sig(X @ wh + bh)
    output = _sig(hidden @ wout + bout)
    error = output - y
    d_out = error * (output - output**2)
    d_hid = np.dot(d_out, wout.T) * (hidden - hidden**2)
    return [
        np.dot(X.T, d_hid),
        np.sum(d_hid, 0, keepdims=True),
        np.dot(hidden.T, d_out),
        np.sum(d_out, 0, keepdims=True),
    ]


# --- 06.ex3: the fixed torch step --------------------------------------------------------------


def _step_with_sub_(X, y, wh, bh, wout, bout, lr):
    hidden = torch.sigmoid(X @ wh + bh)
    output = torch.sigmoid(hidden @ wout + bout)
    d_out = (output - y) * output * (1 - output)
    d_hid = (d_out @ wout.T) * hidden * (1 - hidden)
    grads = (X.T @ d_hid, d_hid.sum(0, keepdim=True), hidden.T @ d_out, d_out.sum(0, keepdim=True))
    for param, grad in zip((wh, bh, wout, bout), grads):
        param.sub_(lr * grad)
    return output


def _step_with_addmm_(X, y, wh, bh, wout, bout, lr):
    hidden = torch.special.expit(torch.addmm(bh, X, wh))
    output = torch.special.expit(torch.addmm(bout, hidden, wout))
    d_out = (output - y) * output * (1 - output)
    d_hid = torch.mm(d_out, wout.t()) * hidden * (1 - hidden)
    wout.addmm_(hidden.t(), d_out, alpha=-lr)
    bout.add_(d_out.sum(0, keepdim=True), alpha=-lr)
    wh.addmm_(X.t(), d_hid, alpha=-lr)
    bh.add_(d_hid.sum(0, keepdim=True), alpha=-lr)
    return output


def _step_modern_with_copied_names(X, y, wh, bh, wout, bout, lr):
    hidden_layer_activations = 1 / (1 + torch.exp(-(X @ wh + bh)))
    output = 1 / (1 + torch.exp(-(hidden_layer_activations @ wout + bout)))
    d_output = (output - y) * output * (1 - output)
    slope_hidden_layer = hidden_layer_activations * (1 - hidden_layer_activations)
    d_hiddenlayer = (d_output @ wout.T) * slope_hidden_layer
    wout -= hidden_layer_activations.T @ d_output * lr
    bout -= d_output.sum(dim=0, keepdim=True) * lr
    wh -= X.T @ d_hiddenlayer * lr
    bh -= d_hiddenlayer.sum(dim=0, keepdim=True) * lr
    return output


# --- 06.ex4: accuracy ----------------------------------------------------------------------------


def _accuracy_count(logits, labels):
    return (logits.argmax(1) == labels).sum().item() / len(labels)


def _accuracy_loop(logits, labels):
    hits = 0
    for row, label in zip(logits.tolist(), labels.tolist()):
        hits += row.index(max(row)) == label
    return hits / len(labels)


def _accuracy_max_indices(logits, labels):
    return float(torch.eq(logits.max(dim=1).indices, labels).double().mean())


# --- 06.ex5: one clean epoch ---------------------------------------------------------------------


def _epoch_shape(model, optimizer, x, y, batch_size):
    total = 0.0
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / x.shape[0]


def _epoch_tensor_total(model, optimizer, x, y, batch_size):
    """Accumulate a detached tensor, one .item() at the end (no sync per batch on a GPU)."""
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total = torch.zeros(())
    for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
        optimizer.zero_grad(set_to_none=False)
        summed = loss_fn(model(xb), yb)
        (summed / len(xb)).backward()
        optimizer.step()
        total += summed.detach()
    return (total / len(x)).item()


def _epoch_dataloader(model, optimizer, x, y, batch_size):
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False, num_workers=0)
    losses, sizes = [], []
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()  # after the step: the next batch starts from zero too
        losses.append(loss.item())
        sizes.append(len(yb))
    return float(np.average(losses, weights=sizes))


RIGHT = {
    "06.ex1": [
        ("inline sigmoid", _slope_inline),
        ("sigmoid(z) * sigmoid(-z)", _slope_symmetric),
        ("stable quotient with |z|", _slope_stable_quotient),
        ("through tanh", _slope_tanh),
        ("torch.special.expit and back to NumPy", _slope_via_torch),
    ],
    "06.ex2": [
        ("einsum", _gradients_einsum),
        ("one example at a time", _gradients_per_example),
        ("np.dot, a list", _gradients_as_list),
    ],
    "06.ex3": [
        ("sub_ in a loop", _step_with_sub_),
        ("addmm and add_ with alpha", _step_with_addmm_),
        ("the copied code, fixed", _step_modern_with_copied_names),
    ],
    "06.ex4": [
        ("count over length", _accuracy_count),
        ("a Python loop", _accuracy_loop),
        ("max().indices and float()", _accuracy_max_indices),
    ],
    "06.ex5": [
        ("xb.shape[0]", _epoch_shape),
        ("a tensor total, .item() at the end", _epoch_tensor_total),
        ("DataLoader, zero_grad after the step, np.average", _epoch_dataloader),
    ],
}
