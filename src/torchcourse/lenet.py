"""LeNet on MNIST: the reference models, data split, training recipe and timing of chapter 07.

The chapter's later sections use these instead of the learner's exercise answers; `make bench`
times `train` with the `FAST` recipe, so the notebook and the benchmark agree.
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

MEAN, STD = 0.1307, 0.3081  # of the 60,000 training images, pixels scaled to [0, 1]
CLASSES = 10
VALID = 5_000  # images held out of the 60,000 training images for validation
SPLIT_SEED = 0


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


def split_indices(
    n: int = 60_000, valid: int = VALID, seed: int = SPLIT_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, validation) indices into range(n): the split that
    `torch.utils.data.random_split(dataset, [n - valid, valid], generator)` makes with a
    generator seeded with seed (one random permutation, cut in two)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n - valid], order[n - valid :]


def mnist_split(device: torch.device | str = "cpu", valid: int = VALID, seed: int = SPLIT_SEED):
    """Normalised MNIST as (train_x, train_y, valid_x, valid_y, test_x, test_y) on device.

    The validation images are `valid` of the 60,000 training images (split_indices); the
    10,000 test images are the official test set.
    """
    images, labels = mnist_tensors(True, device)
    train, held_out = (i.to(images.device) for i in split_indices(len(images), valid, seed))
    return (
        images[train],
        labels[train],
        images[held_out],
        labels[held_out],
        *mnist_tensors(False, device),
    )


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
    bfloat16: bool = False  # run the forward pass under torch.autocast with bfloat16
    compile: bool = False
    fused: bool = False  # the optimizer's fused kernel: one call updates every parameter

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed."""
        return replace(self, **changes)


# The CPU recipe chosen on the validation split: the fewest epochs whose validation accuracy,
# averaged over five seeds, reached 99.0%. No two-epoch variant did (the best gave 98.996%);
# 2.25 epochs at batch 250 with 30% of the steps warming up did (99.07%). The trials are in
# benchmarks/RESULTS.md.
FAST = Recipe(
    epochs=2.25,
    batch_size=250,
    max_lr=0.02,
    warmup=0.3,
    channels_last=True,
    bfloat16=True,
    fused=True,
)


def make_optimizer(model: nn.Module, recipe: Recipe) -> torch.optim.Optimizer:
    """The recipe's optimizer over the model's parameters."""
    if recipe.optimizer == "adamw":
        return torch.optim.AdamW(
            model.parameters(),
            lr=recipe.max_lr,
            weight_decay=recipe.weight_decay,
            fused=recipe.fused or None,
        )
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=recipe.max_lr,
            momentum=0.9,
            nesterov=True,
            weight_decay=recipe.weight_decay,
            fused=recipe.fused or None,
        )
    raise ValueError(f"unknown optimizer {recipe.optimizer!r}: use 'adamw' or 'sgd'")


def laid_out(images: torch.Tensor, recipe: Recipe) -> torch.Tensor:
    """images in the memory order the recipe trains in (channels_last or as they are).

    time_to_accuracy does this before its clock starts; train does it again, which costs
    nothing when the images are already in that order.
    """
    if recipe.channels_last:
        return images.contiguous(memory_format=torch.channels_last)
    return images


