"""Typical mistakes in chapter 04, Building networks with nn.Module."""

import torch
import torch.nn.functional as F
from torch import nn

TENSOR_RESULTS: set[str] = set()


# 04.ex1: TwoLayerNet(n_in, n_hidden, n_out)
class NoRelu(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.fc2(self.fc1(x))


class ReluOnOutput(NoRelu):
    def forward(self, x):
        return F.relu(self.fc2(F.relu(self.fc1(x))))


class SigmoidBetween(NoRelu):
    def forward(self, x):
        return self.fc2(torch.sigmoid(self.fc1(x)))


class PlainList(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.layers = [nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)]

    def forward(self, x):
        return self.layers[1](F.relu(self.layers[0](x)))


class NoSuper(NoRelu):
    def __init__(self, n_in, n_hidden, n_out):
        self.fc1, self.fc2 = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out)


class LayersSwapped(NoRelu):
    def __init__(self, n_in, n_hidden, n_out):
        nn.Module.__init__(self)
        self.fc2 = nn.Linear(n_hidden, n_out)
        self.fc1 = nn.Linear(n_in, n_hidden)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class ForgetsReturn(NoRelu):
    def forward(self, x):
        self.fc2(F.relu(self.fc1(x)))


def not_a_module(n_in, n_hidden, n_out):
    return lambda x: x


class LayersInForward(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.sizes = (n_in, n_hidden, n_out)

    def forward(self, x):
        n_in, n_hidden, n_out = self.sizes
        return nn.Linear(n_hidden, n_out)(F.relu(nn.Linear(n_in, n_hidden)(x)))


# 04.ex2: count_parameters(model)
def counts_tensors(model):
    return len(list(model.parameters()))


def counts_frozen_too(model):
    return sum(p.numel() for p in model.parameters())


def counts_state_dict(model):
    return sum(t.numel() for t in model.state_dict().values())


def returns_tensor(model):
    return torch.tensor(sum(p.numel() for p in model.parameters() if p.requires_grad))


def counts_layer_by_layer(model):
    return sum(
        p.numel() for layer in model.children() for p in layer.parameters() if p.requires_grad
    )


def counts_every_name(model):
    return sum(
        p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad
    )


def counts_weights_only(model):
    return sum(
        p.numel()
        for name, p in model.named_parameters()
        if p.requires_grad and name.endswith("weight")
    )


# 04.ex3: classic_sequential()
def _lenet_layers(relu=nn.ReLU, flatten=True, pool=True, last_relu=False):
    layers = [nn.Conv2d(1, 6, 5), relu()] + ([nn.MaxPool2d(2)] if pool else [])
    layers += [nn.Conv2d(6, 16, 5), relu()] + ([nn.MaxPool2d(2)] if pool else [])
    layers += [nn.Flatten()] if flatten else []
    layers += [nn.Linear(400, 120), relu(), nn.Linear(120, 84), relu(), nn.Linear(84, 10)]
    return layers + ([relu()] if last_relu else [])


def _softmax_at_the_end():
    return nn.Sequential(*_lenet_layers(), nn.Softmax(dim=1))


def _flattens_the_batch_too():
    layers = _lenet_layers()
    layers[6] = nn.Flatten(0)
    return nn.Sequential(*layers)


_ONCE = nn.Sequential(*_lenet_layers())
_LAYERS = _lenet_layers()


def _the_same_each_call():
    return _ONCE


def _the_same_layers_each_call():
    return nn.Sequential(*_LAYERS)


class SubclassNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(*_lenet_layers())

    def forward(self, x):
        return self.body(x)


# 04.ex4: DropoutMLP(n_in, n_hidden, n_out, p)
class FunctionalDropout(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, p):
        super().__init__()
        self.fc1, self.fc2, self.p = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out), p

    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), self.p))


class NoDropout(FunctionalDropout):
    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class FixedHalf(FunctionalDropout):
    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), 0.5, training=self.training))


class DropsInput(FunctionalDropout):
    def forward(self, x):
        x = F.dropout(x, self.p, training=self.training)
        return self.fc2(F.relu(self.fc1(x)))


