"""Typical mistakes in chapter 07, Case study: LeNet on MNIST."""

import torch
import torch.nn.functional as F
from torch import nn

from torchcourse import lenet

TENSOR_RESULTS = {"07.ex1", "07.ex4"}

MEAN, STD = 0.1307, 0.3081


# 07.ex3: LeNet-5 gone wrong in the ways learners get it wrong.
class _NoPadding(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.fc1, self.fc2, self.fc3 = nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.flatten(1))))))


class _SmallFc1(_NoPadding):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(256, 120)


class _Configurable(lenet.LeNet5):
    """LeNet-5's layers with a changed forward."""

    activation, pool, hidden, final = staticmethod(F.relu), staticmethod(F.max_pool2d), True, None

    def forward(self, x):
        act = self.activation
        x = self.pool(act(self.conv1(x)), 2)
        x = self.pool(act(self.conv2(x)), 2).flatten(1)
        hidden = act if self.hidden else (lambda t: t)
        x = self.fc3(hidden(self.fc2(hidden(self.fc1(x)))))
        return self.final(x) if self.final else x


def _configured(**changes):
    return type(
        "WrongLeNet",
        (_Configurable,),
        {k: staticmethod(v) if callable(v) else v for k, v in changes.items()},
    )


class _ViewMinusOne(lenet.LeNet5):
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, 400)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class _ReshapeMinusOne(_ViewMinusOne):
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.max_pool2d(F.relu(self.conv1(x)), 2))), 2)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x.reshape(-1, 16 * 5 * 5))))))


class _ExtraLayer(lenet.LeNet5):
    def __init__(self):
        super().__init__()
        self.fc4 = nn.Linear(10, 10)


def _count_correct(model, images, labels, batch_size=1000):
    model.eval()
    with torch.no_grad():
        return sum(
            (model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
            for i in range(0, len(images), batch_size)
        )


def _all_at_once(model, images, labels, batch_size=1000):
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


def _train_mode(model, images, labels, batch_size=1000):
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            correct += (
                (model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size])
                .sum()
                .item()
            )
    return correct / len(images)


def _with_grad(model, images, labels, batch_size=1000):
    model.eval()
    correct = sum(
        (model(images[i : i + batch_size]).argmax(1) == labels[i : i + batch_size]).sum().item()
        for i in range(0, len(images), batch_size)
    )
    return correct / len(images)


def _drops_last_batch(model, images, labels, batch_size=1000):
    model.eval()
    correct, seen = 0, 0
    with torch.no_grad():
        for i in range(0, len(images) - batch_size + 1, batch_size):
            out = model(images[i : i + batch_size])
            correct += (out.argmax(1) == labels[i : i + batch_size]).sum().item()
            seen += batch_size
    return correct / seen


def _tensor_result(model, images, labels, batch_size=1000):
    return torch.tensor(_count_correct(model, images, labels, batch_size) / len(images))


def _percent(model, images, labels, batch_size=1000):
    return 100 * _count_correct(model, images, labels, batch_size) / len(images)


def _per_batch_mean(model, images, labels, batch_size=1000):
    model.eval()
    means = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            out = model(images[i : i + batch_size])
            means.append((out.argmax(1) == labels[i : i + batch_size]).float().mean().item())
    return sum(means) / len(means)


def _index_add(predictions, labels, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    matrix[labels, predictions] += 1
    return matrix


def _counts_in_labels(predictions, labels, num_classes=10):
    labels.mul_(num_classes).add_(predictions)
    return torch.bincount(labels, minlength=num_classes**2).reshape(num_classes, num_classes)


class _PaddedTwice(_NoPadding):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5, padding=2)
        self.fc1 = nn.Linear(16 * 7 * 7, 120)


