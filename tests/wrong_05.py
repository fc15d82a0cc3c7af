"""Typical mistakes in chapter 05, Losses, optimizers and the training loop."""

import torch
import torch.nn.functional as F

TENSOR_RESULTS = {"05.ex1"}


def _reduce(losses, reduction):
    return {"mean": losses.mean, "sum": losses.sum}.get(reduction, lambda: losses)()


# 05.ex1: cross_entropy(logits, targets, reduction="mean")
def naive_softmax(logits, targets, reduction="mean"):
    probs = logits.exp() / logits.exp().sum(1, keepdim=True)
    return _reduce(-probs[torch.arange(len(targets)), targets].log(), reduction)


def no_minus_sign(logits, targets, reduction="mean"):
    return _reduce(F.log_softmax(logits, 1)[torch.arange(len(targets)), targets], reduction)


def nll_on_logits(logits, targets, reduction="mean"):
    return F.nll_loss(logits, targets, reduction=reduction)


def softmax_first(logits, targets, reduction="mean"):
    return F.cross_entropy(logits.softmax(1), targets, reduction=reduction)


def log_of_softmax(logits, targets, reduction="mean"):
    log_probs = logits.softmax(1).log()  # a probability of exp(-205) rounds to 0: log(0)
    return _reduce(-log_probs[torch.arange(len(targets)), targets], reduction)


def returns_float(logits, targets, reduction="mean"):
    losses = -F.log_softmax(logits, 1)[torch.arange(len(targets)), targets]
    if reduction == "none":
        return losses
    return _reduce(losses, reduction).item()


def detached(logits, targets, reduction="mean"):
    losses = torch.logsumexp(logits, 1) - logits[torch.arange(len(targets)), targets]
    return _reduce(losses, reduction).detach()


def shifts_logits_in_place(logits, targets, reduction="mean"):
    logits -= logits.max(1, keepdim=True).values
    losses = logits.exp().sum(1).log() - logits[torch.arange(len(targets)), targets]
    return _reduce(losses, reduction)


def rebuilt_from_numbers(logits, targets, reduction="mean"):
    losses = torch.logsumexp(logits, 1) - logits[torch.arange(len(targets)), targets]
    return torch.tensor(_reduce(losses, reduction).tolist())


def ignores_reduction(logits, targets, reduction="mean"):
    return F.cross_entropy(logits, targets)


def mean_over_classes(logits, targets, reduction="mean"):
    one_hot = F.one_hot(targets, logits.shape[1]).float()
    losses = -(one_hot * F.log_softmax(logits, 1)).mean(1)
    return _reduce(losses, reduction)


def no_reduction_argument(logits, targets):
    return F.cross_entropy(logits, targets)


def keeps_a_batch_dim(logits, targets, reduction="mean"):
    losses = -F.log_softmax(logits, 1)[torch.arange(len(targets)), targets]
    return losses.mean(0, keepdim=True) if reduction == "mean" else _reduce(losses, reduction)


# 05.ex2: sgd_step(params, lr)
def through_data(params, lr):
    for p in params:
        if p.grad is not None:
            p.data -= lr * p.grad
            p.grad = None


def rebinds_data(params, lr):
    for p in params:
        if p.grad is not None:
            p.data = p.data - lr * p.grad
            p.grad = None


def rebinds(params, lr):
    for p in params:
        if p.grad is not None:
            p = p - lr * p.grad  # noqa: F841 - the classic mistake: only the name changes


