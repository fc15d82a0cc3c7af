"""Checks for chapter 04, Building networks with nn.Module."""

import os
import tempfile

import torch
import torch.nn.functional as F
from torch import nn

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import expect_callable, expect_tensor, kind_of
from torchcourse.i18n import N_

LENET_SHAPES = [
    (6, 1, 5, 5),
    (6,),
    (16, 6, 5, 5),
    (16,),
    (120, 400),
    (120,),
    (84, 120),
    (84,),
    (10, 84),
    (10,),
]


def _inputs(*shape, seed=1):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator)


def _build(answer, *args, **kwargs) -> nn.Module:
    """Instantiate the learner's class (or call their factory) and insist on an nn.Module."""
    if not callable(answer):
        raise Mismatch(f"expected a class or function, got {kind_of(answer)}: pass it itself.")
    model = answer(*args, **kwargs)
    if not isinstance(model, nn.Module):
        raise Mismatch(
            f"it should make an nn.Module, got {kind_of(model)}: subclass nn.Module "
            "(class Name(nn.Module):) and return or instantiate it."
        )
    return model


def _shapes(model: nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in model.parameters()]


def _expect_shapes(model: nn.Module, want: list[tuple[int, ...]], what: str) -> None:
    got = _shapes(model)
    if not got:
        raise Mismatch(
            f"{what} registers no parameters: assign nn layers to attributes (self.fc1 "
            "= nn.Linear(...)) after super().__init__(); a plain list hides them."
        )
    if got != want:
        raise Mismatch(f"{what} has parameters of shapes {got}, expected {want} (in this order).")


