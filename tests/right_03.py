"""Alternative correct answers for chapter 03, Autograd."""

import torch


# Exercise 1: sigmoid_grad(x), from a formula
def _sigmoid_grad_from_exp(x):
    e = torch.exp(-x)
    return e / (1 + e) ** 2


def _sigmoid_grad_by_hand(x):
    s = 1 / (1 + torch.exp(-x))
    return s - s**2


# Exercise 2: vjp(f, x, v)
def _vjp_autograd_grad(f, x, v):
    x = x.detach().requires_grad_()
    (grad,) = torch.autograd.grad(f(x), x, grad_outputs=v)
    return grad


def _vjp_func(f, x, v):
    _, pullback = torch.func.vjp(f, x.detach())
    return pullback(v)[0]


def _vjp_weighted_sum(f, x, v):
    x = x.detach().clone().requires_grad_()
    (f(x) * v).sum().backward()
    return x.grad


def _vjp_full_jacobian(f, x, v):
    jacobian = torch.autograd.functional.jacobian(f, x.detach())
    flat = v.reshape(-1) @ jacobian.reshape(v.numel(), x.numel())
    return flat.reshape(x.shape)


# Exercise 3: derivative(f, x)
def _derivative_autograd_grad(f, x):
    x = x.detach().requires_grad_()
    return torch.autograd.grad(f(x).sum(), x)[0]


def _derivative_ones(f, x):
    x = x.detach().requires_grad_()
    y = f(x)
    y.backward(torch.ones_like(y))
    return x.grad


def _derivative_grad_of_sum(f, x):
    leaf = x.detach().clone().requires_grad_(True)
    total = f(leaf).sum()
    return torch.autograd.grad(outputs=total, inputs=[leaf])[0]


def _derivative_vmap(f, x):
    flat = x.detach().reshape(-1)
    return torch.vmap(torch.func.grad(f))(flat).reshape(x.shape)


# Exercise 4: per_batch_grads(loss_fn, w, batches)
def _per_batch_autograd_grad(loss_fn, w, batches):
    return torch.stack([torch.autograd.grad(loss_fn(w, batch), w)[0] for batch in batches])


def _per_batch_zero_and_clone(loss_fn, w, batches):
    saved = None if w.grad is None else w.grad.clone()
    grads = []
    for batch in batches:
        if w.grad is not None:
            w.grad.zero_()
        loss_fn(w, batch).backward()
        grads.append(w.grad.clone())
    w.grad = saved
    return torch.stack(grads)


def _per_batch_func_grad(loss_fn, w, batches):
    grad_of = torch.func.grad(loss_fn)
    return torch.stack([grad_of(w.detach(), batch) for batch in batches])


# Exercise 5: gradient_error(f, x, h)
def _error_with_eye(f, x, h=1e-6):
    x = x.detach()
    (grad,) = torch.autograd.grad(f(x.requires_grad_()), x)
    x = x.detach()
    steps = torch.eye(x.numel(), dtype=x.dtype) * h
    numeric = torch.stack([(f(x + s.reshape(x.shape)) - f(x - s.reshape(x.shape))) for s in steps])
    return (grad.reshape(-1) - numeric / (2 * h)).abs().max()  # a one-element tensor


def _error_nudging_a_copy(f, x, h=1e-6):
    leaf = x.detach().clone().requires_grad_()
    f(leaf).backward()
    probe = x.detach().clone()
    flat = probe.view(-1)
    worst = 0.0
    for i in range(flat.numel()):
        flat[i] += h
        up = f(probe).item()
        flat[i] -= 2 * h
        down = f(probe).item()
        flat[i] += h
        numeric = (up - down) / (2 * h)
        worst = max(worst, abs(leaf.grad.view(-1)[i].item() - numeric))
    return worst


RIGHT = {
    "03.ex1": [
        ("sigmoid(x) * sigmoid(-x)", lambda x: torch.sigmoid(x) * torch.sigmoid(-x)),
        ("e^-x / (1 + e^-x)^2", _sigmoid_grad_from_exp),
        ("s - s**2 from exp", _sigmoid_grad_by_hand),
    ],
    "03.ex2": [
        ("torch.autograd.grad", _vjp_autograd_grad),
        ("torch.func.vjp", _vjp_func),
        ("backward of (f(x) * v).sum()", _vjp_weighted_sum),
        ("full Jacobian", _vjp_full_jacobian),
    ],
    "03.ex3": [
        ("torch.autograd.grad", _derivative_autograd_grad),
        ("backward with ones", _derivative_ones),
        ("vmap of func.grad", _derivative_vmap),
        (
            "forward mode, torch.func.jvp with ones",
            lambda f, x: torch.func.jvp(f, (x.detach(),), (torch.ones_like(x),))[1],
        ),
        ("grad of the sum, create_graph=False", _derivative_grad_of_sum),
    ],
    "03.ex4": [
        ("torch.autograd.grad", _per_batch_autograd_grad),
        ("zero_ and clone, saved gradient restored", _per_batch_zero_and_clone),
        ("torch.func.grad", _per_batch_func_grad),
    ],
    "03.ex5": [
        ("rows of an identity, tensor result", _error_with_eye),
        ("nudging a private copy in place", _error_nudging_a_copy),
    ],
}