def uphill(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p += lr * p.grad
                p.grad.zero_()


def keeps_gradients(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= lr * p.grad


def no_no_grad(params, lr):
    for p in params:
        if p.grad is not None:
            p -= lr * p.grad
            p.grad.zero_()


def touches_frozen(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * (p.grad if p.grad is not None else torch.ones_like(p))
            p.grad = None


def replaces_list_items(params, lr):
    for i, p in enumerate(params):
        if p.grad is not None:
            params[i] = (p - lr * p.grad).detach().requires_grad_()


def ignores_lr(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p -= 0.01 * p.grad
                p.grad = None


# 05.ex3: train_step(model, loss_fn, optimizer, x, y)
def no_zero_grad(model, loss_fn, optimizer, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def zero_grad_after_backward(model, loss_fn, optimizer, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def no_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.item()


def returns_tensor(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


def returns_loss_after_step(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad()
    loss_fn(model(x), y).backward()
    optimizer.step()
    return loss_fn(model(x), y).item()


def zero_grad_after_step(model, loss_fn, optimizer, x, y):
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


# 05.ex4: momentum_step(param, velocity, lr, momentum)
def plain_sgd(param, velocity, lr, momentum):
    with torch.no_grad():
        param -= lr * param.grad


def rebinds_velocity(param, velocity, lr, momentum):
    velocity = momentum * velocity + param.grad
    with torch.no_grad():
        param -= lr * velocity


def moving_average(param, velocity, lr, momentum):
    with torch.no_grad():
        velocity.mul_(momentum).add_((1 - momentum) * param.grad)
        param -= lr * velocity


def momentum_on_gradient(param, velocity, lr, momentum):
    with torch.no_grad():
        velocity.copy_(param.grad)
        param -= lr * (momentum * velocity + param.grad)


def steps_before_updating(param, velocity, lr, momentum):
    with torch.no_grad():
        param -= lr * velocity
        velocity.mul_(momentum).add_(param.grad)


def momentum_without_no_grad(param, velocity, lr, momentum):
    velocity.mul_(momentum).add_(param.grad)
    param -= lr * velocity


# 05.ex5: train_epoch(model, loader, loss_fn, optimizer, device)
def _epoch(
    model,
    loader,
    loss_fn,
    optimizer,
    device,
    *,
    train=True,
    zero=True,
    weight=True,
    last_only=False,
    as_tensor=False,
):
    if train:
        model.train()
    total, means, loss = 0.0, [], None
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        if zero:
            optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        means.append(loss.item())
    if as_tensor:
        return torch.tensor(total / len(loader.dataset))
    if last_only:
        return loss.item()
    return total / len(loader.dataset) if weight else sum(means) / len(means)


def one_batch_only(model, loader, loss_fn, optimizer, device):
    model.train()
    xb, yb = next(iter(loader))
    xb, yb = xb.to(device), yb.to(device)
    optimizer.zero_grad()
    loss = loss_fn(model(xb), yb)
    loss.backward()
    optimizer.step()
    return loss.item()


def never_moves(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    return total / len(loader.dataset)


def moves_inputs_only(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for xb, yb in loader:
        xb = xb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / len(loader.dataset)


WRONG = {
    "05.ex1": [
        ("naive softmax overflows", naive_softmax, "exp(1000) overflows"),
        ("log of softmax underflows", log_of_softmax, "log(0) is -inf"),
        ("forgets the minus sign", no_minus_sign, "wrong values"),
        ("nll_loss on raw logits", nll_on_logits, "wrong values"),
        ("softmax before cross_entropy", softmax_first, "wrong values"),
        ("ignores reduction", ignores_reduction, "the 'sum' loss"),
        ("no reduction argument", no_reduction_argument, "unexpected keyword argument"),
        ("averages over classes", mean_over_classes, "wrong values"),
        ("keeps a batch dimension", keeps_a_batch_dim, "0-d tensor"),
        ("returns a Python float", returns_float, "asks for a tensor"),
        ("detaches the loss", detached, "not connected to the logits"),
        ("tensor rebuilt from numbers", rebuilt_from_numbers, "not connected to the logits"),
        (
            "shifts the logits in place",
            shifts_logits_in_place,
            "changed its argument `logits`",
            "an in-place operation",
        ),
    ],
    "05.ex2": [
        ("p = p - lr * p.grad", rebinds, "only rebinds the name", "not the tensor the list holds"),
        ("p.data -= lr * p.grad", through_data, "changed through .data", "honest way"),
        ("p.data = p.data - lr * p.grad", rebinds_data, "changed through .data", "honest way"),
        ("adds the gradient", uphill, "moved uphill", "the other way"),
        ("keeps the gradients", keeps_gradients, "still holds its old values", "must be cleared"),
        ("no torch.no_grad()", no_no_grad, "in-place operation"),
        ("moves a parameter without a gradient", touches_frozen, "has no gradient but was changed"),
        ("replaces the tensors", replaces_list_items, "do not replace it"),
        ("ignores lr", ignores_lr, "wrong values"),
    ],
    "05.ex3": [
        ("no zero_grad", no_zero_grad, "left over from an earlier batch", "must be cleared"),
        ("zero_grad after backward", zero_grad_after_backward, "did not change", "moves the"),
        (
            "zero_grad after step only",
            zero_grad_after_step,
            "left over from an earlier batch",
            "must be cleared",
        ),
        ("no step", no_step, "never applied an update", "moves the"),
        ("returns the tensor", returns_tensor, "asks for a Python float"),
        ("loss after the step", returns_loss_after_step, "the returned loss (before the step) is"),
    ],
    "05.ex4": [
        ("plain SGD", plain_sgd, "velocity is still zero"),
        ("rebinds velocity", rebinds_velocity, "velocity is still zero"),
        ("moving average (dampening)", moving_average, "wrong values"),
        ("Nesterov-like mix", momentum_on_gradient, "wrong values"),
        ("steps with the old velocity", steps_before_updating, "wrong values"),
        ("no torch.no_grad()", momentum_without_no_grad, "in-place operation"),
    ],
    "05.ex5": [
        ("no model.train()", lambda *a: _epoch(*a, train=False), "switch it to training mode"),
        ("no zero_grad", lambda *a: _epoch(*a, zero=False), "differs from a correct loop's"),
        (
            "mean of batch means",
            lambda *a: _epoch(*a, weight=False),
            "weight each batch",
            "in proportion",
        ),
        ("last batch's loss", lambda *a: _epoch(*a, last_only=True), "mean loss per example"),
        ("returns a tensor", lambda *a: _epoch(*a, as_tensor=True), "asks for a Python float"),
        ("one batch only", one_batch_only, "forward passes was 1, expected 4"),
        ("never moves the batches", never_moves, "inputs were used where the loader left them"),
        ("moves the inputs only", moves_inputs_only, "labels were used where the loader left"),
    ],
}
