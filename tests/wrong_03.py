"""Typical mistakes in chapter 03, Autograd."""

import torch

TENSOR_RESULTS = {"03.ex1", "03.ex2", "03.ex3", "03.ex4"}


# Exercise 1: sigmoid_grad(x), which must not use autograd
def _sigmoid_by_backward(x):
    x = x.detach().requires_grad_()
    torch.sigmoid(x).sum().backward()
    return x.grad


def _sigmoid_by_autograd_grad(x):
    x = x.detach().requires_grad_()
    return torch.autograd.grad((1 / (1 + torch.exp(-x))).sum(), x)[0]


def _sigmoid_by_func_grad(x):
    return torch.vmap(torch.func.grad(torch.sigmoid))(x.reshape(-1)).reshape(x.shape)


def _sigmoid_by_forward_ad(x):
    import torch.autograd.forward_ad as fwad

    with fwad.dual_level():
        dual = fwad.make_dual(x, torch.ones_like(x))
        return fwad.unpack_dual(torch.sigmoid(dual)).tangent


def _sigmoid_by_func_jvp(x):
    return torch.func.jvp(torch.sigmoid, (x,), (torch.ones_like(x),))[1]


# Exercise 2: vjp(f, x, v)
def _vjp_ignores_v(f, x, v):
    x = x.detach().requires_grad_()
    f(x).sum().backward()
    return x.grad


def _vjp_scales_afterwards(f, x, v):
    x = x.detach().requires_grad_()
    f(x).sum().backward()
    return x.grad * v


def _vjp_on_callers_x(f, x, v):
    x.requires_grad_()
    f(x).backward(v)
    return x.grad


def _vjp_mean(f, x, v):
    x = x.detach().requires_grad_()
    (f(x) * v).mean().backward()
    return x.grad


def _jvp_instead(f, x, v):
    return torch.autograd.functional.jvp(f, x, v)[1]


def _vjp_clone(f, x, v):
    x = x.clone().requires_grad_()
    f(x).backward(v)
    return x.grad


# Exercise 3: derivative(f, x)
def _derivative_without_sum(f, x):
    x = x.detach().requires_grad_()
    f(x).backward()
    return x.grad


def _derivative_mean(f, x):
    x = x.detach().requires_grad_()
    f(x).mean().backward()
    return x.grad


def _derivative_on_callers_x(f, x):
    x.requires_grad_()
    f(x).sum().backward()
    return x.grad


def _derivative_forward_difference(f, x):
    return (f(x + 1e-3) - f(x)) / 1e-3


def _derivative_clone(f, x):
    x = x.clone().requires_grad_()
    f(x).sum().backward()
    return x.grad


def _derivative_central_difference(f, x):
    x64, h = x.detach().double(), 1e-6
    return ((f(x64 + h) - f(x64 - h)) / (2 * h)).to(x.dtype)


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


def _leaves_the_last_gradient(loss_fn, w, batches):
    grads = []
    for batch in batches:
        w.grad = None
        loss_fn(w, batch).backward()
        grads.append(w.grad)
    return torch.stack(grads)


def _restores_a_zeroed_gradient(loss_fn, w, batches):
    old = w.grad  # the same tensor, which zero_ below empties
    grads = []
    for batch in batches:
        if w.grad is not None:
            w.grad.zero_()
        loss_fn(w, batch).backward()
        grads.append(w.grad.clone())
    w.grad = old
    return torch.stack(grads)


def _takes_a_step(loss_fn, w, batches):
    old = w.grad
    grads = []
    for batch in batches:
        w.grad = None
        loss_fn(w, batch).backward()
        grads.append(w.grad)
    with torch.no_grad():
        w -= 0.1 * torch.stack(grads).mean(0)  # an update the statement did not ask for
    w.grad = old
    return torch.stack(grads)


def _returns_a_list(loss_fn, w, batches):
    grads = []
    for batch in batches:
        w.grad = None
        loss_fn(w, batch).backward()
        grads.append(w.grad)
    return grads


def _float32_buffer(f, x, h=1e-6):
    x = x.detach().requires_grad_()
    f(x).backward()
    numeric = torch.zeros(x.numel())
    with torch.no_grad():
        for i in range(x.numel()):
            step = torch.zeros(x.numel(), dtype=x.dtype)
            step[i] = h
            step = step.reshape(x.shape)
            numeric[i] = (f(x + step) - f(x - step)) / (2 * h)
    return (x.grad - numeric.reshape(x.shape)).abs().max().item()


# Exercise 5: gradient_error(f, x, h)
def _autograd(f, x):
    x = x.detach().requires_grad_()
    f(x).backward()
    return x.grad


def _differences(f, x, h, scale=2, one_sided=False):
    numeric = torch.zeros(x.numel(), dtype=x.dtype)
    for i in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[i] = h
        step = step.reshape(x.shape)
        low = f(x) if one_sided else f(x - step)
        numeric[i] = (f(x + step) - low) / ((1 if one_sided else scale) * h)
    return numeric.reshape(x.shape)


def _forward_difference(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, h, one_sided=True)).abs().max().item()


