"""Checks for chapter 05, Losses, optimizers and the training loop."""

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.dataloader import default_collate

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import (
    call,
    expect_tensor,
    expect_unchanged,
    kind_of,
    snapshot,
)
from torchcourse.i18n import N_, _


def _randn(*shape, seed=1, scale=1.0):
    generator = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=generator)


def _labels(n, classes, seed=2):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, classes, (n,), generator=generator)


def _expect_float(got, want: float, what: str, tol=1e-5) -> None:
    """got must be a Python float (or int) close to want; the statements ask for one."""
    if isinstance(got, torch.Tensor):
        raise Mismatch(
            _(
                "{what} is a tensor; the statement asks for a Python float (a tensor would "
                "keep the whole graph of the step alive)"
            ).format(what=what)
        )
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        raise Mismatch(
            _("{what} should be a Python float, got {kind}").format(what=what, kind=kind_of(got))
        )
    if math.isnan(got):
        raise Mismatch(_("{what} is NaN").format(what=what))
    if not math.isclose(got, want, rel_tol=tol, abs_tol=tol):
        raise Mismatch(
            _("{what} is {got:.6g}, expected {want:.6g}").format(what=what, got=got, want=want)
        )


# 05.ex1: cross_entropy(logits, targets, reduction="mean")

_CE_CASES = [  # logits, targets, what they are, what goes wrong in float32 if done naively
    (_randn(4, 3), _labels(4, 3), N_("a batch of 4 with 3 classes"), None),
    (
        _randn(6, 10, scale=3.0, seed=3),
        _labels(6, 10, seed=4),
        N_("a batch of 6 with 10 classes"),
        None,
    ),
    (
        torch.tensor([[1000.0, 0.0, -1000.0], [-5.0, 1000.0, 3.0]]),
        torch.tensor([0, 1]),
        N_("logits of 1000 on the correct classes (the right losses are 0)"),
        "overflow",
    ),
    (
        torch.tensor([[0.0, -200.0, 5.0], [-200.0, 0.0, 0.0]]),
        torch.tensor([1, 0]),
        N_("correct classes 200 below the largest logit (the right losses are about 205 and 201)"),
        "underflow",
    ),
    (
        torch.tensor([[1000.0, 0.0, -1000.0], [0.0, 800.0, 10.0]]),
        torch.tensor([0, 2]),
        N_("logits as large as 1000"),
        None,
    ),
]

_TROUBLE = {
    "overflow": N_(
        "{label} is not finite: exp(1000) overflows to inf in float32, and inf / inf is nan; "
        "never take exp of a raw logit"
    ),
    "underflow": N_(
        "{label} is not finite: the correct class's probability, exp(-200) or less, rounds to 0 "
        "in float32 and log(0) is -inf; compute the log-probability directly, never the log "
        "of a probability"
    ),
}


def _finite(got) -> bool:
    """False only for a floating tensor, readable on the CPU, that holds inf or nan."""
    if not isinstance(got, torch.Tensor) or not got.is_floating_point() or got.is_meta:
        return True
    return bool(torch.isfinite(got.detach().cpu()).all())


def _call_loss(answer, logits, targets, reduction):
    """The answer's loss; fails it if it changed logits or targets."""
    before = snapshot(logits), snapshot(targets)
    kwargs = {} if reduction == "mean" else {"reduction": reduction}
    got = call(answer, logits, targets, **kwargs)
    expect_unchanged(logits, before[0], "logits")
    expect_unchanged(targets, before[1], "targets")
    return got


def _compare_loss(got, want, label, reduction, trouble) -> None:
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        raise Mismatch(
            _(
                "{label} is a Python number; the statement asks for a tensor, so that autograd "
                "can differentiate the loss"
            ).format(label=label)
        )
    if reduction != "none" and isinstance(got, torch.Tensor) and got.shape != ():
        raise Mismatch(
            _(
                "{label} has shape {shape}; with reduction={reduction} the result is one "
                "number, a 0-d tensor"
            ).format(label=label, shape=tuple(got.shape), reduction=repr(reduction))
        )
    if trouble and not _finite(got):
        raise Mismatch(_(_TROUBLE[trouble]).format(label=label))
    expect_tensor(got, want, label, atol=1e-4, rtol=1e-5)


