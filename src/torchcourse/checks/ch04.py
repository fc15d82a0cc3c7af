"""Checks for chapter 04, Building networks with nn.Module."""

import os
import tempfile

import torch
import torch.nn.functional as F
from torch import nn

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.expect import expect_callable, expect_tensor, kind_of
from torchcourse.i18n import N_, _

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


def _build(answer, *args) -> nn.Module:
    """Instantiate the learner's class (or call their factory) and insist on an nn.Module."""
    if not callable(answer):
        raise Mismatch(
            _("expected a class or function, got {kind}: pass it itself.").format(
                kind=kind_of(answer)
            )
        )
    model = answer(*args)
    if not isinstance(model, nn.Module):
        raise Mismatch(
            _(
                "it should make an nn.Module, got {kind}: write a class that subclasses "
                "nn.Module, or a function that returns one."
            ).format(kind=kind_of(model))
        )
    return model


def _weights(model: nn.Module) -> list[torch.Tensor]:
    """Private copies of the model's parameters, in registration order."""
    return [p.detach().clone() for p in model.parameters()]


def _expect_shapes(model: nn.Module, want: list[tuple[int, ...]], what: str) -> None:
    got = [tuple(p.shape) for p in model.parameters()]
    if not got:
        raise Mismatch(
            _(
                "{what} registers no parameters: assign each layer to an attribute of self "
                "after calling the parent's __init__; layers kept in a plain Python list, or "
                "created inside forward, are not registered."
            ).format(what=what)
        )
    if got != want:
        raise Mismatch(
            _("{what} has parameters of shapes {got}, expected {want} (in this order).").format(
                what=what, got=got, want=want
            )
        )


def _forward(model: nn.Module, x: torch.Tensor, what: str) -> torch.Tensor:
    with torch.no_grad():
        out = model(x.clone())
    if not isinstance(out, torch.Tensor):
        raise Mismatch(
            _(
                "{what}: forward returned {kind}, expected a tensor; did forward forget to "
                "`return`?"
            ).format(what=what, kind=kind_of(out))
        )
    return out