def _float_counts(predictions, labels, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes)
    for t, p in zip(labels.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix


WRONG = {
    "07.ex1": [
        ("no /255", lambda x: ((x.float() - MEAN) / STD).unsqueeze(1), "wrong values"),
        ("no channel dim", lambda x: (x.float() / 255 - MEAN) / STD, "has shape (5, 28, 28)"),
        ("channel last", lambda x: ((x.float() / 255 - MEAN) / STD).unsqueeze(-1), "has shape"),
        (
            "mean and std swapped",
            lambda x: ((x.float() / 255 - STD) / MEAN).unsqueeze(1),
            "wrong values",
        ),
        (
            "float64",
            lambda x: ((x.double() / 255 - MEAN) / STD).unsqueeze(1),
            "dtype torch.float64",
        ),
        ("only scaled", lambda x: (x.float() / 255).unsqueeze(1), "wrong values"),
        ("integer division", lambda x: ((x // 255 - MEAN) / STD).unsqueeze(1), "wrong values"),
        (
            "channel dimension first",
            lambda x: ((x.float() / 255 - MEAN) / STD).unsqueeze(0),
            "has shape (1, 5, 28, 28)",
        ),
    ],
    "07.ex2": [
        (
            "returns the count",
            lambda m, x, y, b=1000: _count_correct(m, x, y, b),
            "number of correct predictions",
            "is a fraction",
        ),
        ("percent", _percent, "a percentage"),
        ("train mode", _train_mode, "training mode", "keeps the mode"),
        ("records a graph", _with_grad, "torch.no_grad()", "records every forward pass"),
        ("all images at once", _all_at_once, "images at once"),
        ("drops the last batch", _drops_last_batch, "the last, smaller batch", "smaller slice"),
        ("returns a tensor", _tensor_result, "returned a tensor"),
        ("averages batch means", _per_batch_mean, "expected 0.6936"),
    ],
    "07.ex3": [
        ("the old 3x3 LeNet", lenet.OldLeNet, "shape (6, 1, 5, 5)"),
        ("no padding", _NoPadding, "raised RuntimeError"),
        ("no padding, fc1 resized", _SmallFc1, "shape (120, 400)"),
        ("padding on both convolutions", _PaddedTwice, "shape (120, 400)"),
        ("tanh, as in 1998", _configured(activation=torch.tanh), "tanh"),
        ("no activation", _configured(activation=lambda t: t), "no activation"),
        ("no ReLU in fc layers", _configured(hidden=False), "fc1 and fc2 need a ReLU"),
        ("average pooling", _configured(pool=F.avg_pool2d), "max pooling"),
        (
            "softmax output",
            _configured(final=lambda t: t.softmax(1)),
            "probabilities",
            "softmax twice",
        ),
        (
            "log_softmax output",
            _configured(final=lambda t: t.log_softmax(1)),
            "probabilities",
            "softmax twice",
        ),
        ("ReLU on the output", _configured(final=F.relu), "outputs differ"),
        ("an extra layer", _ExtraLayer, "61,706"),
        ("x.view(-1, 400)", _ViewMinusOne, "merged the batch dimension", "a -1 in a reshape"),
        ("x.reshape(-1, 16 * 5 * 5)", _ReshapeMinusOne, "returns 2 rows", "a -1 in a reshape"),
        ("an instance, not a class", lenet.LeNet5(), "pass the class itself"),
        ("not a module", lambda: lambda x: x, "should build an nn.Module"),
    ],
    "07.ex4": [
        ("transposed", lambda p, t, n=10: lenet.confusion_matrix(t, p, n), "transposed"),
        ("index += 1", _index_add, "`matrix[labels, predictions] += 1`"),
        ("float counts", _float_counts, "dtype torch.float32"),
        (
            "counts in the labels tensor",
            _counts_in_labels,
            "changed its argument `labels`",
            "an in-place operation",
        ),
        (
            "hard-coded 10 classes",
            lambda p, t, n=10: lenet.confusion_matrix(p, t, 10),
            "has shape (10, 10), expected (4, 4)",
        ),
        (
            "bincount without minlength",
            lambda p, t, n=10: torch.bincount(t * n + p).reshape(n, n),
            "raised RuntimeError",
        ),
    ],
}


# 07.ex5: a Dataset of one's own, gone wrong.
class _Digits(torch.utils.data.Dataset):
    """A right DigitsDataset that the mistakes below change in one place each."""

    def __init__(self, images, labels, transform=None):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.images)

    def image(self, index):
        image = self.images[index]
        return image if self.transform is None else self.transform(image)

    def __getitem__(self, index):
        return self.image(index), int(self.labels[index])


class _OffByOne(_Digits):
    def __len__(self):
        return len(self.images) - 1


class _NoTransform(_Digits):
    def __getitem__(self, index):
        return self.images[index], int(self.labels[index])


class _FloatLabel(_Digits):
    def __getitem__(self, index):
        return self.image(index), float(self.labels[index])


class _SlicedLabel(_Digits):
    def __getitem__(self, index):
        return self.image(index), self.labels[index : index + 1]


class _AlwaysTransform(_Digits):
    def __getitem__(self, index):
        return self.transform(self.images[index]), int(self.labels[index])


class _Swapped(_Digits):
    def __getitem__(self, index):
        return int(self.labels[index]), self.image(index)


WRONG["07.ex5"] = [
    ("len one short", _OffByOne, "len(dataset) is 6, expected 7"),
    ("transform not applied", _NoTransform, "pass it through the transform"),
    ("label as a float", _FloatLabel, "should be a Python int"),
    ("label as a 1-element slice", _SlicedLabel, "should be a Python int"),
    ("transform called when it is None", _AlwaysTransform, "raised TypeError"),
    ("(label, image) swapped", _Swapped, "should be a torch.Tensor"),
]
