"""Checks for chapter 05, Losses, optimizers and the training loop."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import call, expect_callable, expect_tensor, kind_of
from torchcourse.i18n import N_


def _randn(*shape, seed=1, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


def _labels(n, classes, seed=2):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, classes, (n,), generator=generator)


def _expect_float(got, want: float, what: str, tol=1e-5) -> None:
    if isinstance(got, torch.Tensor):
        raise Mismatch(f"{what} is a tensor; return a Python float with loss.item().")
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Mismatch(f"{what} should be a float, got {kind_of(got)}.")
    if math.isnan(got):
        raise Mismatch(f"{what} is NaN.")
    if not math.isclose(got, want, rel_tol=tol, abs_tol=tol):
        raise Mismatch(f"{what} is {got:.6g}, expected {want:.6g}.")


@exercise(
    "05.ex1",
    hints=[
        N_(
            "loss_i = logsumexp(logits[i]) - logits[i, targets[i]] (or "
            "-F.log_softmax(logits, 1) picked at the targets); then mean, sum or nothing."
        )
    ],
)
def _cross_entropy(answer):
    cases = [
        (_randn(4, 3), _labels(4, 3), "a batch of 4 with 3 classes"),
        (_randn(6, 10, scale=3.0, seed=3), _labels(6, 10, seed=4), "a batch of 6 with 10 classes"),
        (
            torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 10.0]]),
            torch.tensor([0, 2]),
            "logits as large as 1000",
        ),
    ]
    for logits, targets, what in cases:
        for reduction in ("mean", "sum", "none"):
            kwargs = {} if reduction == "mean" else {"reduction": reduction}
            got = call(answer, logits.clone(), targets.clone(), **kwargs)
            want = F.cross_entropy(logits, targets, reduction=reduction)
            label = f"the {reduction!r} loss for {what}"
            if reduction == "mean" and isinstance(got, torch.Tensor) and got.shape != ():
                raise Mismatch(
                    f"{label} has shape {tuple(got.shape)}; with the default "
                    "reduction='mean' return one number, a 0-d tensor."
                )
            if (
                isinstance(got, torch.Tensor)
                and got.is_floating_point()
                and got.device.type == "cpu"
                and logits.abs().max() >= 100
                and not bool(torch.isfinite(got).all())
            ):
                raise Mismatch(
                    f"{label} is not finite (nan or inf): exp(1000) overflows in float32; "
                    "use torch.logsumexp or F.log_softmax, which subtract the largest logit."
                )
            expect_tensor(got, want, label, atol=1e-4, rtol=1e-5)
    return "matches F.cross_entropy for every reduction, also for logits of 1000."


def _regression_params():
    weight = _randn(2, 3, seed=5).requires_grad_()
    bias = _randn(2, seed=6).requires_grad_()
    frozen = _randn(3, seed=7).requires_grad_()
    x = _randn(8, 3, seed=8)
    loss = ((x @ weight.T + bias) ** 2).mean()
    loss.backward()
    return [weight, bias, frozen]


@exercise(
    "05.ex2",
    hints=[
        N_(
            "with torch.no_grad(): for each p with a grad, p -= lr * p.grad; then "
            "p.grad.zero_() (or p.grad = None); skip parameters whose grad is None."
        )
    ],
)
def _sgd_step(answer):
    params = _regression_params()
    before = [p.detach().clone() for p in params]
    grads = [None if p.grad is None else p.grad.clone() for p in params]
    objects = [id(p) for p in params]
    expect_callable(answer)
    answer(params, 0.1)
    if [id(p) for p in params] != objects:
        raise Mismatch(
            "the list now holds other tensors: update each parameter in place "
            "(p -= ...), do not replace it."
        )
    for index, (p, old, grad) in enumerate(zip(params, before, grads, strict=True)):
        what = f"parameter {index} (shape {tuple(p.shape)})"
        if not p.is_leaf or not p.requires_grad:
            raise Mismatch(
                f"{what} is no longer a leaf that requires grad: update it inside torch.no_grad()."
            )
        if grad is None:
            if not torch.equal(p.detach(), old):
                raise Mismatch(f"{what} has no gradient but was changed; skip it.")
            continue
        if torch.equal(p.detach(), old):
            raise Mismatch(
                f"{what} is unchanged: `p = p - lr * p.grad` only rebinds a name; "
                "write p -= lr * p.grad."
            )
        if torch.allclose(p.detach(), old + 0.1 * grad):
            raise Mismatch(f"{what} moved uphill, along the gradient: subtract lr * p.grad.")
        expect_tensor(p.detach(), old - 0.1 * grad, f"{what} after the step")
        if p.grad is not None and bool(p.grad.abs().sum() != 0):
            raise Mismatch(
                f"the gradient of {what} still holds its old values: zero it after "
                "the update, or the next backward adds to it."
            )
    return "every parameter moved by -lr * grad, in place, and its gradient is cleared."


def _step_model():
    torch.manual_seed(0)
    return nn.Linear(3, 2)


def _reference_step(model, optimizer, x, y, stale: bool):
    if not stale:
        optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


@exercise(
    "05.ex3",
    hints=[
        N_(
            "optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); "
            "optimizer.step(); return loss.item()."
        )
    ],
)
def _train_step(answer):
    x, y = _randn(5, 3, seed=9), _randn(5, 2, seed=10)
    with torch.random.fork_rng(devices=[]):
        results = {}
        for kind in ("answer", "right", "stale"):
            model = _step_model()
            for p in model.parameters():  # gradients left over from an earlier batch
                p.grad = torch.full_like(p, 5.0)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            if kind == "answer":
                expect_callable(answer)
                returned = answer(model, nn.MSELoss(), optimizer, x, y)
            else:
                returned = _reference_step(model, optimizer, x, y, stale=kind == "stale")
            results[kind] = ([p.detach().clone() for p in model.parameters()], returned)
        start = [p.detach() for p in _step_model().parameters()]
    got, right, stale = results["answer"][0], results["right"][0], results["stale"][0]
    if all(torch.equal(g, s) for g, s in zip(got, start, strict=True)):
        raise Mismatch(
            "the parameters did not change: call optimizer.step() after "
            "loss.backward() (and zero_grad before backward, not between them)."
        )
    if all(torch.allclose(g, s) for g, s in zip(got, stale, strict=True)):
        raise Mismatch(
            "the step used the gradients left over from an earlier batch: call "
            "optimizer.zero_grad() before loss.backward()."
        )
    for index, (g, r) in enumerate(zip(got, right, strict=True)):
        expect_tensor(g, r, f"parameter {index} after one step")
    _expect_float(results["answer"][1], results["right"][1], "the returned loss")
    return "zero_grad, forward, loss, backward, step, and the loss as a float."


def _momentum_path(lr, momentum, steps, grad_fn):
    param = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum)
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        grad_fn(param).backward()
        optimizer.step()
        path.append(param.detach().clone())
    return path


def _bowl(param):
    return 0.5 * (param * param * torch.tensor([1.0, 4.0, 9.0])).sum()


@exercise(
    "05.ex4",
    hints=[
        N_(
            "inside torch.no_grad(): velocity.mul_(momentum).add_(param.grad), then "
            "param -= lr * velocity; both change in place."
        )
    ],
)
def _momentum_step(answer):
    expect_callable(answer)
    for lr, momentum in [(0.1, 0.9), (0.05, 0.5)]:
        want = _momentum_path(lr, momentum, 6, _bowl)
        plain = _momentum_path(lr, 0.0, 6, _bowl)
        param = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
        velocity = torch.zeros(3)
        for step in range(6):
            param.grad = None
            _bowl(param).backward()
            answer(param, velocity, lr, momentum)
            if not param.is_leaf or not param.requires_grad:
                raise Mismatch(
                    "param is no longer a leaf that requires grad: update it inside "
                    "torch.no_grad()."
                )
            what = f"param after step {step + 1} (lr={lr}, momentum={momentum})"
            if step == 0 and not velocity.abs().sum():
                raise Mismatch(
                    "velocity is still zero after a step: update it in place "
                    "(velocity.mul_(momentum).add_(param.grad))."
                )
            if (
                step > 0
                and torch.allclose(param.detach(), plain[step])
                and not torch.allclose(plain[step], want[step])
            ):
                raise Mismatch(
                    f"{what} is what plain SGD gives: the velocity is not carried "
                    "from one step to the next."
                )
            expect_tensor(param.detach(), want[step], what, atol=1e-5)
    return "six steps agree with torch.optim.SGD(momentum=...), for two settings."


class _Probe(nn.Module):
    """Passes x through and records the mode of each forward pass."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


