"""Alternative correct answers for chapter 05, written the way other learners would."""

import torch
import torch.nn.functional as F


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


# 05.ex1: cross_entropy(logits, targets, reduction="mean")
def log_softmax_gather(logits, targets, reduction="mean"):
    log_probs = F.log_softmax(logits, dim=1)
    return _reduce(-log_probs.gather(1, targets[:, None]).squeeze(1), reduction)


def logsumexp_gather(logits, targets, reduction="mean"):
    picked = logits.gather(1, targets.unsqueeze(1)).squeeze(1)
    return _reduce(torch.logsumexp(logits, dim=1) - picked, reduction)


def row_by_row(logits, targets, reduction="mean"):
    losses = []
    for row, target in zip(logits, targets, strict=True):
        largest = row.max()
        losses.append(largest + (row - largest).exp().sum().log() - row[target])
    return _reduce(torch.stack(losses), reduction)


def nll_of_log_softmax(logits, targets, reduction="mean"):
    return F.nll_loss(F.log_softmax(logits, dim=1), targets, reduction=reduction)


def one_hot_weights(logits, targets, reduction="mean"):
    one_hot = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return _reduce(-(one_hot * logits.log_softmax(dim=1)).sum(dim=1), reduction)


def shift_by_max_out_of_place(logits, targets, reduction="mean"):
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    losses = -log_probs[range(len(targets)), targets.tolist()]
    return {"mean": losses.mean, "sum": losses.sum}.get(reduction, lambda: losses)()


# 05.ex2: sgd_step(params, lr)
def with_torch_sgd(params, lr):
    torch.optim.SGD([p for p in params if p.grad is not None], lr=lr).step()
    for p in params:
        p.grad = None


def copy_into_each(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.copy_(p - lr * p.grad)
                p.grad = None


def add_with_alpha(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad is not None:
                p.add_(p.grad, alpha=-lr)
                p.grad = None


def sub_then_zero(params, lr):
    for p in params:
        if p.grad is None:
            continue
        with torch.no_grad():
            p.sub_(lr * p.grad)
        p.grad.zero_()


@torch.no_grad()
def decorated(params, lr):
    for p in [q for q in params if q.grad is not None]:
        p -= lr * p.grad
        p.grad.zero_()


# 05.ex3: train_step(model, loss_fn, optimizer, x, y)
def loss_first_then_zero_grad(model, loss_fn, optimizer, x, y):
    prediction = model(x)
    loss = loss_fn(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def model_zero_grad_float(model, loss_fn, optimizer, x, y):
    model.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss)


def zeros_instead_of_none(model, loss_fn, optimizer, x, y):
    optimizer.zero_grad(set_to_none=False)
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.detach().cpu().item()


# 05.ex4: momentum_step(param, velocity, lr, momentum)
def augmented_assignment(param, velocity, lr, momentum):
    with torch.no_grad():
        velocity *= momentum
        velocity += param.grad
        param.sub_(lr * velocity)


def copy_into_velocity(param, velocity, lr, momentum):
    velocity.copy_(momentum * velocity + param.grad)
    with torch.no_grad():
        param.add_(velocity, alpha=-lr)


# 05.ex5: train_epoch(model, loader, loss_fn, optimizer, device)
def counts_examples(model, loader, loss_fn, optimizer, device):
    model.train()
    total, seen = 0.0, 0
    for inputs, labels in loader:
        inputs = inputs.to(device, non_blocking=True)
        labels = labels.to(device, non_blocking=True)
        loss = loss_fn(model(inputs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * inputs.shape[0]
        seen += inputs.shape[0]
    return total / seen


def enumerate_and_size(model, loader, loss_fn, optimizer, device):
    model.to(device).train()
    losses, sizes = [], []
    for _, (xb, yb) in enumerate(loader):
        size = xb.size(0)
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        sizes.append(size)
    return sum(m * n for m, n in zip(losses, sizes, strict=True)) / sum(sizes)


def summed_losses(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.detach() * len(yb)
    return (total / len(loader.dataset)).item()


RIGHT = {
    "05.ex1": [
        ("F.log_softmax + gather", log_softmax_gather),
        ("torch.logsumexp + gather", logsumexp_gather),
        ("a loop over rows, shifted by the max", row_by_row),
        ("F.nll_loss of F.log_softmax", nll_of_log_softmax),
        ("one-hot weights", one_hot_weights),
        ("max shift by hand, index lists", shift_by_max_out_of_place),
    ],
    "05.ex2": [
        ("add_ with alpha=-lr, grad = None", add_with_alpha),
        ("sub_ per parameter, grad.zero_()", sub_then_zero),
        ("@torch.no_grad() decorator", decorated),
        ("torch.optim.SGD's own step", with_torch_sgd),
        ("copy_ of the new values", copy_into_each),
    ],
    "05.ex3": [
        ("loss first, then zero_grad before backward", loss_first_then_zero_grad),
        ("model.zero_grad() and float(loss)", model_zero_grad_float),
        ("zero_grad(set_to_none=False)", zeros_instead_of_none),
    ],
    "05.ex4": [
        ("*= and += then sub_", augmented_assignment),
        ("copy_ into velocity, add_ with alpha", copy_into_velocity),
    ],
    "05.ex5": [
        ("counts the examples it saw, shape[0]", counts_examples),
        ("enumerate and size(0) before moving", enumerate_and_size),
        ("sums detached tensors, len(yb)", summed_losses),
    ],
}