def _expect_gradient(answer) -> None:
    """The 'mean' loss must be differentiable, with the gradient of F.cross_entropy."""
    logits, targets = _randn(5, 4, seed=13), _labels(5, 4, seed=14)
    leaf = logits.clone().requires_grad_()
    want = torch.autograd.grad(F.cross_entropy(leaf, targets), leaf)[0]
    got = call(answer, leaf, targets.clone())
    what = _("the 'mean' loss")
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        raise Mismatch(
            _(
                "{what} is not connected to the logits: autograd cannot differentiate it "
                "(no .item(), .detach() or new tensor built from numbers on the way)"
            ).format(what=what)
        )
    grad = torch.autograd.grad(got, leaf)[0]
    expect_tensor(grad, want, _("the gradient of the 'mean' loss with respect to the logits"))


@exercise(
    "05.ex1",
    hints=[
        N_(
            "The loss of one example is minus the log-probability of its correct class. Work "
            "with log-probabilities throughout: a probability can round to 0, and exp of a "
            "large logit overflows."
        ),
        N_(
            "Work in log-probabilities: the log-probability of the right class is its logit minus "
            "the log of the sum of the row's exponentials, which PyTorch computes without overflow "
            "even for logits of 1000. Pick the right class in each row, then reduce as the argument"
            " asks."
        ),
        N_(
            "losses = torch.logsumexp(logits, dim=1) - logits[torch.arange(len(targets)), "
            "targets]; return losses.mean() for 'mean', losses.sum() for 'sum', losses for "
            "'none'."
        ),
    ],
)
def _cross_entropy(answer):
    for logits, targets, what, trouble in _CE_CASES:
        for reduction in ("mean", "sum", "none"):
            want = F.cross_entropy(logits, targets, reduction=reduction)
            got = _call_loss(answer, logits.clone(), targets.clone(), reduction)
            label = _("the {reduction} loss for {what}").format(
                reduction=repr(reduction), what=_(what)
            )
            _compare_loss(got, want, label, reduction, trouble)
    _expect_gradient(answer)
    return _(
        "matches F.cross_entropy for every reduction, also for logits of 1000, and autograd "
        "differentiates it."
    )


# 05.ex2: sgd_step(params, lr)

_ACCUMULATE = N_(
    "backward adds into .grad rather than overwriting it, so every gradient must be cleared "
    "before the next backward, or two batches' gradients mix."
)


def _regression_params():
    weight = _randn(2, 3, seed=5).requires_grad_()
    bias = _randn(2, seed=6).requires_grad_()
    frozen = _randn(3, seed=7).requires_grad_()
    x = _randn(8, 3, seed=8)
    loss = ((x @ weight.T + bias) ** 2).mean()
    loss.backward()
    return [weight, bias, frozen]