def _forward(model: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    out = model(x)
    if not isinstance(out, torch.Tensor):
        raise Mismatch(
            f"{what}: forward returned {kind_of(out)}, expected a tensor; "
            "did forward forget to `return`?"
        )
    return out


@exercise(
    "04.ex1",
    hints=[
        N_(
            "in __init__: super().__init__(), then self.fc1 = nn.Linear(n_in, "
            "n_hidden) and self.fc2 = nn.Linear(n_hidden, n_out); forward: fc2(relu(fc1(x)))."
        )
    ],
)
def _two_layer_net(answer):
    for sizes in [(4, 8, 3), (5, 2, 1), (1, 6, 6)]:
        n_in, n_hidden, n_out = sizes
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = _build(answer, *sizes)
        what = f"TwoLayerNet{sizes}"
        _expect_shapes(net, [(n_hidden, n_in), (n_hidden,), (n_out, n_hidden), (n_out,)], what)
        w1, b1, w2, b2 = net.parameters()
        x = _inputs(7, n_in)
        with torch.no_grad():
            want = torch.relu(x @ w1.T + b1) @ w2.T + b2
            got = _forward(net, x, what)
        expect_tensor(got, want, f"{what}(x) for x of shape (7, {n_in})")
    return "two registered layers with a ReLU between them, for 3 sizes."


def _lenet_reference(params, x):
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    x = F.max_pool2d(F.relu(F.conv2d(x, w1, b1)), 2)
    x = F.max_pool2d(F.relu(F.conv2d(x, w2, b2)), 2)
    x = torch.flatten(x, 1)
    x = F.relu(F.linear(x, w3, b3))
    x = F.relu(F.linear(x, w4, b4))
    return F.linear(x, w5, b5)


class _ClassicNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        return _lenet_reference(list(self.parameters()), x)


class _Shared(nn.Module):
    """One layer used twice: parameters() lists its weight and bias once."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(5, 5)
        self.head = nn.Linear(5, 2, bias=False)

    def forward(self, x):
        return self.head(self.layer(self.layer(x)))


@exercise(
    "04.ex2",
    hints=[
        N_(
            "add up p.numel() over model.parameters() where p.requires_grad; "
            "len(list(...)) counts tensors, not numbers, and state_dict() also holds buffers."
        )
    ],
)
def _count_parameters(answer):
    frozen = _ClassicNet()
    for layer in (frozen.conv1, frozen.conv2):
        layer.requires_grad_(False)
    cases = [
        ("the classic Net", _ClassicNet(), 61706),
        ("nn.Linear(3, 2)", nn.Linear(3, 2), 8),
        ("Linear(4, 3) + BatchNorm1d(3)", nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)), 21),
        ("a model that uses one Linear(5, 5) twice", _Shared(), 40),
        ("the classic Net with conv1 and conv2 frozen", frozen, 61706 - 156 - 2416),
    ]
    for what, model, want in cases:
        expect_callable(answer)
        got = answer(model)
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            raise Mismatch(
                f"for {what} you returned a tensor; return a plain int (int(...) or "
                "sum over p.numel())."
            )
        if isinstance(got, bool) or not isinstance(got, int):
            raise Mismatch(f"for {what} the result should be an int, got {kind_of(got)}.")
        if got != want:
            raise Mismatch(f"for {what} you counted {got}, expected {want}.")
    return "61706 for the classic Net; frozen parameters and buffers are left out."


@exercise(
    "04.ex3",
    hints=[
        N_(
            "nn.Sequential(conv, ReLU, MaxPool2d(2), conv, ReLU, MaxPool2d(2), "
            "nn.Flatten(), Linear, ReLU, Linear, ReLU, Linear): every step is a module."
        )
    ],
)
def _classic_sequential(answer):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = _build(answer)
    if not isinstance(net, nn.Sequential):
        raise Mismatch(f"it returns a {type(net).__name__}, expected an nn.Sequential.")
    _expect_shapes(net, LENET_SHAPES, "your Sequential")
    for batch in (3, 1):
        x = _inputs(batch, 1, 32, 32)
        with torch.no_grad():
            want = _lenet_reference(list(net.parameters()), x)
            got = _forward(net, x, "your Sequential")
        expect_tensor(got, want, f"the output for a batch of {batch}", atol=1e-4)
    return "the classic Net as one nn.Sequential: 10 parameters, output (N, 10)."


@exercise(
    "04.ex4",
    hints=[
        N_(
            "use an nn.Dropout(p) module between the ReLU and fc2: it is active "
            "in train() and does nothing in eval(); F.dropout needs training=self.training."
        )
    ],
)
def _dropout_mlp(answer):
    for p in (0.5, 0.2):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = _build(answer, 6, 32, 3, p)
            what = f"DropoutMLP(6, 32, 3, p={p})"
            _expect_shapes(net, [(32, 6), (32,), (3, 32), (3,)], what)
            w1, b1, w2, b2 = net.parameters()
            x = _inputs(50, 6)
            with torch.no_grad():
                clean = torch.relu(x @ w1.T + b1) @ w2.T + b2
                net.eval()
                first = _forward(net, x, what)
                second = _forward(net, x, what)
                if not torch.equal(first, second):
                    raise Mismatch(
                        f"{what} in eval mode gave two different outputs for the same "
                        "input: dropout is still active in eval mode."
                    )
                expect_tensor(first, clean, f"{what} in eval mode")
                net.train()
                torch.manual_seed(1)
                noisy = _forward(net, x, what)
                if torch.equal(noisy, clean):
                    raise Mismatch(
                        f"{what} in train mode gives the same output as in eval mode: "
                        "no dropout is applied."
                    )
                torch.manual_seed(1)
                want = F.dropout(torch.relu(x @ w1.T + b1), p, training=True) @ w2.T + b2
            expect_tensor(noisy, want, f"{what} in train mode (dropout after the ReLU, with p)")
    return "dropout acts in train mode only, with the p you were given."


_HIDDEN_CODE_RAN: list[str] = []


def _hidden_code():
    """Runs only when a file is unpickled without weights_only=True: it leaves a mark."""
    _HIDDEN_CODE_RAN.append("ran")
    return "this could have been any code"


class _Trap:
    def __reduce__(self):
        return (_hidden_code, ())


@exercise(
    "04.ex5",
    hints=[
        N_(
            "model = build(); model.load_state_dict(torch.load(path, "
            "weights_only=True)); model.eval(); return model."
        )
    ],
)
def _load_weights(answer):
    def build():
        return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))

    expect_callable(answer)
    with torch.random.fork_rng(devices=[]), tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        saved = build()
        path = os.path.join(folder, "weights.pt")
        torch.save(saved.state_dict(), path)
        model = answer(path, build)
        if isinstance(model, dict):
            raise Mismatch(
                "it returns the state_dict itself: load it into build() with "
                "model.load_state_dict(...) and return the model."
            )
        if not isinstance(model, nn.Module):
            raise Mismatch(f"it should return an nn.Module, got {kind_of(model)}.")
        if model is saved:
            raise Mismatch("it returned the original model object instead of a fresh one.")
        got, want = model.state_dict(), saved.state_dict()
        if list(got) != list(want):
            raise Mismatch(
                f"the model has entries {list(got)}, expected {list(want)}: make it with build()."
            )
        for name in want:
            if not torch.equal(got[name].cpu(), want[name]):
                raise Mismatch(
                    f"{name} is not the tensor saved in the file: call "
                    "model.load_state_dict(torch.load(path, weights_only=True))."
                )
        if model.training:
            raise Mismatch(
                "the model is still in training mode (dropout active): "
                "call model.eval() before returning it."
            )
        unsafe = os.path.join(folder, "unsafe.pt")
        torch.save({**saved.state_dict(), "extra": _Trap()}, unsafe)
        _HIDDEN_CODE_RAN.clear()
        try:
            answer(unsafe, build)
        except Exception:
            pass
        if _HIDDEN_CODE_RAN:
            raise Mismatch(
                "loading a file with a pickled object ran the code hidden in it: "
                "never pass weights_only=False for a file you did not make."
            )
    return "weights restored, eval mode, and a file with hidden code is refused."
