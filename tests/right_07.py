"""Correct answers to chapter 07 that differ from the reference: each must pass its check."""

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

MEAN, STD = 0.1307, 0.3081


# 07.ex1: normalise a whole set at once


def _normalize_div(images):
    return images.to(torch.float32).div(255).sub(MEAN).div(STD)[:, None]


def _normalize_v2(images):
    from torchvision.transforms import v2  # here: importing torchvision costs every worker 1 s

    scaled = v2.functional.to_dtype(images.unsqueeze(1), torch.float32, scale=True)
    return v2.functional.normalize(scaled, [MEAN], [STD])


def _normalize_one_by_one(images):
    return torch.stack([((image / 255.0 - MEAN) / STD).unsqueeze(0) for image in images])


# 07.ex2: evaluate


def _evaluate_dataloader(model, images, labels, batch_size=1000):
    model.eval()
    loader = DataLoader(TensorDataset(images, labels), batch_size=batch_size, num_workers=0)
    correct = 0
    with torch.inference_mode():
        for x, y in loader:
            correct += int((model(x).argmax(dim=1) == y).sum())
    return correct / len(images)


def _evaluate_split(model, images, labels, batch_size=1000):
    model.train(False)
    with torch.no_grad():
        hits = [
            (model(x).max(1).indices == y).float().sum()
            for x, y in zip(images.split(batch_size), labels.split(batch_size))
        ]
    return torch.stack(hits).sum().item() / len(labels)


@torch.no_grad()
def _evaluate_decorated(model, images, labels, batch_size=1000):
    model.eval()
    predictions = torch.cat([model(chunk).argmax(1) for chunk in images.split(batch_size)])
    return float(predictions.eq(labels).double().mean())


# 07.ex3: LeNet-5 as a module


class _LeNetBlocks(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(400, 120),
            nn.ReLU(),
            nn.Linear(120, 84),
            nn.ReLU(),
            nn.Linear(84, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class _LeNetSequential(nn.Sequential):
    def __init__(self):
        super().__init__(
            nn.Conv2d(1, 6, kernel_size=(5, 5), padding="same"),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Conv2d(6, 16, kernel_size=(5, 5)),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=2, stride=2),
            nn.Flatten(start_dim=1),
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, 10),
        )


class _LeNetPoolThenRelu(nn.Module):
    """Pooling before the ReLU: the same function, since max and ReLU commute."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(400, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = torch.relu(self.pool(self.conv1(x)))
        x = torch.relu(self.pool(self.conv2(x)))
        x = x.view(x.size(0), -1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


class _LeNetFlattenModule(_LeNetPoolThenRelu):
    """nn.Flatten() as a layer of its own (start_dim=1 by default)."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.flatten(self.pool(F.relu(self.conv2(x))))
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


# 07.ex4: a confusion matrix


def _confusion_loop(predictions, labels, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(labels.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix


def _confusion_index_put(predictions, labels, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.long, device=labels.device)
    ones = torch.ones_like(labels, dtype=torch.long)
    return matrix.index_put_((labels, predictions), ones, accumulate=True)


def _confusion_one_hot(predictions, labels, num_classes=10):
    return F.one_hot(labels, num_classes).T @ F.one_hot(predictions, num_classes)


def _confusion_bincount_2d(predictions, labels, num_classes=10):
    rows = [
        torch.bincount(predictions[labels == t], minlength=num_classes) for t in range(num_classes)
    ]
    return torch.stack(rows)


RIGHT = {
    "07.ex1": [
        ("to(float32), div, sub and [:, None]", _normalize_div),
        ("torchvision's v2 functionals", _normalize_v2),
        ("one image at a time with / 255.0", _normalize_one_by_one),
    ],
    "07.ex2": [
        ("a DataLoader and inference_mode", _evaluate_dataloader),
        ("split, train(False) and max(1).indices", _evaluate_split),
        ("decorated with torch.no_grad", _evaluate_decorated),
    ],
    "07.ex3": [
        ("nn.Sequential blocks", _LeNetBlocks),
        ("a subclass of nn.Sequential", _LeNetSequential),
        ("pool then ReLU, nn.MaxPool2d, view", _LeNetPoolThenRelu),
        ("nn.Flatten and F.relu", _LeNetFlattenModule),
    ],
    "07.ex4": [
        ("a Python loop", _confusion_loop),
        ("index_put_ with accumulate=True", _confusion_index_put),
        ("one-hot matrix product", _confusion_one_hot),
        ("one bincount per true class", _confusion_bincount_2d),
    ],
}


# 07.ex5: a Dataset of one's own, written three ways.
class _DigitsEager(torch.utils.data.Dataset):
    """Transforms every image once, up front, and keeps a list of pairs."""

    def __init__(self, images, labels, transform=None):
        self.samples = [
            (image if transform is None else transform(image), label.item())
            for image, label in zip(images, labels)
        ]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        return self.samples[index]


class _DigitsNoBaseClass:
    """No Dataset base class: a DataLoader only needs __len__ and __getitem__."""

    def __init__(self, images, labels, transform=None):
        self.images = images
        self.labels = labels
        self.transform = transform or (lambda image: image)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        return (self.transform(self.images[index]), self.labels[index])


class _DigitsTensorLabel(torch.utils.data.Dataset):
    """Keeps the label a 0-d int64 tensor, which a DataLoader batches the same way."""

    def __init__(self, images, labels, transform=None):
        super().__init__()
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = self.images[index]
        if self.transform:
            image = self.transform(image)
        return image, self.labels[index]


RIGHT["07.ex5"] = [
    ("transforms up front, a list of pairs", _DigitsEager),
    ("no Dataset base class, identity transform", _DigitsNoBaseClass),
    ("label kept as a 0-d tensor", _DigitsTensorLabel),
]
