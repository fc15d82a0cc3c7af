"""Correct answers to chapter 04 that differ from the reference: each must pass."""

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


# 04.ex1: TwoLayerNet(n_in, n_hidden, n_out)
class SequentialSubclass(nn.Sequential):
    """A subclass of nn.Sequential is a subclass of nn.Module too."""

    def __init__(self, n_in, n_hidden, n_out):
        super().__init__(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))


class SequentialInside(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Linear(n_hidden, n_out))

    def forward(self, x):
        return self.body(x)


class OtherNamesAndClamp(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.act = nn.ReLU()
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        return self.out(self.hidden(x).clamp(min=0))


# 04.ex2: count_parameters(model)
def count_with_a_loop(model):
    total = 0
    for param in model.parameters():
        if param.requires_grad:
            total += param.numel()
    return total


def count_with_math_prod(model):
    return sum(math.prod(p.shape) for _, p in model.named_parameters() if p.requires_grad)


def count_with_parameters_to_vector(model):
    trainable = [p for p in model.parameters() if p.requires_grad]
    return nn.utils.parameters_to_vector(trainable).numel() if trainable else 0


# 04.ex3: classic_sequential()
_RELU, _POOL = nn.ReLU(), nn.MaxPool2d(2)


def sequential_sharing_relu():
    """Modules without parameters may be shared; the layers with weights are new each call."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),
        _RELU,
        _POOL,
        nn.Conv2d(6, 16, 5),
        _RELU,
        _POOL,
        nn.Flatten(),
        nn.Linear(400, 120),
        _RELU,
        nn.Linear(120, 84),
        _RELU,
        nn.Linear(84, 10),
    )


def _classic_layers():
    return [
        nn.Conv2d(1, 6, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.ReLU(),
        nn.MaxPool2d(kernel_size=2, stride=2),
        nn.Flatten(start_dim=1),
        nn.Linear(16 * 5 * 5, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    ]


def sequential_from_a_list():
    return nn.Sequential(*_classic_layers())


def sequential_appended():
    net = nn.Sequential()
    for layer in _classic_layers():
        net.append(layer)
    return net


def sequential_with_names():
    names = ["c1", "r1", "p1", "c2", "r2", "p2", "flat", "f1", "r3", "f2", "r4", "f3"]
    return nn.Sequential(OrderedDict(zip(names, _classic_layers())))


def sequential_of_blocks():
    def conv_block(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2))

    return nn.Sequential(
        conv_block(1, 6),
        conv_block(6, 16),
        nn.Flatten(),
        nn.Sequential(nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU()),
        nn.Linear(84, 10),
    )


# 04.ex4: DropoutMLP(n_in, n_hidden, n_out, p)
class _TwoLayers(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, p):
        super().__init__()
        self.fc1, self.fc2, self.p = nn.Linear(n_in, n_hidden), nn.Linear(n_hidden, n_out), p


class FunctionalWithTraining(_TwoLayers):
    def forward(self, x):
        return self.fc2(F.dropout(F.relu(self.fc1(x)), self.p, self.training))


class HandWrittenMask(_TwoLayers):
    def forward(self, x):
        h = F.relu(self.fc1(x))
        if self.training:
            h = h * (torch.rand_like(h) >= self.p) / (1 - self.p)
        return self.fc2(h)


class BernoulliMask(_TwoLayers):
    def forward(self, x):
        h = torch.relu(self.fc1(x))
        if not self.training:
            return self.fc2(h)
        keep = torch.bernoulli(torch.full_like(h, 1 - self.p))
        return self.fc2(h * keep / (1 - self.p))


class DropoutInASequential(nn.Module):
    def __init__(self, n_in, n_hidden, n_out, p):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_in, n_hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(n_hidden, n_out)
        )

    def forward(self, x):
        return self.body(x)


class DropoutBeforeRelu(_TwoLayers):
    """Dropout scales by a non-negative factor, so it commutes with the ReLU."""

    def __init__(self, n_in, n_hidden, n_out, p):
        super().__init__(n_in, n_hidden, n_out, p)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        return self.fc2(F.relu(self.drop(self.fc1(x))))


# 04.ex5: load_weights(path, build)
def load_on_the_cpu(path, build):
    model = build()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def eval_first_then_load(path, build):
    model = build().eval()
    state = torch.load(path, weights_only=True, mmap=True)
    model.load_state_dict(state, strict=True)
    return model


def load_from_an_open_file(path, build):
    with open(path, "rb") as file:
        state = torch.load(file, map_location=torch.device("cpu"), weights_only=True)
    model = build()
    model.load_state_dict(state)
    model.train(False)
    return model


RIGHT = {
    "04.ex1": [
        ("a subclass of nn.Sequential", SequentialSubclass),
        ("an nn.Sequential attribute", SequentialInside),
        ("other names, nn.ReLU attribute, clamp", OtherNamesAndClamp),
    ],
    "04.ex2": [
        ("a for loop", count_with_a_loop),
        ("math.prod over named_parameters", count_with_math_prod),
        ("parameters_to_vector", count_with_parameters_to_vector),
    ],
    "04.ex3": [
        ("keyword arguments, from a list", sequential_from_a_list),
        ("append one by one", sequential_appended),
        ("an OrderedDict of named layers", sequential_with_names),
        ("nested blocks", sequential_of_blocks),
        ("one ReLU and one pool module shared, new weights each call", sequential_sharing_relu),
    ],
    "04.ex4": [
        ("F.dropout with self.training", FunctionalWithTraining),
        ("hand-written inverted-dropout mask", HandWrittenMask),
        ("torch.bernoulli mask", BernoulliMask),
        ("nn.Dropout inside an nn.Sequential", DropoutInASequential),
        ("dropout before the ReLU", DropoutBeforeRelu),
    ],
    "04.ex5": [
        ("map_location='cpu'", load_on_the_cpu),
        ("eval() first, mmap=True, strict=True", eval_first_then_load),
        ("an open file, train(False)", load_from_an_open_file),
    ],
}


# 04.ex6: conv2d(x, weight, bias=None, stride=1, padding=0)
def conv2d_with_unfold(x, weight, bias=None, stride=1, padding=0):
    """Every patch as a column (F.unfold), then one matrix product."""
    n, _, height, width = x.shape
    out_channels, _, kh, kw = weight.shape
    out_h = (height + 2 * padding - kh) // stride + 1
    out_w = (width + 2 * padding - kw) // stride + 1
    columns = F.unfold(x, (kh, kw), padding=padding, stride=stride)
    out = (weight.reshape(out_channels, -1) @ columns).reshape(n, out_channels, out_h, out_w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def conv2d_over_kernel_positions(x, weight, bias=None, stride=1, padding=0):
    """A loop over the kh * kw kernel positions, each a strided slice times one weight column."""
    padded = torch.zeros(x.shape[0], x.shape[1], x.shape[2] + 2 * padding, x.shape[3] + 2 * padding)
    padded[:, :, padding : padding + x.shape[2], padding : padding + x.shape[3]] = x
    kh, kw = weight.shape[2:]
    out_h = (padded.shape[2] - kh) // stride + 1
    out_w = (padded.shape[3] - kw) // stride + 1
    out = torch.zeros(x.shape[0], weight.shape[0], out_h, out_w)
    for a in range(kh):
        for b in range(kw):
            part = padded[:, :, a : a + stride * out_h : stride, b : b + stride * out_w : stride]
            out += torch.einsum("nchw,oc->nohw", part, weight[:, :, a, b])
    if bias is not None:
        out += bias.reshape(-1, 1, 1)
    return out


def conv2d_element_by_element(x, weight, bias=None, stride=1, padding=0):
    """The definition, one output number at a time."""
    x = F.pad(x, [padding, padding, padding, padding])
    kh, kw = weight.shape[2], weight.shape[3]
    out_h = (x.shape[2] - kh) // stride + 1
    out_w = (x.shape[3] - kw) // stride + 1
    out = torch.empty(x.shape[0], weight.shape[0], out_h, out_w)
    for n in range(x.shape[0]):
        for o in range(weight.shape[0]):
            for i in range(out_h):
                for j in range(out_w):
                    patch = x[n, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
                    value = (patch * weight[o]).sum()
                    out[n, o, i, j] = value if bias is None else value + bias[o]
    return out


# 04.ex7: max_pool2d(x, k)
def max_pool_with_tensor_unfold(x, k):
    """Tensor.unfold makes the windows and drops the leftovers by itself."""
    return x.unfold(2, k, k).unfold(3, k, k).amax(dim=(-2, -1))


def max_pool_with_loops(x, k):
    rows, cols = x.shape[2] // k, x.shape[3] // k
    out = torch.empty(x.shape[0], x.shape[1], rows, cols)
    for i in range(rows):
        for j in range(cols):
            out[:, :, i, j] = x[:, :, i * k : (i + 1) * k, j * k : (j + 1) * k].flatten(2).max(2)[0]
    return out


def max_pool_with_f_unfold(x, k):
    n, c, height, width = x.shape
    columns = F.unfold(x.reshape(n * c, 1, height, width), k, stride=k)
    return columns.max(dim=1).values.reshape(n, c, height // k, width // k)


RIGHT["04.ex6"] = [
    ("F.unfold and a matrix product", conv2d_with_unfold),
    ("a loop over kernel positions, einsum", conv2d_over_kernel_positions),
    ("one output number at a time", conv2d_element_by_element),
]
RIGHT["04.ex7"] = [
    ("Tensor.unfold twice", max_pool_with_tensor_unfold),
    ("loops over the windows", max_pool_with_loops),
    ("F.unfold per channel", max_pool_with_f_unfold),
]