def train(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    recipe: Recipe = FAST,
    seed: int = 0,
    on_step: Callable[[int, torch.Tensor], None] | None = None,
) -> nn.Module:
    """Train model in place with the recipe; return the module to evaluate (compiled or not).

    OneCycleLR counts optimizer steps (total_steps = epochs x batches per epoch), so it steps
    once per batch. on_step(step, loss_tensor) is called after every optimizer step.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images = laid_out(images, recipe)
    if recipe.channels_last:
        model = model.to(memory_format=torch.channels_last)
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
            with torch.autocast(images.device.type, torch.bfloat16, enabled=recipe.bfloat16):
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


def sync(device: torch.device | str) -> None:
    """Wait until the device has finished its queued work (nothing to wait for on the CPU)."""
    device = torch.device(device)
    if device.type != "cpu" and hasattr(torch, device.type):
        getattr(torch, device.type).synchronize()


def time_to_accuracy(recipe: Recipe = FAST, seed: int = 0, device: str = "cpu", data=None) -> dict:
    """Build LeNet-5, train it with recipe on the training split, evaluate once at the end.

    data: mnist_split(device) if None. The images are laid out for the recipe before the clock
    starts. Returns the training seconds and the validation and test accuracies of the
    trained model.
    """
    train_x, train_y, valid_x, valid_y, test_x, test_y = data or mnist_split(device)
    train_x, valid_x, test_x = (laid_out(x, recipe) for x in (train_x, valid_x, test_x))
    torch.manual_seed(seed)
    model = LeNet5().to(device)
    sync(device)
    start = time.perf_counter()
    trained = train(model, train_x, train_y, recipe, seed)
    sync(device)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "valid_accuracy": evaluate(trained, valid_x, valid_y),
        "accuracy": evaluate(trained, test_x, test_y),
    }


# --- timing one change at a time (chapter 07, section "Make it fast") ----------------------


def timed_steps(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device | str,
    n_batches: int = 20,
    warmup: int = 3,
    autocast: torch.dtype | None = None,
    samples: int = 5,
) -> tuple[float, list[tuple[int, float]]]:
    """Train model with AdamW on warmup + n_batches of batches ((x, y) pairs, moved to device).

    The n_batches timed steps are split into `samples` runs of consecutive steps (as evenly as
    they go; at most one sample per step), each timed on its own. Returns (seconds of the
    warm-up steps, one (images, seconds) pair per sample). autocast: a dtype such as
    torch.bfloat16 for the forward pass, or None (float32).
    """
    if samples < 1 or n_batches < 1:
        raise ValueError(f"n_batches and samples must be at least 1, got {n_batches}, {samples}")
    samples = min(samples, n_batches)
    device = torch.device(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    # the steps that end a sample: 20 steps in 5 samples end 4, 8, 12, 16 and 20 steps after the
    # warm-up
    ends = {warmup + n_batches * (i + 1) // samples for i in range(samples)}
    timed = [] if warmup else [(0, 0.0)]  # the warm-up's entry, then one per sample
    images, start = 0, time.perf_counter()
    for step, (x, y) in enumerate(batches, start=1):
        x, y = x.to(device), y.to(device)
        with torch.autocast(device.type, dtype=autocast) if autocast else contextlib.nullcontext():
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        images += len(x)
        if step == warmup or step in ends:
            sync(device)  # wait for the queued work before reading the clock
            timed.append((images, time.perf_counter() - start))
            images, start = 0, time.perf_counter()
        if step == warmup + n_batches:
            return timed[0][1], timed[1:]
    raise ValueError(f"fewer than {warmup} + {n_batches} batches")


def images_per_second(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device | str,
    n_batches: int = 20,
    warmup: int = 3,
    autocast: torch.dtype | None = None,
    samples: int = 5,
) -> float:
    """Training throughput in images per second after warm-up steps: the median over the
    samples of timed_steps, so that one sample slowed by another program does not count.

    The clock is read only after sync(device): GPU work is queued, not done, when a call
    returns.
    """
    _, timed = timed_steps(model, batches, device, n_batches, warmup, autocast, samples)
    return statistics.median(images / seconds for images, seconds in timed)


@contextlib.contextmanager
def _no_tf32_hint() -> Iterator[None]:
    """Hold back Inductor's one-off hint that TF32 matrix multiplication is available but
    off (a warning or a log line on stderr, depending on the torch version): the course
    keeps float32 matmuls in full precision on purpose, so that results match the CPU's."""
    logger = logging.getLogger("torch._inductor")
    level = logger.level
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*TensorFloat32")
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


def compiled_speed(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device | str,
    n_batches: int = 6,
    warmup: int = 3,
    compile_fn: Callable[[nn.Module], nn.Module] = torch.compile,
) -> tuple[float, float]:
    """Compile model with compile_fn, then time it as images_per_second does.

    Returns (images per second after the warm-up, seconds of the warm-up steps): the first
    step pays for compiling the forward and backward passes. Matmul precision is left as it
    is (float32), and Inductor's hint about TF32 is held back.
    """
    with _no_tf32_hint():
        compiled = compile_fn(model)
        warmup_seconds, timed = timed_steps(compiled, batches, device, n_batches, warmup, None, 3)
    return statistics.median(images / seconds for images, seconds in timed), warmup_seconds