class DropsOutput(FunctionalDropout):
    def forward(self, x):
        return F.dropout(self.fc2(F.relu(self.fc1(x))), self.p, training=self.training)


class KeepProbability(FunctionalDropout):
    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), 1 - self.p, training=self.training))


class MaskNotScaled(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand_like(h) >= self.p)
        return self.fc2(h)


class MaskScaledByKeep(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand_like(h) >= self.p) * (1 - self.p)
        return self.fc2(h)


class KeepsWithProbabilityP(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand_like(h) < self.p) / (1 - self.p)
        return self.fc2(h)


class SameMaskEveryCall(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            generator = torch.Generator().manual_seed(0)
            keep = torch.rand(h.shape, generator=generator) >= self.p
            h = h * keep / (1 - self.p)
        return self.fc2(h)


class OneMaskForTheBatch(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand(h.shape[-1]) >= self.p) / (1 - self.p)
        return self.fc2(h)


class OneDrawPerExample(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand(h.shape[0], 1) >= self.p) / (1 - self.p)
        return self.fc2(h)


class MaskOnTheCpu(FunctionalDropout):
    def forward(self, h):
        h = F.relu(self.fc1(h))
        if self.training:
            h = h * (torch.rand(h.shape) >= self.p) / (1 - self.p)
        return self.fc2(h)


# 04.ex5: load_weights(path, build)
def forgets_eval(path, build):
    model = build()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model


def trusts_the_file(path, build):
    model = build()
    model.load_state_dict(torch.load(path, weights_only=False))
    return model.eval()


def returns_the_dict(path, build):
    return torch.load(path, weights_only=True)


def forgets_to_load(path, build):
    torch.load(path, weights_only=True)
    return build().eval()


def returns_load_result(path, build):
    model = build()
    return model.load_state_dict(torch.load(path, weights_only=True))


def returns_the_eval_method(path, build):
    model = build()
    model.load_state_dict(torch.load(path, weights_only=True))
    return model.eval


def loads_into_another_model(path, build):
    build().load_state_dict(torch.load(path, weights_only=True))
    return build().eval()


WRONG = {
    "04.ex1": [
        ("no ReLU", NoRelu, "wrong values"),
        ("ReLU after the output", ReluOnOutput, "wrong values"),
        ("sigmoid instead of ReLU", SigmoidBetween, "wrong values"),
        ("layers in a Python list", PlainList, "registers no parameters"),
        ("forgets super().__init__()", NoSuper, "before Module.__init__() call"),
        ("creates fc2 first", LayersSwapped, "expected [(8, 4), (8,), (3, 8), (3,)]"),
        ("forward without return", ForgetsReturn, "forget to `return`"),
        ("not a module", not_a_module, "should make an nn.Module"),
        ("layers made inside forward", LayersInForward, "registers no parameters"),
    ],
    "04.ex2": [
        ("counts tensors", counts_tensors, "you counted 10, expected 61706"),
        ("counts frozen parameters", counts_frozen_too, "frozen"),
        ("counts buffers", counts_state_dict, "BatchNorm1d"),
        ("counts layer by layer", counts_layer_by_layer, "nn.Linear(3, 2) you counted 0"),
        ("counts every name", counts_every_name, "tied weight is counted once"),
        ("returns a tensor", returns_tensor, "return a plain int"),
        ("weights only", counts_weights_only, "expected 61706"),
    ],
    "04.ex3": [
        ("no Flatten", lambda: nn.Sequential(*_lenet_layers(flatten=False)), "raised RuntimeError"),
        ("no pooling", lambda: nn.Sequential(*_lenet_layers(pool=False)), "raised RuntimeError"),
        (
            "ReLU on the logits",
            lambda: nn.Sequential(*_lenet_layers(last_relu=True)),
            "wrong values",
        ),
        (
            "tanh instead of ReLU",
            lambda: nn.Sequential(*_lenet_layers(relu=nn.Tanh)),
            "wrong values",
        ),
        ("softmax on the logits", _softmax_at_the_end, "wrong values"),
        ("flattens the batch dimension too", _flattens_the_batch_too, "raised RuntimeError"),
        ("a subclass, not a Sequential", SubclassNet, "expected an nn.Sequential"),
        ("returns the class", lambda: nn.Sequential, "should make an nn.Module"),
        (
            "returns the same object each call",
            _the_same_each_call,
            "return the same layers",
            "on each call",
        ),
        (
            "reuses the same layers",
            _the_same_layers_each_call,
            "return the same layers",
            "on each call",
        ),
    ],
    "04.ex4": [
        ("F.dropout without training=", FunctionalDropout, "dropout is still active in eval"),
        ("no dropout", NoDropout, "no dropout is applied"),
        ("ignores p", FixedHalf, "p=0.2) in train mode multiplies the values it keeps by 2;"),
        ("drops the input", DropsInput, "are neither"),
        ("drops the output", DropsOutput, "are neither"),
        ("p as keep probability", KeepProbability, "keeps by 5;"),
        ("mask not scaled", MaskNotScaled, "keeps by 1;"),
        ("mask scaled by 1-p", MaskScaledByKeep, "keeps by 0.5;"),
        ("keeps with probability p", KeepsWithProbabilityP, "kept 20%"),
        ("the same mask on every call", SameMaskEveryCall, "new random mask on every call"),
        ("one mask for the whole batch", OneMaskForTheBatch, "for every example of the batch"),
        ("one draw per example", OneDrawPerExample, "all together or not at all"),
        ("a mask made on the CPU", MaskOnTheCpu, "fails on a GPU"),
    ],
    "04.ex5": [
        ("forgets eval()", forgets_eval, "still in training mode", "starts in training mode"),
        ("weights_only=False", trusts_the_file, "ran the code hidden in it", "runs their code"),
        (
            "returns the state_dict",
            returns_the_dict,
            "returns the state_dict itself",
            "only the tensors",
        ),
        ("never loads the file", forgets_to_load, "not the tensor saved in the file"),
        ("returns load_state_dict's report", returns_load_result, "should return an nn.Module"),
        ("returns model.eval, not model.eval()", returns_the_eval_method, "got method"),
        ("loads into another model", loads_into_another_model, "not the tensor saved"),
    ],
}


# 04.ex6: conv2d(x, weight, bias=None, stride=1, padding=0) of the learner's own
def _out_size(n, k, stride, padding):
    return (n + 2 * padding - k) // stride + 1


def _sliding(x, weight, bias, stride, padding, *, flip=False, channels=None, size=_out_size):
    """A loop over output positions with the usual mistakes as switches."""
    if flip:
        weight = torch.flip(weight, dims=(2, 3))
    if channels is not None:
        x, weight = x[:, :channels], weight[:, :channels]
    n, _, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    out_h, out_w = size(height, kh, stride, padding), size(width, kw, stride, padding)
    x = F.pad(x, (padding,) * 4)
    out = torch.zeros(n, out_channels, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, weight)
    return out if bias is None else out + bias[:, None, None]


def calls_f_conv2d(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, stride=stride, padding=padding)


def copies_into_nn_conv2d(x, weight, bias=None, stride=1, padding=0):
    layer = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:], stride, padding)
    with torch.no_grad():
        layer.weight.copy_(weight)
        layer.bias.copy_(bias if bias is not None else torch.zeros(weight.shape[0]))
    return layer(x).detach()