def _expect_sgd_update(p, old, grad, what, version) -> None:
    if not p.is_leaf or not p.requires_grad:
        raise Mismatch(
            _(
                "{what} is no longer a leaf that requires grad: the update was recorded by "
                "autograd; make it with recording switched off"
            ).format(what=what)
        )
    if grad is None:
        if not torch.equal(p.detach(), old):
            raise Mismatch(_("{what} has no gradient but was changed; skip it").format(what=what))
        return
    if torch.equal(p.detach(), old):
        raise Mismatch(
            _(
                "{what} is unchanged: `p = p - lr * p.grad` only rebinds the name p; change the "
                "tensor itself, in place"
            ).format(what=what),
            hint=N_(
                "assigning to a name inside the loop changes what that name points at, not "
                "the tensor the list holds; the caller sees only changes made to that tensor."
            ),
        )
    if p._version == version:  # new values, yet autograd's version counter never moved
        raise Mismatch(
            _(
                "{what} was changed through .data, which hides the change from autograd (the "
                "chapter's table of old idioms warns against it): change the parameter itself, "
                "in place, inside torch.no_grad()"
            ).format(what=what),
            hint=N_(
                "autograd counts every in-place change of a tensor so that it can refuse a "
                "backward pass that would use stale values; .data gets around that count. "
                "Switching recording off is the honest way to change a parameter."
            ),
        )
    if torch.allclose(p.detach(), old + 0.1 * grad):
        raise Mismatch(
            _("{what} moved uphill, along the gradient: subtract lr times the gradient").format(
                what=what
            ),
            hint=N_(
                "the gradient points to where the loss grows fastest; a descent step goes the "
                "other way."
            ),
        )
    expect_tensor(p.detach(), old - 0.1 * grad, _("{what} after the step").format(what=what))
    if p.grad is not None and bool(p.grad.abs().sum() != 0):
        raise Mismatch(
            _(
                "the gradient of {what} still holds its old values: clear it after the update, "
                "or the next backward adds to it"
            ).format(what=what),
            hint=_ACCUMULATE,
        )


@exercise(
    "05.ex2",
    hints=[
        N_(
            "The list must still hold the same tensors afterwards, each moved a little against "
            "its gradient, and autograd must not record that move."
        ),
        N_(
            "Three points: autograd must not record the update; each tensor of the list moves "
            "itself, downhill, by lr times its gradient; and a gradient left behind adds into the "
            "next one. A parameter without a gradient stays as it is."
        ),
        N_(
            "with torch.no_grad(): for p in params: if p.grad is not None: "
            "p -= lr * p.grad; p.grad = None"
        ),
    ],
)
def _sgd_step(answer):
    params = _regression_params()
    before = [p.detach().clone() for p in params]
    grads = [None if p.grad is None else p.grad.clone() for p in params]
    objects = [id(p) for p in params]
    versions = [p._version for p in params]
    call(answer, params, 0.1)
    if [id(p) for p in params] != objects:
        raise Mismatch(
            _("the list now holds other tensors: update each parameter in place, do not replace it")
        )
    for index, (p, old, grad, version) in enumerate(
        zip(params, before, grads, versions, strict=True)
    ):
        what = _("parameter {index} (shape {shape})").format(index=index, shape=tuple(p.shape))
        _expect_sgd_update(p, old, grad, what, version)
    return _("every parameter moved by -lr * grad, in place, and its gradient is cleared.")


# 05.ex3: train_step(model, loss_fn, optimizer, x, y)


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


def _one_step(kind, answer, x, y):
    """Parameters and returned loss after one step from stale gradients of 5."""
    model = _step_model()
    for p in model.parameters():  # gradients left over from an earlier batch
        p.grad = torch.full_like(p, 5.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    if kind == "answer":
        returned = call(answer, model, nn.MSELoss(), optimizer, x, y)
    else:
        returned = _reference_step(model, optimizer, x, y, stale=kind == "stale")
    return [p.detach().clone() for p in model.parameters()], returned


@exercise(
    "05.ex3",
    hints=[
        N_(
            "A training step is always the same four moves in the same order: clear the old "
            "gradients, compute the loss, backpropagate, update the parameters."
        ),
        N_(
            "Use the optimizer for both the clearing and the update: clear before backward "
            "(never between backward and the update). Return the loss as a Python number with "
            ".item()."
        ),
        N_(
            "optimizer.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); "
            "optimizer.step(); return loss.item()"
        ),
    ],
)
def _train_step(answer):
    x, y = _randn(5, 3, seed=9), _randn(5, 2, seed=10)
    right, right_loss = _one_step("right", None, x, y)
    stale, _loss = _one_step("stale", None, x, y)
    start = [p.detach() for p in _step_model().parameters()]
    got, returned = _one_step("answer", answer, x, y)
    if all(torch.equal(g, s) for g, s in zip(got, start, strict=True)):
        raise Mismatch(
            _(
                "the parameters did not change: the optimizer never applied an update, or the "
                "gradients were cleared between backward and the update"
            ),
            hint=N_(
                "backward only fills the gradients; the optimizer's step is what moves the "
                "parameters, and it reads the gradients that are there when it runs."
            ),
        )
    if all(torch.allclose(g, s) for g, s in zip(got, stale, strict=True)):
        raise Mismatch(
            _(
                "the step used the gradients left over from an earlier batch: clear them "
                "before backpropagating"
            ),
            hint=_ACCUMULATE,
        )
    for index, (g, r) in enumerate(zip(got, right, strict=True)):
        expect_tensor(g, r, _("parameter {index} after one step").format(index=index))
    _expect_float(returned, right_loss, _("the returned loss (before the step)"))
    return _("clear, forward, loss, backward, step, and the loss as a float.")


# 05.ex4: momentum_step(param, velocity, lr, momentum)


def _momentum_path(lr, momentum, steps, grad_fn):
    param = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum)
    path = []
    for _step in range(steps):
        optimizer.zero_grad()
        grad_fn(param).backward()
        optimizer.step()
        path.append(param.detach().clone())
    return path


