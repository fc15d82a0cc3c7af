"""LeNet on MNIST: the reference models and training recipe of chapter 07 and `make bench`.

The chapter's later sections use these instead of the learner's exercise answers, and the
benchmark times `train` with the `FAST` recipe, so the notebook and `make bench` agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081  # of the 60,000 training images, pixels scaled to [0, 1]
CLASSES = 10


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling: 1x28x28 -> 10 logits, 61,706 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)  # 6x28x28, pooled to 6x14x14
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)  # 16x10x10, pooled to 16x5x5
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class OldLeNet(nn.Module):
    """The LeNet of older tutorials: 3x3 first convolution and no activation function at all.

    pooling=nn.AvgPool2d makes it a purely linear (affine) model: without activations, max
    pooling is its only non-linear step.
    """

    def __init__(self, pooling: type[nn.Module] = nn.MaxPool2d) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 6, 3, padding=1),
            pooling(2),
            nn.Conv2d(6, 16, 5),
            pooling(2),
        )
        self.fc = nn.Sequential(nn.Linear(400, 120), nn.Linear(120, 84), nn.Linear(84, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.conv(x), 1))


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 images (N, 28, 28) -> float32 (N, 1, 28, 28), scaled to [0, 1] then standardised."""
    return ((images.float() / 255 - MEAN) / STD).unsqueeze(1)


def mnist_tensors(train: bool = True, device: torch.device | str = "cpu"):
    """The whole MNIST training (or test) set as (normalised images, int64 labels) on device."""
    from torchcourse.data import mnist

    dataset = mnist(train=train)
    return normalize(dataset.data).to(device), dataset.targets.to(device)


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches sliced from whole-dataset tensors (the last one may be smaller)."""
    order = torch.randperm(len(images), generator=generator).to(images.device)
    for start in range(0, len(images), batch_size):
        index = order[start : start + batch_size]
        yield images[index], labels[index]


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 2000) -> torch.Tensor:
    """The predicted class of every image, in eval mode, batch by batch."""
    was_training = model.training
    model.eval()
    predictions = [
        model(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)
    ]
    model.train(was_training)
    return torch.cat(predictions)


def evaluate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 2000
) -> float:
    """The fraction of images the model classifies correctly, a Python float in [0, 1]."""
    return (predict(model, images, batch_size) == labels).float().mean().item()


def confusion_matrix(
    predictions: torch.Tensor, labels: torch.Tensor, num_classes: int = CLASSES
) -> torch.Tensor:
    """counts[true, predicted] as an int64 (num_classes, num_classes) tensor."""
    flat = labels.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes**2).reshape(num_classes, num_classes)


@dataclass(frozen=True)
class Recipe:
    """How to train: optimizer, batch size, one-cycle learning-rate schedule, speed switches."""

    epochs: float = 2.0
    batch_size: int = 128
    optimizer: str = "adamw"  # "adamw", or "sgd" with Nesterov momentum
    max_lr: float = 0.01
    weight_decay: float = 0.01
    warmup: float = 0.2  # the fraction of the steps spent raising the learning rate
    label_smoothing: float = 0.1
    channels_last: bool = False
    compile: bool = False

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed."""
        return replace(self, **changes)


# The fastest CPU recipe found (benchmarks/RESULTS.md lists what else was tried).
FAST = Recipe(epochs=1.5, channels_last=True)


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over the model's parameters."""
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(
            model.parameters(), lr=recipe.max_lr, weight_decay=recipe.weight_decay
        )
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=recipe.max_lr,
            momentum=0.9,
            nesterov=True,
            weight_decay=recipe.weight_decay,
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}: use 'adamw' or 'sgd'")


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe = FAST,
    seed: int = 0,
    on_step: Callable[[int, float], None] | None = None,
) -> nn.Module:
    """Train model in place with the recipe; return the module to evaluate (compiled or not).

    on_step(step, loss_tensor) is called after every optimizer step (pass None for speed).
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    step_model = torch.compile(model) if recipe.compile else model
    steps_per_epoch = -(-len(images) // recipe.batch_size)
    total = max(1, round(recipe.epochs * steps_per_epoch))
    optimizer = make_optimizer(model, recipe)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=recipe.max_lr, total_steps=total, pct_start=recipe.warmup
    )
    model.train()
    step = 0
    while step < total:
        for x, y in batches(images, labels, recipe.batch_size, generator):
            loss = F.cross_entropy(step_model(x), y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            if on_step is not None:
                on_step(step, loss)
            if step == total:
                break
    return step_model


def time_to_accuracy(recipe: Recipe = FAST, seed: int = 0, device: str = "cpu", data=None) -> dict:
    """Build LeNet-5, train it with recipe and evaluate once: training seconds and accuracy."""
    train_x, train_y, test_x, test_y = data or (
        *mnist_tensors(True, device),
        *mnist_tensors(False, device),
    )
    torch.manual_seed(seed)
    model = LeNet5().to(device)
    sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    trained = train(model, train_x, train_y, recipe, seed)
    sync()
    seconds = time.perf_counter() - start
    if recipe.channels_last:
        test_x = test_x.contiguous(memory_format=torch.channels_last)
    return {"seconds": seconds, "accuracy": evaluate(trained, test_x, test_y)}