def _epoch_setup(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), _Probe(), nn.Linear(8, 3))
    model.eval()  # the function must switch it to training mode itself
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = _randn(50, 2, seed=11), _labels(50, 3, seed=12)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)  # batches of 16, 16, 16 and 2
    return model, optimizer, loader


def _reference_epoch(model, loader, loss_fn, optimizer):
    model.train()
    total, batch_means = 0.0, []
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        batch_means.append(loss.item())
    return total / len(loader.dataset), sum(batch_means) / len(batch_means)


@exercise(
    "05.ex5",
    hints=[
        N_(
            "model.train(); per batch: move to device, zero_grad, loss, backward, "
            "step, total += loss.item() * len(xb); return total / len(loader.dataset)."
        )
    ],
)
def _train_epoch(answer):
    expect_callable(answer)
    with torch.random.fork_rng(devices=[]):
        model, optimizer, loader = _epoch_setup(0)
        got = answer(model, loader, nn.CrossEntropyLoss(), optimizer, torch.device("cpu"))
        ref_model, ref_optimizer, ref_loader = _epoch_setup(0)
        want, unweighted = _reference_epoch(
            ref_model, ref_loader, nn.CrossEntropyLoss(), ref_optimizer
        )
    modes = model[2].modes
    if len(modes) != 4:
        raise Mismatch(
            f"the model ran {len(modes)} forward passes, expected 4 (one per batch "
            "of a 50-example loader with batch_size=16)."
        )
    if not all(modes):
        raise Mismatch("the model was in eval mode while training: call model.train() first.")
    for index, (p, r) in enumerate(zip(model.parameters(), ref_model.parameters(), strict=True)):
        if not torch.allclose(p, r, atol=1e-6):
            raise Mismatch(
                f"after one epoch parameter {index} differs from a correct loop's: "
                "zero_grad, backward and step once per batch, in that order."
            )
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isclose(got, unweighted, rel_tol=1e-6) and not math.isclose(got, want):
            raise Mismatch(
                f"you returned {got:.6g}, the mean of the batch means; the last "
                "batch holds only 2 examples: weight each batch by len(xb)."
            )
    _expect_float(got, want, "the returned mean loss per example")
    return "trains in train mode, one step per batch, and averages over examples."