def _bowl(param):
    return 0.5 * (param * param * torch.tensor([1.0, 4.0, 9.0])).sum()


def _expect_momentum(param, velocity, want, plain, step, what) -> None:
    if not param.is_leaf or not param.requires_grad:
        raise Mismatch(
            _(
                "param is no longer a leaf that requires grad: the update was recorded by "
                "autograd; make it with recording switched off"
            )
        )
    if step == 0 and not velocity.abs().sum():
        raise Mismatch(
            _(
                "velocity is still zero after a step: the running velocity must be updated in "
                "the caller's tensor, in place (a new tensor bound to the name velocity is lost "
                "when the function returns)"
            )
        )
    if (
        step > 0
        and torch.allclose(param.detach(), plain[step])
        and not torch.allclose(plain[step], want[step])
    ):
        raise Mismatch(
            _(
                "{what} is what plain SGD gives: the velocity is not carried from one step to "
                "the next"
            ).format(what=what)
        )
    expect_tensor(param.detach(), want[step], what, atol=1e-5)


@exercise(
    "05.ex4",
    hints=[
        N_(
            "Momentum keeps a running velocity: each step the velocity becomes momentum times "
            "itself plus the current gradient, and the parameter moves along the velocity, "
            "not along the gradient."
        ),
        N_(
            "velocity belongs to the caller, so change it in place (mul_ then add_), never "
            "rebind the name; then move param in place by lr times the new velocity, with "
            "autograd's recording switched off."
        ),
        N_(
            "with torch.no_grad(): velocity.mul_(momentum).add_(param.grad); param -= lr * velocity"
        ),
    ],
)
def _momentum_step(answer):
    for lr, momentum in [(0.1, 0.9), (0.05, 0.5)]:
        want = _momentum_path(lr, momentum, 6, _bowl)
        plain = _momentum_path(lr, 0.0, 6, _bowl)
        param = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
        velocity = torch.zeros(3)
        for step in range(6):
            param.grad = None
            _bowl(param).backward()
            call(answer, param, velocity, lr, momentum)
            what = _("param after step {step} (lr={lr}, momentum={momentum})").format(
                step=step + 1, lr=lr, momentum=momentum
            )
            _expect_momentum(param, velocity, want, plain, step, what)
    return _("six steps agree with torch.optim.SGD(momentum=...), for two settings.")


# 05.ex5: train_epoch(model, loader, loss_fn, optimizer, device)

_METADATA = (  # what code may ask of a batch before moving it
    torch.Tensor.__len__,
    torch.Tensor.size,
    torch.Tensor.dim,
    torch.Tensor.numel,
    torch.Tensor.shape.__get__,
    torch.Tensor.ndim.__get__,
    torch.Tensor.device.__get__,
    torch.Tensor.dtype.__get__,
)