def _divides_by_h(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, h, scale=1)).abs().max().item()


def _signed_max(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, h)).max().item()


def _mean_error(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, h)).abs().mean().item()


def _ignores_h(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, 1e-6)).abs().max().item()


def _returns_both_differences(f, x, h=1e-6):
    return (_autograd(f, x) - _differences(f, x, h)).abs()


def _all_at_once(f, x, h=1e-6):
    return (_autograd(f, x) - (f(x + h) - f(x - h)) / (2 * h)).abs().max().item()


def _marks_callers_x(f, x, h=1e-6):
    x.requires_grad_()
    f(x).backward()
    return (x.grad - _differences(f, x.detach(), h)).abs().max().item()


def _never_restores(f, x, h=1e-6):
    grad = _autograd(f, x)
    flat = x.view(-1)
    numeric = torch.zeros_like(flat)
    for i in range(x.numel()):
        flat[i] += h
        up = f(x)
        flat[i] -= 2 * h
        numeric[i] = (up - f(x)) / (2 * h)
    return (grad - numeric.reshape(x.shape)).abs().max().item()


def _clone_not_detach(f, x, h=1e-6):
    x = x.clone().requires_grad_()
    f(x).backward()
    return (x.grad - _differences(f, x.detach(), h)).abs().max().item()


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
        ("autograd's backward", _sigmoid_by_backward, "runs a backward pass", "on paper"),
        ("torch.autograd.grad", _sigmoid_by_autograd_grad, "runs a backward pass", "on paper"),
        ("torch.func.grad", _sigmoid_by_func_grad, "runs a backward pass", "on paper"),
        ("forward-mode AD", _sigmoid_by_forward_ad, "forward-mode automatic", "on paper"),
        ("torch.func.jvp", _sigmoid_by_func_jvp, "forward-mode automatic", "on paper"),
    ],
    "03.ex2": [
        ("ignores v", _vjp_ignores_v, "wrong values"),
        ("multiplies by v afterwards", _vjp_scales_afterwards, "raised RuntimeError"),
        ("marks the caller's x", _vjp_on_callers_x, "switched on requires_grad of the caller's x"),
        ("mean instead of sum", _vjp_mean, "wrong values"),
        ("Jacobian-vector product", _jvp_instead, "raised RuntimeError"),
        ("returns f(x) * v", lambda f, x, v: f(x) * v, "wrong values"),
        ("clone of a tensor that records", _vjp_clone, "filled the caller's x.grad"),
    ],
    "03.ex3": [
        ("no sum", _derivative_without_sum, "only for scalar outputs"),
        ("mean instead of sum", _derivative_mean, "wrong values"),
        (
            "marks the caller's x",
            _derivative_on_callers_x,
            "switched on requires_grad of the caller's x",
        ),
        ("returns f(x)", lambda f, x: f(x), "wrong values"),
        ("clone of a tensor that records", _derivative_clone, "filled the caller's x.grad"),
        ("rough forward difference", _derivative_forward_difference, "wrong values"),
        (
            "central difference in float64",
            _derivative_central_difference,
            "never ran autograd",
            "only estimates",
        ),
    ],
    "03.ex4": [
        ("never resets", _never_resets, "accumulates", "adds the new gradient"),
        (
            "resets after backward",
            _resets_after,
            "before each backward, not after",
            "adds the new gradient",
        ),
        (
            "stores w.grad itself",
            _keeps_the_same_tensor,
            "store a copy (.clone())",
            "references, not copies",
        ),
        ("zero_ on a missing grad", _zero_on_none, "raised AttributeError"),
        ("one backward for all", _one_backward_for_all, "has shape"),
        ("returns a list", _returns_a_list, "got list"),
        (
            "leaves the last gradient in w.grad",
            _leaves_the_last_gradient,
            "(here None)",
            "keep that tensor aside",
        ),
        (
            "restores a gradient it zeroed",
            _restores_a_zeroed_gradient,
            "no longer holds",
            "keep that tensor aside",
        ),
        ("changes w", _takes_a_step, "changed w itself"),
    ],
    "03.ex5": [
        (
            "forward difference",
            _forward_difference,
            "one-sided difference's error",
            "nudges both ways",
        ),
        ("float32 buffer", _float32_buffer, "rounding of a float32 buffer", "dtype of x"),
        ("divides by h, not 2h", _divides_by_h, "gradient_error for a correct sum(x**3) is"),
        ("signed maximum", _signed_max, "for the buggy cube is 0.75"),
        ("mean instead of max", _mean_error, "for the buggy cube is"),
        ("ignores h", _ignores_h, "use the h you are given", "the one passed"),
        ("returns every difference", _returns_both_differences, "should be a single number"),
        ("all elements at once", _all_at_once, "gradient_error for a correct sum(x**3) is"),
        ("marks the caller's x", _marks_callers_x, "switched on requires_grad of the caller's x"),
        ("never restores x", _never_restores, "changed the values"),
        ("clone of a tensor that records", _clone_not_detach, "raised TypeError"),
        ("autograd only", lambda f, x, h=1e-6: _autograd(f, x).abs().max().item(), "is 27"),
    ],
}
