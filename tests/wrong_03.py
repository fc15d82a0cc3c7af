"""Typical mistakes in chapter 03, Autograd."""

import torch

TENSOR_RESULTS = {"03.ex1", "03.ex2", "03.ex3", "03.ex4", "03.ex5"}


# Exercise 2: vjp(f, x, v)
def _vjp_ignores_v(f, x, v):
    x = x.clone().requires_grad_()
    f(x).sum().backward()
    return x.grad


def _vjp_scales_afterwards(f, x, v):
    x = x.clone().requires_grad_()
    f(x).sum().backward()
    return x.grad * v


def _vjp_on_callers_x(f, x, v):
    x.requires_grad_()
    f(x).backward(v)
    return x.grad


def _vjp_mean(f, x, v):
    x = x.clone().requires_grad_()
    (f(x) * v).mean().backward()
    return x.grad


def _jvp_instead(f, x, v):
    return torch.autograd.functional.jvp(f, x, v)[1]


# Exercise 3: derivative(f, x)
def _derivative_without_sum(f, x):
    x = x.clone().requires_grad_()
    f(x).backward()
    return x.grad


def _derivative_mean(f, x):
    x = x.clone().requires_grad_()
    f(x).mean().backward()
    return x.grad


def _derivative_on_callers_x(f, x):
    x.requires_grad_()
    f(x).sum().backward()
    return x.grad


def _derivative_forward_difference(f, x):
    return (f(x + 1e-3) - f(x)) / 1e-3


# Exercise 4: per_batch_grads(loss_fn, w, batches)
def _never_resets(loss_fn, w, batches):
    w.grad = None
    grads = []
    for batch in batches:
        loss_fn(w, batch).backward()
        grads.append(w.grad.clone())
    return torch.stack(grads)


def _resets_after(loss_fn, w, batches):
    grads = []
    for batch in batches:
        loss_fn(w, batch).backward()
        grads.append(w.grad.clone())
        w.grad = None
    return torch.stack(grads)


def _keeps_the_same_tensor(loss_fn, w, batches):
    grads = []
    for batch in batches:
        if w.grad is not None:
            w.grad.zero_()
        loss_fn(w, batch).backward()
        grads.append(w.grad)
    return torch.stack(grads)


def _zero_on_none(loss_fn, w, batches):
    grads = []
    for batch in batches:
        w.grad.zero_()
        loss_fn(w, batch).backward()
        grads.append(w.grad.clone())
    return torch.stack(grads)


def _one_backward_for_all(loss_fn, w, batches):
    w.grad = None
    sum(loss_fn(w, batch) for batch in batches).backward()
    return w.grad


def _returns_a_list(loss_fn, w, batches):
    grads = []
    for batch in batches:
        w.grad = None
        loss_fn(w, batch).backward()
        grads.append(w.grad)
    return grads


# Exercise 5: numerical_grad(f, x, h)
def _central(f, x, h, i, scale=2):
    step = torch.zeros(x.numel(), dtype=x.dtype)
    step[i] = h
    step = step.reshape(x.shape)
    return (f(x + step) - f(x - step)) / (scale * h)


def _forward_difference(f, x, h=1e-6):
    grad = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[i] = h
        grad[i] = (f(x + step.reshape(x.shape)) - f(x)) / h
    return grad.reshape(x.shape)


def _divides_by_h(f, x, h=1e-6):
    return torch.stack([_central(f, x, h, i, scale=1) for i in range(x.numel())]).reshape(x.shape)


def _float32_result(f, x, h=1e-6):
    grad = torch.zeros(x.numel())
    for i in range(x.numel()):
        grad[i] = _central(f, x, h, i)
    return grad.reshape(x.shape)


def _all_at_once(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


def _never_restores(f, x, h=1e-6):
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(x.numel()):
        flat_x[i] += h
        up = f(x)
        flat_x[i] -= 2 * h
        flat_grad[i] = (up - f(x)) / (2 * h)
    return grad


def _uses_autograd(f, x, h=1e-6):
    x = x.clone().requires_grad_()
    f(x).backward()
    return x.grad


WRONG = {
    "03.ex1": [
        ("the sigmoid itself", lambda x: torch.sigmoid(x), "wrong values"),
        ("1 - sigmoid", lambda x: 1 - torch.sigmoid(x), "wrong values"),
        (
            "plus instead of minus",
            lambda x: torch.sigmoid(x) * (1 + torch.sigmoid(x)),
            "wrong values",
        ),
        ("tanh's derivative", lambda x: 1 - torch.tanh(x) ** 2, "wrong values"),
        ("x(1 - x) on the raw input", lambda x: x * (1 - x), "wrong values"),
        ("sigmoid(x)(1 - x)", lambda x: torch.sigmoid(x) * (1 - x), "wrong values"),
        ("the .grad of a fresh tensor", lambda x: x.clone().requires_grad_().grad, "got None"),
    ],
    "03.ex2": [
        ("ignores v", _vjp_ignores_v, "wrong values"),
        ("multiplies by v afterwards", _vjp_scales_afterwards, "raised RuntimeError"),
        ("marks the caller's x", _vjp_on_callers_x, "switched on requires_grad"),
        ("mean instead of sum", _vjp_mean, "wrong values"),
        ("Jacobian-vector product", _jvp_instead, "raised RuntimeError"),
        ("returns f(x) * v", lambda f, x, v: f(x) * v, "wrong values"),
    ],
    "03.ex3": [
        ("no sum", _derivative_without_sum, "only for scalar outputs"),
        ("mean instead of sum", _derivative_mean, "wrong values"),
        ("marks the caller's x", _derivative_on_callers_x, "switched on requires_grad"),
        ("returns f(x)", lambda f, x: f(x), "wrong values"),
        ("rough forward difference", _derivative_forward_difference, "wrong values"),
    ],
    "03.ex4": [
        ("never resets", _never_resets, "accumulates"),
        ("resets after backward", _resets_after, "before each backward, not after"),
        ("stores w.grad itself", _keeps_the_same_tensor, "store w.grad.clone()"),
        ("zero_ on a missing grad", _zero_on_none, "raised AttributeError"),
        ("one backward for all", _one_backward_for_all, "has shape"),
        ("returns a list", _returns_a_list, "got list"),
    ],
    "03.ex5": [
        ("forward difference", _forward_difference, "one-sided difference"),
        ("divides by h", _divides_by_h, "wrong values"),
        ("float32 result", _float32_result, "dtype torch.float32"),
        ("all elements at once", _all_at_once, "has shape ()"),
        ("never restores x", _never_restores, "x is not the same"),
        ("uses autograd", _uses_autograd, "raised RuntimeError"),
    ],
}