class _Unmoved(torch.Tensor):
    """A batch as the loader yields it: computing with it before `.to(device)` fails, as a
    CPU batch fed to a model on a GPU does. Its shape, size and device may be read."""

    what = N_("inputs")

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _METADATA:
            return super().__torch_function__(func, types, args, kwargs)
        if func == torch.Tensor.to:
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs).as_subclass(torch.Tensor)
        raise Mismatch(
            _(
                "a batch's {what} were used where the loader left them: move every batch "
                "(inputs and labels) to `device` before computing with it (on a GPU this fails "
                "with 'Expected all tensors to be on the same device')"
            ).format(what=_(cls.what))
        )


class _UnmovedLabels(_Unmoved):
    what = N_("labels")


def _unmoved_collate(batch):
    xb, yb = default_collate(batch)
    return xb.as_subclass(_Unmoved), yb.as_subclass(_UnmovedLabels)


class _Probe(nn.Module):
    """Passes x through and records the mode of each forward pass."""

    def __init__(self):
        super().__init__()
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return x


def _epoch_setup(seed, collate_fn=None):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), _Probe(), nn.Linear(8, 3))
    model.eval()  # the function must switch it to training mode itself
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = _randn(50, 2, seed=11), _labels(50, 3, seed=12)
    # batches of 16, 16, 16 and 2
    loader = DataLoader(TensorDataset(x, y), batch_size=16, collate_fn=collate_fn)
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
            "An epoch is exercise 3's training step repeated for every batch of the loader, "
            "with the model in training mode and each batch on the model's device."
        ),
        N_(
            "The mean loss per example is not the mean of the batch losses: the last batch can "
            "be smaller. Add up each batch's mean loss times its number of examples, then "
            "divide by the number of examples in the dataset."
        ),
        N_(
            "model.train(); for xb, yb in loader: xb, yb = xb.to(device), yb.to(device); "
            "zero_grad, loss, backward, step; total += loss.item() * len(xb); "
            "return total / len(loader.dataset)"
        ),
    ],
)
def _train_epoch(answer):
    ref_model, ref_optimizer, ref_loader = _epoch_setup(0)
    want, unweighted = _reference_epoch(ref_model, ref_loader, nn.CrossEntropyLoss(), ref_optimizer)
    model, optimizer, loader = _epoch_setup(0, _unmoved_collate)
    got = call(answer, model, loader, nn.CrossEntropyLoss(), optimizer, torch.device("cpu"))
    modes = model[2].modes
    if len(modes) != 4:
        raise Mismatch(
            _(
                "the number of forward passes was {count}, expected 4 (one per batch of a "
                "50-example loader with batch_size=16)"
            ).format(count=len(modes))
        )
    if not all(modes):
        raise Mismatch(
            _(
                "the model was in evaluation mode while training: switch it to training mode "
                "at the start of the epoch"
            )
        )
    for index, (p, r) in enumerate(zip(model.parameters(), ref_model.parameters(), strict=True)):
        if not torch.allclose(p, r, atol=1e-6):
            raise Mismatch(
                _(
                    "after one epoch parameter {index} differs from a correct loop's: clear "
                    "the gradients, backpropagate and update once per batch, in that order"
                ).format(index=index)
            )
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        if math.isclose(got, unweighted, rel_tol=1e-6) and not math.isclose(got, want):
            raise Mismatch(
                _(
                    "you returned {got:.6g}, the mean of the batch means; the last batch holds "
                    "only 2 examples: weight each batch by its number of examples"
                ).format(got=got),
                hint=N_(
                    "a batch's loss is already a mean over its examples; batches of different "
                    "sizes must count in proportion to their size."
                ),
            )
    _expect_float(got, want, _("the returned mean loss per example"))
    return _("trains in train mode, one step per batch, and averages over examples.")