def _set_weights(model: nn.Module, values: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for param, value in zip(model.parameters(), values, strict=True):
            param.copy_(value)


@exercise(
    "04.ex1",
    hints=[
        N_(
            "a module creates its layers once, in __init__, right after calling the parent "
            "class's __init__; forward only uses them. Layers are registered in the order you "
            "assign them."
        ),
        N_(
            "keep two nn.Linear layers as attributes, the first from n_in to n_hidden features, "
            "the second from n_hidden to n_out; forward applies the first, a ReLU, then the "
            "second, and returns that result with no activation after it."
        ),
        N_(
            "__init__: super().__init__(), then self.fc1 = nn.Linear(n_in, n_hidden) and "
            "self.fc2 = nn.Linear(n_hidden, n_out); forward: return self.fc2(F.relu(self.fc1(x)))."
        ),
    ],
)
def _two_layer_net(answer):
    for n_in, n_hidden, n_out in [(4, 8, 3), (5, 2, 1), (1, 6, 6)]:
        net = _build(answer, n_in, n_hidden, n_out)
        what = f"TwoLayerNet({n_in}, {n_hidden}, {n_out})"
        _expect_shapes(net, [(n_hidden, n_in), (n_hidden,), (n_out, n_hidden), (n_out,)], what)
        w1, b1, w2, b2 = _weights(net)
        x = _inputs(7, n_in)
        want = torch.relu(x @ w1.T + b1) @ w2.T + b2
        got = _forward(net, x, what)
        expect_tensor(
            got, want, _("{what}(x) for x of shape (7, {n_in})").format(what=what, n_in=n_in)
        )
    return _("two registered layers with a ReLU between them, for 3 sizes.")


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


class _Tied(nn.Module):
    """Two layers that own one weight: parameters() lists it once, state_dict() twice."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(6, 6)
        self.decoder = nn.Linear(6, 6)
        self.decoder.weight = self.encoder.weight

    def forward(self, x):
        return self.decoder(torch.relu(self.encoder(x)))


def _count_cases():
    """(what, model, trainable count, why) for 04.ex2."""
    frozen = _ClassicNet()
    for layer in (frozen.conv1, frozen.conv2):
        layer.requires_grad_(False)
    return [
        (_("the classic Net"), _ClassicNet(), 61706, _("a weight and a bias per layer")),
        ("nn.Linear(3, 2)", nn.Linear(3, 2), 8, _("6 weights and 2 biases")),
        (
            _("Linear(4, 3) followed by BatchNorm1d(3)"),
            nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)),
            21,
            _("the running statistics of BatchNorm1d are buffers, not parameters"),
        ),
        (
            _("a model that uses one Linear(5, 5) twice"),
            _Shared(),
            40,
            _("a layer used twice is counted once"),
        ),
        (
            _("a model whose two Linear(6, 6) layers share one weight"),
            _Tied(),
            48,
            _("a tied weight is counted once"),
        ),
        (
            _("the classic Net with conv1 and conv2 frozen"),
            frozen,
            61706 - 156 - 2416,
            _("frozen parameters (requires_grad False) are not trained"),
        ),
    ]


@exercise(
    "04.ex2",
    hints=[
        N_(
            "count numbers, not tensors: each parameter tensor holds as many numbers as its "
            "shape multiplies out to, and only parameters that will be trained count."
        ),
        N_(
            "go over model.parameters(), which lists a shared parameter once and leaves buffers "
            "out; keep those whose requires_grad is True and add up their numel(). Return a "
            "Python int."
        ),
        N_("return sum(p.numel() for p in model.parameters() if p.requires_grad)"),
    ],
)
def _count_parameters(answer):
    expect_callable(answer)
    for what, model, want, why in _count_cases():
        got = answer(model)
        if isinstance(got, torch.Tensor):
            raise Mismatch(
                _(
                    "for {what} you returned a tensor; return a plain int (Python's sum over "
                    "numel() values gives one)."
                ).format(what=what)
            )
        if isinstance(got, bool) or not isinstance(got, int):
            raise Mismatch(
                _("for {what} the result should be an int, got {kind}.").format(
                    what=what, kind=kind_of(got)
                )
            )
        if got != want:
            raise Mismatch(
                _("for {what} you counted {got}, expected {want} ({why}).").format(
                    what=what, got=got, want=want, why=why
                )
            )
    return _("61706 for the classic Net; frozen parameters and buffers left out, shared ones once.")


@exercise(
    "04.ex3",
    hints=[
        N_(
            "an nn.Sequential calls its modules one after another, so every step of Net's "
            "forward must become a module, the activations, poolings and the flattening included."
        ),
        N_(
            "twelve modules in this order: Conv2d 1→6 with 5x5 kernels, ReLU, 2x2 MaxPool2d, "
            "Conv2d 6→16 with 5x5 kernels, ReLU, 2x2 MaxPool2d, Flatten, Linear 400→120, ReLU, "
            "Linear 120→84, ReLU, Linear 84→10."
        ),
        N_(
            "return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, "
            "16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), "
            "nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))"
        ),
    ],
)
def _classic_sequential(answer):
    net = _build(answer)
    if not isinstance(net, nn.Sequential):
        raise Mismatch(
            _("it returns a {kind}, expected an nn.Sequential.").format(kind=type(net).__name__)
        )
    what = _("your Sequential")
    _expect_shapes(net, LENET_SHAPES, what)
    again = _build(answer)
    shared = {id(p) for p in net.parameters()} & {id(p) for p in again.parameters()}
    if again is net or shared:
        raise Mismatch(
            _(
                "two calls of classic_sequential() return the same layers: every call must "
                "build new modules (the statement says not to reuse `seq`), or two models "
                "would train one set of weights"
            ),
            hint=N_(
                "a module made once, outside the function, is the same object every time the "
                "function returns it; create the layers inside the function, on each call."
            ),
        )
    params = _weights(net)
    for batch in (3, 1):
        x = _inputs(batch, 1, 32, 32)
        want = _lenet_reference(params, x)
        got = _forward(net, x, what)
        expect_tensor(got, want, _("the output for a batch of {n}").format(n=batch), atol=1e-4)
    return _("the classic Net as one nn.Sequential: 10 parameters, output (N, 10).")


# 04.ex4 measures dropout through weights it sets itself: the first layer maps inputs to
# hidden values h > 0 that depend on every input, the second is the identity plus _SHIFT.
# So each output minus _SHIFT shows one hidden value after dropout: 0, or h / (1 - p).
_ROWS, _N_IN, _HIDDEN, _SHIFT = 400, 8, 64, 0.25


def _probe_weights() -> tuple[torch.Tensor, list[torch.Tensor]]:
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(_ROWS, _N_IN, generator=generator)
    w1 = 0.05 * torch.randn(_HIDDEN, _N_IN, generator=generator)
    b1 = 1 + torch.rand(_HIDDEN, generator=generator)
    return x, [w1, b1, torch.eye(_HIDDEN), torch.full((_HIDDEN,), _SHIFT)]


def _dropout_eval(answer, p):
    """In eval mode: the right layers, deterministic, and exactly fc2(relu(fc1(x)))."""
    what = f"DropoutMLP(6, 32, 3, p={p})"
    net = _build(answer, 6, 32, 3, p)
    _expect_shapes(net, [(32, 6), (32,), (3, 32), (3,)], what)
    w1, b1, w2, b2 = _weights(net)
    x = _inputs(50, 6)
    want = torch.relu(x @ w1.T + b1) @ w2.T + b2
    net.eval()
    first, second = _forward(net, x, what), _forward(net, x, what)
    if not torch.equal(first, second):
        raise Mismatch(
            _(
                "{what} in eval mode gave two different outputs for the same input: dropout "
                "is still active in eval mode"
            ).format(what=what)
        )
    expect_tensor(first, want, _("{what} in eval mode").format(what=what))


def _dropout_values(out, h, p, what):
    """Each value after dropout must be 0 (dropped) or h / (1 - p) (kept); return the kept."""
    dropped = out.abs() <= 1e-6
    ratio = out / h  # h > 0 everywhere
    if bool(((ratio - 1).abs() <= 1e-4).all()):
        raise Mismatch(
            _(
                "{what} in train mode gives the same output as in eval mode: no dropout is applied"
            ).format(what=what)
        )
    scale, want = ratio[~dropped].median().item(), 1 / (1 - p)
    one_scale = bool(dropped.any()) and torch.allclose(
        ratio[~dropped], torch.tensor(scale), rtol=1e-4
    )
    if one_scale and abs(scale - want) > 1e-4 * want:
        raise Mismatch(
            _(
                "{what} in train mode multiplies the values it keeps by {got:.4g}; they must be "
                "multiplied by 1/(1-p) = {want:.4g}, so that each output keeps its expected value"
            ).format(what=what, got=scale, want=want)
        )
    odd = ~(dropped | torch.isclose(out, h * want, rtol=1e-4, atol=1e-6))
    if odd.any():
        raise Mismatch(
            _(
                "{what} in train mode: each hidden value reaching the second linear layer should "
                "be 0 (dropped) or the ReLU's output times 1/(1-p) = {scale:.4g} (kept), but "
                "{count} of {total} are neither; apply dropout with drop probability p to the "
                "ReLU's output, just before the second layer"
            ).format(what=what, scale=want, count=int(odd.sum()), total=odd.numel())
        )
    return ~dropped


def _expect_fresh_masks(kept, again, what):
    """Masks drawn afresh on every call and for every value, not per unit or example."""
    if torch.equal(kept, again):
        raise Mismatch(
            _(
                "{what} in train mode dropped the same values in two forward passes: draw a "
                "new random mask on every call"
            ).format(what=what)
        )
    if bool((kept == kept[:1]).all()):
        raise Mismatch(
            _(
                "{what} in train mode dropped the same hidden units for every example of the "
                "batch: draw the mask for every value of the (batch, n_hidden) tensor"
            ).format(what=what)
        )
    if bool((kept == kept[:, :1]).all()):
        raise Mismatch(
            _(
                "{what} in train mode dropped each example's hidden values all together or "
                "not at all: draw the mask for every value of the (batch, n_hidden) tensor"
            ).format(what=what)
        )


def _dropout_train(answer, p):
    """In train mode: drop probability p, scaling 1/(1-p), a fresh mask per element and call."""
    what = f"DropoutMLP({_N_IN}, {_HIDDEN}, {_HIDDEN}, p={p})"
    net = _build(answer, _N_IN, _HIDDEN, _HIDDEN, p)
    _expect_shapes(net, [(_HIDDEN, _N_IN), (_HIDDEN,), (_HIDDEN, _HIDDEN), (_HIDDEN,)], what)
    x, weights = _probe_weights()
    h = torch.relu(x @ weights[0].T + weights[1])
    _set_weights(net, weights)
    net.train()
    first = _forward(net, x, what) - _SHIFT
    second = _forward(net, x, what) - _SHIFT
    kept = _dropout_values(first, h, p, what)
    _expect_fresh_masks(kept, _dropout_values(second, h, p, what), what)
    fraction = kept.float().mean().item()
    if abs(fraction - (1 - p)) > 0.03:
        raise Mismatch(
            _(
                "{what} in train mode kept {got:.0%} of the hidden values, expected about "
                "{want:.0%}: each value must be dropped with probability p"
            ).format(what=what, got=fraction, want=1 - p)
        )


def _dropout_device(answer, p):
    """Everything in forward must follow the model's device: a mask made on the CPU breaks on a
    GPU. The meta device (shapes only, no data) shows it on any machine."""
    what = f"DropoutMLP(6, 32, 3, p={p})"
    net = _build(answer, 6, 32, 3, p).to("meta").train()
    try:
        with torch.no_grad():
            net(torch.zeros(5, 6, device="meta"))
    except RuntimeError as err:
        if "device" in str(err):
            raise Mismatch(
                _(
                    "{what} in train mode makes a tensor on the CPU while the model is on "
                    "another device, which fails on a GPU: create the mask on the device of the "
                    "values it multiplies"
                ).format(what=what)
            ) from None


@exercise(
    "04.ex4",
    hints=[
        N_(
            "dropout goes between the ReLU and the second linear layer, and it must know whether "
            "the model is training: a module follows train() and eval(), a plain function call "
            "does not unless you tell it."
        ),
        N_(
            "create an nn.Dropout with probability p in __init__ and apply it to the ReLU's "
            "output in forward; if you call F.dropout instead, pass it training=self.training."
        ),
        N_(
            "__init__: self.fc1 = nn.Linear(n_in, n_hidden), self.dropout = nn.Dropout(p), "
            "self.fc2 = nn.Linear(n_hidden, n_out); forward: return "
            "self.fc2(self.dropout(F.relu(self.fc1(x))))."
        ),
    ],
)
def _dropout_mlp(answer):
    for p in (0.5, 0.2):
        _dropout_eval(answer, p)
        _dropout_train(answer, p)
    _dropout_device(answer, 0.5)
    return _(
        "in train mode about p of the hidden values dropped afresh on each call and the rest "
        "scaled by 1/(1-p), for p = 0.5 and 0.2; nothing dropped in eval mode."
    )


_HIDDEN_CODE_RAN: list[str] = []


def _hidden_code():
    """Runs only when a file is unpickled without weights_only=True: it leaves a mark."""
    _HIDDEN_CODE_RAN.append("ran")
    return "this could have been any code"


class _Trap:
    def __reduce__(self):
        return (_hidden_code, ())


def _build_small():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))


def _expect_loaded(model, saved):
    """model must be a fresh nn.Module holding saved's tensors, in evaluation mode."""
    if isinstance(model, dict):
        raise Mismatch(
            _(
                "it returns the state_dict itself: load it into a fresh model from build() "
                "and return that model"
            ),
            hint=N_(
                "a state_dict is only the tensors, by name; the caller wants a model that can "
                "predict, so the tensors have to go into one made by build()."
            ),
        )
    if not isinstance(model, nn.Module):
        raise Mismatch(_("it should return an nn.Module, got {kind}").format(kind=kind_of(model)))
    got, want = model.state_dict(), saved.state_dict()
    if list(got) != list(want):
        raise Mismatch(
            _("the model has entries {got}, expected {want}: make it with build()").format(
                got=list(got), want=list(want)
            )
        )
    for name in want:
        if not torch.equal(got[name].cpu(), want[name]):
            raise Mismatch(
                _(
                    "{name} is not the tensor saved in the file: load the file's state_dict "
                    "into the model you return"
                ).format(name=name)
            )
    if model.training:
        raise Mismatch(
            _(
                "the model is still in training mode, so its dropout is active: switch it to "
                "evaluation mode before returning it"
            ),
            hint=N_(
                "every new module starts in training mode, and loading weights does not "
                "change the mode; a model returned for predictions must be switched."
            ),
        )


@exercise(
    "04.ex5",
    hints=[
        N_(
            "the file holds only tensors: they need a fresh model from build() to go into, and "
            "a loader that refuses anything in the file that is not plain data."
        ),
        N_(
            "two things catch people out: the method that copies saved tensors into a model "
            "returns only a report of the keys, not the model; and a new model starts in "
            "training mode, which dropout and batch norm treat differently from predicting."
        ),
        N_(
            "model = build(); model.load_state_dict(torch.load(path, weights_only=True)); "
            "model.eval(); return model"
        ),
    ],
)
def _load_weights(answer):
    expect_callable(answer)
    with tempfile.TemporaryDirectory() as folder:
        saved = _build_small()
        path = os.path.join(folder, "weights.pt")
        torch.save(saved.state_dict(), path)
        model = answer(path, _build_small)
        if model is saved:
            raise Mismatch(_("it returned the original model object instead of a fresh one"))
        _expect_loaded(model, saved)
        unsafe = os.path.join(folder, "unsafe.pt")
        torch.save({**saved.state_dict(), "extra": _Trap()}, unsafe)
        _HIDDEN_CODE_RAN.clear()
        try:
            answer(unsafe, _build_small)
        except Exception:
            pass
        if _HIDDEN_CODE_RAN:
            raise Mismatch(
                _(
                    "loading a file with a pickled object ran the code hidden in it: never "
                    "pass weights_only=False for a file you did not make"
                ),
                hint=N_(
                    "a checkpoint file can carry pickled Python objects, and unpickling runs "
                    "their code; the safe loader accepts tensors and plain containers only."
                ),
            )
    return _("weights restored, eval mode, and a file with hidden code is refused.")


# 04.ex6 and 04.ex7: a convolution and a max pooling of the learner's own, compared with
# F.conv2d and F.max_pool2d, which the answer itself may not call.


def _is_convolution(name):
    """conv1d, conv2d, conv_transpose2d, convolution, _convolution, cudnn_convolution, ..."""
    return name.lstrip("_").startswith("conv") or "convolution" in name


def _is_pooling(name):
    return "pool" in name


class _NoBuiltIn(torch.overrides.TorchFunctionMode):
    """Fails an answer that calls a PyTorch function whose name `refused(name)` is true of."""

    def __init__(self, refused, what):
        super().__init__()
        self.refused, self.what = refused, what

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if self.refused(name):
            raise Mismatch(
                _(
                    "it calls PyTorch's own {name}: the exercise is to compute the {what} "
                    "yourself (slicing, loops, reshape, unfold and matrix products are all fine)"
                ).format(name=name, what=self.what)
            )
        return func(*args, **(kwargs or {}))


def _call_own(answer, mode, *args, **kwargs):
    """The answer's result under `mode`, failing it if it changed one of its tensor inputs."""
    expect_callable(answer)
    before = [a.clone() for a in args if isinstance(a, torch.Tensor)]
    with mode:
        result = answer(*args, **kwargs)
    after = [a for a in args if isinstance(a, torch.Tensor)]
    if any(not torch.equal(a, b) for a, b in zip(after, before, strict=True)):
        raise Mismatch(
            _("your function changed one of its inputs in place: leave them as they are")
        )
    return result


def _same_as(got, want):
    return (
        isinstance(got, torch.Tensor)
        and got.shape == want.shape
        and bool(torch.allclose(got.detach().cpu().float(), want, atol=1e-4, rtol=1e-4))
    )


# (x shape, weight shape, with a bias, stride, padding); the first case uses the defaults.
_CONV_CASES = [
    ((1, 1, 6, 7), (1, 1, 3, 3), False, 1, 0),
    ((2, 3, 7, 6), (4, 3, 3, 2), True, 1, 0),
    ((2, 2, 9, 8), (3, 2, 3, 3), True, 2, 0),
    ((3, 1, 6, 5), (2, 1, 3, 3), True, 1, 2),
    ((2, 3, 10, 9), (5, 3, 4, 3), True, 3, 1),
    ((1, 2, 5, 6), (3, 2, 1, 1), False, 2, 1),
]


def _conv_mistakes(x, w, b, stride, padding):
    """(what a typical mistake computes, what to say about it) for one case."""
    mistakes = [
        (
            F.conv2d(x, w.flip(-2, -1), b, stride=stride, padding=padding),
            _(
                "it flips the kernel, which is the mathematicians' convolution; F.conv2d slides "
                "the kernel as it is (a cross-correlation)"
            ),
        ),
        (
            F.conv2d(x[:, :1], w[:, :1], b, stride=stride, padding=padding),
            _("it uses only the first input channel: sum over all input channels"),
        ),
        (
            F.conv2d(x, w, None, stride=stride, padding=padding) / x.shape[1]
            + (0 if b is None else b[:, None, None]),
            _("it averages over the input channels: sum over them instead"),
        ),
    ]
    if b is not None:
        mistakes.append(
            (
                F.conv2d(x, w, None, stride=stride, padding=padding),
                _("the bias is missing: add bias[o] to every value of output channel o"),
            )
        )
    if stride > 1:
        mistakes.append(
            (
                F.conv2d(x, w, b, padding=padding),
                _(
                    "it ignores stride: with stride {s} the kernel moves {s} pixels at a time, "
                    "down and across"
                ).format(s=stride),
            )
        )
    if padding > 0:
        mistakes += [
            (
                F.conv2d(x, w, b, stride=stride),
                _(
                    "it ignores padding: add {p} rows and columns of zeros on every side of the "
                    "image first"
                ).format(p=padding),
            ),
            (
                F.conv2d(F.pad(x, (padding, padding)), w, b, stride=stride),
                _(
                    "it pads only the width: F.pad's tuple names the last dimension first, so "
                    "give it four numbers to pad the height too"
                ),
            ),
        ]
    return mistakes


@exercise(
    "04.ex6",
    hints=[
        N_(
            "each output value is one patch of the (padded) input times the kernel of its output "
            "channel, summed over the input channels and the kernel's rows and columns, plus "
            "that channel's bias; neighbouring patches start stride pixels apart."
        ),
        N_(
            "pad x with zeros on all four sides (F.pad lists the last dimension first), work "
            "out H_out and W_out with the formula, then for every output position take the "
            "patch of all images and channels at once and combine it with the whole weight "
            "(flattened, a matrix product does it); add the bias at the end if there is one."
        ),
        N_(
            "x = F.pad(x, (padding,) * 4); out_h = (x.shape[2] - kh) // stride + 1, out_w "
            "likewise; out = torch.zeros(N, C_out, out_h, out_w); for each i, j: patch = "
            "x[:, :, i*stride : i*stride + kh, j*stride : j*stride + kw] and out[:, :, i, j] = "
            "patch.flatten(1) @ weight.flatten(1).T; add bias[:, None, None] when there is a "
            "bias; return out."
        ),
    ],
)
def _own_conv2d(answer):
    generator = torch.Generator().manual_seed(6)
    mode = _NoBuiltIn(_is_convolution, _("convolution"))
    for x_shape, w_shape, with_bias, stride, padding in _CONV_CASES:
        x = torch.randn(*x_shape, generator=generator)
        w = torch.randn(*w_shape, generator=generator)
        b = torch.randn(w_shape[0], generator=generator) if with_bias else None
        want = F.conv2d(x, w, b, stride=stride, padding=padding)
        if (with_bias, stride, padding) == (False, 1, 0):
            call = "conv2d(x, weight)"
            got = _call_own(answer, mode, x, w)
        else:
            call = f"conv2d(x, weight, {'bias' if with_bias else 'None'}, {stride}, {padding})"
            got = _call_own(answer, mode, x, w, b, stride=stride, padding=padding)
        what = _("{call} for x of shape {x} and weight of shape {w}").format(
            call=call, x=x_shape, w=w_shape
        )
        if _same_as(got, want):
            expect_tensor(got, want, what, atol=1e-4, rtol=1e-4)  # dtype and device
            continue
        for wrong, why in _conv_mistakes(x, w, b, stride, padding):
            if _same_as(got, wrong):
                raise Mismatch(_("{what}: {why}.").format(what=what, why=why))
        if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(want.shape):
            raise Mismatch(
                _(
                    "{what} has shape {got}, expected {want}: the batch size, then one channel "
                    "per kernel, then along each side ⌊(n + 2·padding − k) / stride⌋ + 1 values"
                ).format(what=what, got=tuple(got.shape), want=tuple(want.shape))
            )
        expect_tensor(got, want, what, atol=1e-4, rtol=1e-4)
    return _(
        "equal to F.conv2d for 6 cases: strides 1 to 3, padding 0 to 2, 1 to 3 channels in, "
        "1 to 5 out, batches of 1 to 3, with and without a bias."
    )


# (x shape, window size k): windows that fit exactly, leftovers to drop, k from 1 to 4.
_POOL_CASES = [
    ((1, 1, 4, 6), 2),
    ((2, 3, 6, 8), 2),
    ((2, 2, 7, 5), 2),
    ((1, 2, 9, 10), 3),
    ((3, 1, 8, 6), 4),
    ((1, 2, 3, 2), 1),
]


def _pool_mistakes(x, k, want):
    """(what a typical mistake computes, what to say about it) for one case."""
    n, c, height, width = x.shape
    rows, cols = height // k, width // k
    fitted = x[:, :, : rows * k, : cols * k]
    return [
        (
            F.avg_pool2d(x, k),
            _("it takes the mean of each window: max pooling keeps the largest value"),
        ),
        (
            want.clamp(min=0),
            _(
                "it starts the maximum at 0, so a window of negative values gives 0: start from "
                "the window's own values"
            ),
        ),
        (
            want.amax(dim=1, keepdim=True).expand_as(want),
            _("it mixes the channels: pool each channel of each image on its own"),
        ),
        (
            fitted.reshape(n, c, rows, cols, k, k).amax(dim=(4, 5)),
            _(
                "its windows are not k x k blocks of the image: a window is k consecutive rows "
                "and k consecutive columns, so split the height into (H // k, k) and the width "
                "into (W // k, k)"
            ),
        ),
        (
            F.max_pool2d(x, k, stride=1),
            _("its windows overlap: neighbouring windows must lie k pixels apart, not 1"),
        ),
        (
            F.max_pool2d(x, k, ceil_mode=True),
            _(
                "it keeps the rows or columns at the edge that do not fill a whole window: drop "
                "them, as F.max_pool2d does"
            ),
        ),
    ]


@exercise(
    "04.ex7",
    hints=[
        N_(
            "each output value is the largest value of one k x k block of the input; the blocks "
            "tile each channel without overlapping, and rows or columns that cannot fill a block "
            "are left out."
        ),
        N_(
            "cut x down to the largest multiple of k rows and columns, split the height into "
            "(H // k, k) and the width into (W // k, k) with reshape, and take the maximum over "
            "the two dimensions of size k."
        ),
        N_(
            "x = x[:, :, : (H // k) * k, : (W // k) * k]; return "
            "x.reshape(N, C, H // k, k, W // k, k).amax(dim=(3, 5))"
        ),
    ],
)
def _own_max_pool2d(answer):
    generator = torch.Generator().manual_seed(7)
    mode = _NoBuiltIn(_is_pooling, _("pooling"))
    for shape, k in _POOL_CASES:
        x = torch.randn(*shape, generator=generator)
        want = F.max_pool2d(x, k)
        got = _call_own(answer, mode, x, k)
        what = _("max_pool2d(x, {k}) for x of shape {shape}").format(k=k, shape=shape)
        if _same_as(got, want):
            expect_tensor(got, want, what)  # dtype and device
            continue
        for wrong, why in _pool_mistakes(x, k, want):
            if _same_as(got, wrong):
                raise Mismatch(_("{what}: {why}.").format(what=what, why=why))
        if isinstance(got, torch.Tensor) and tuple(got.shape) != tuple(want.shape):
            raise Mismatch(
                _(
                    "{what} has shape {got}, expected {want}: windows of k x k, k apart, give "
                    "H // k rows and W // k columns per channel"
                ).format(what=what, got=tuple(got.shape), want=tuple(want.shape))
            )
        expect_tensor(got, want, what)
    return _(
        "equal to F.max_pool2d for 6 cases: windows of 1 to 4, leftover rows and columns "
        "dropped, negative values."
    )