def flips_the_kernel(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, bias, stride, padding, flip=True)


def forgets_the_bias(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, None, stride, padding)


def ignores_stride(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, bias, 1, padding)


def ignores_padding(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, bias, stride, 0)


def pads_only_the_width(x, weight, bias=None, stride=1, padding=0):
    return _sliding(F.pad(x, (padding, padding)), weight, bias, stride, 0)


def first_channel_only(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, bias, stride, padding, channels=1)


def averages_the_channels(x, weight, bias=None, stride=1, padding=0):
    out = _sliding(x, weight, None, stride, padding) / x.shape[1]
    return out if bias is None else out + bias[:, None, None]


def forgets_the_plus_one(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x, weight, bias, stride, padding, size=lambda n, k, s, p: (n + 2 * p - k) // s)


def returns_float64(x, weight, bias=None, stride=1, padding=0):
    return _sliding(x.double(), weight.double(), bias, stride, padding).double()


def pads_in_place(x, weight, bias=None, stride=1, padding=0):
    x[:, :, :1] = 0.0  # changes the caller's tensor
    return _sliding(x, weight, bias, stride, padding)


# 04.ex7: max_pool2d(x, k) of the learner's own
def _windows(x, k):
    n, c, height, width = x.shape
    x = x[:, :, : height // k * k, : width // k * k]
    return x.reshape(n, c, height // k, k, width // k, k)


def calls_f_max_pool2d(x, k):
    return F.max_pool2d(x, k)


def uses_nn_max_pool2d(x, k):
    return nn.MaxPool2d(k)(x)


def average_instead(x, k):
    return _windows(x, k).mean(dim=(3, 5))


def running_max_from_zero(x, k):
    n, c, height, width = x.shape
    out = torch.zeros(n, c, height // k, width // k)
    for i in range(height // k):
        for j in range(width // k):
            best = torch.zeros(n, c)
            for a in range(k):
                for b in range(k):
                    best = torch.maximum(best, x[:, :, i * k + a, j * k + b])
            out[:, :, i, j] = best
    return out


def max_over_channels_too(x, k):
    pooled = _windows(x, k).amax(dim=(3, 5))
    return pooled.amax(dim=1, keepdim=True).expand_as(pooled)


def wrong_reshape(x, k):
    n, c, height, width = x.shape
    x = x[:, :, : height // k * k, : width // k * k]
    return x.reshape(n, c, height // k, width // k, k, k).amax(dim=(4, 5))


def stride_one(x, k):
    return x.unfold(2, k, 1).unfold(3, k, 1).amax(dim=(4, 5))


def keeps_the_leftovers(x, k):
    height, width = x.shape[2:]
    padded = F.pad(x, (0, -width % k, 0, -height % k), value=float("-inf"))
    return _windows(padded, k).amax(dim=(3, 5))


def height_and_width_swapped(x, k):
    return _windows(x, k).amax(dim=(3, 5)).transpose(2, 3)


TENSOR_RESULTS |= {"04.ex6", "04.ex7"}

WRONG["04.ex6"] = [
    ("calls F.conv2d", calls_f_conv2d, "PyTorch's own conv2d"),
    ("copies the weight into nn.Conv2d", copies_into_nn_conv2d, "PyTorch's own conv2d"),
    ("flips the kernel", flips_the_kernel, "flips the kernel"),
    ("forgets the bias", forgets_the_bias, "the bias is missing"),
    ("ignores stride", ignores_stride, "ignores stride"),
    ("ignores padding", ignores_padding, "ignores padding"),
    ("pads only the width", pads_only_the_width, "pads only the width"),
    ("uses the first input channel only", first_channel_only, "only the first input channel"),
    ("averages over the input channels", averages_the_channels, "averages over the input"),
    ("output one row short", forgets_the_plus_one, "+ 1 values"),
    ("returns float64", returns_float64, "dtype torch.float64"),
    ("changes its input", pads_in_place, "changed one of its inputs"),
]
WRONG["04.ex7"] = [
    ("calls F.max_pool2d", calls_f_max_pool2d, "PyTorch's own max_pool2d"),
    ("uses nn.MaxPool2d", uses_nn_max_pool2d, "PyTorch's own max_pool2d"),
    ("the mean, not the max", average_instead, "takes the mean"),
    ("running maximum from 0", running_max_from_zero, "starts the maximum at 0"),
    ("pools across channels", max_over_channels_too, "mixes the channels"),
    ("reshapes into the wrong windows", wrong_reshape, "not k x k blocks"),
    ("stride 1", stride_one, "windows overlap"),
    ("keeps the leftovers", keeps_the_leftovers, "do not fill a whole window"),
    ("height and width swapped", height_and_width_swapped, "H // k rows and W // k columns"),
]
