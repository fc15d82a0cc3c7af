"""The sixth round of trials (RESULTS.md): can conv1's max pooling, a quarter of a training
step, be made cheaper, and how much would the step gain if it cost nothing at all?

Each variant is LeNet-5 with another way to pool conv1's output (6 channels, channels_last,
bfloat16 under autocast), with ReLU after pooling (the same function). The exact ones must
give what LeNet-5's F.max_pool2d(F.relu(x), 2) gives, bit for bit, in values and in the input
gradient (ties included); the script checks that on conv1's output for a real batch. The
bounds are not LeNet-5: they replace pooling by taking every other row and column, which
costs almost nothing, to show the most that any pooling kernel could save.

Each variant trains with lenet.train and FAST on the training split; after warm-up steps, a
round times `--steps` steps. The rounds go through the variants in turn, and each variant's
figure is the median of its rounds, in ms per step. Prints one JSON line.

    python benchmarks/pooling_trials.py [--threads 2] [--steps 150] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from torchcourse import lenet

Pool = Callable[[torch.Tensor], torch.Tensor]


def max_pool2d(x: torch.Tensor) -> torch.Tensor:
    """What LeNet-5 does: PyTorch's max pooling (scalar code for 6 channels_last channels)."""
    return F.max_pool2d(x, 2)


def onednn(x: torch.Tensor) -> torch.Tensor:
    """oneDNN's pooling primitive, through a oneDNN tensor and back."""
    return torch.mkldnn_max_pool2d(x.to_mkldnn(), [2, 2], [2, 2]).to_dense()


def batch_as_channels(x: torch.Tensor) -> torch.Tensor:
    """The batch moved into the channels (1, N*C, H, W), where the kernel vectorises."""
    n, c, h, w = x.shape
    grouped = x.permute(2, 3, 0, 1).reshape(1, h, w, n * c).permute(0, 3, 1, 2)
    pooled = F.max_pool2d(grouped, 2)
    return pooled.permute(0, 2, 3, 1).reshape(h // 2, w // 2, n, c).permute(2, 3, 0, 1)


class ElementwiseMaxPool(torch.autograd.Function):
    """2 x 2 max pooling of even-sized inputs from elementwise maxima, with max_pool2d's
    gradient: each output's gradient goes to the first maximum of its window, row by row."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        x00, x01 = x[..., 0::2, 0::2], x[..., 0::2, 1::2]
        x10, x11 = x[..., 1::2, 0::2], x[..., 1::2, 1::2]
        upper, lower = torch.maximum(x00, x01), torch.maximum(x10, x11)
        ctx.save_for_backward(upper >= lower, x00 >= x01, x10 >= x11)
        ctx.layout = (x.shape, x.stride())
        return torch.maximum(upper, lower)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        top, left_upper, left_lower = ctx.saved_tensors
        grad_in = grad.new_empty_strided(*ctx.layout)
        upper = grad * top
        lower = grad - upper
        to_00, to_10 = upper * left_upper, lower * left_lower
        grad_in[..., 0::2, 0::2] = to_00
        grad_in[..., 0::2, 1::2] = upper - to_00
        grad_in[..., 1::2, 0::2] = to_10
        grad_in[..., 1::2, 1::2] = lower - to_10
        return grad_in


def subsample(x: torch.Tensor) -> torch.Tensor:
    """Not pooling: every other row and column (a lower bound on any pooling's cost)."""
    return x[..., ::2, ::2]


EXACT: dict[str, Pool] = {
    "F.max_pool2d before ReLU": max_pool2d,
    "oneDNN pooling (to_mkldnn)": onednn,
    "elementwise maxima (autograd.Function)": ElementwiseMaxPool.apply,
    "batch as channels": batch_as_channels,
}
BOUNDS: dict[str, tuple[Pool, Pool]] = {
    "bound: conv1's pooling costs nothing": (subsample, max_pool2d),
    "bound: both poolings cost nothing": (subsample, subsample),
}


class PooledLeNet5(lenet.LeNet5):
    """LeNet-5 with its two poolings chosen (ReLU after pooling, the same function)."""

    def __init__(self, pool1: Pool, pool2: Pool = max_pool2d) -> None:
        super().__init__()
        self.pool1, self.pool2 = pool1, pool2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.pool1(self.conv1(x)))
        x = F.relu(self.pool2(self.conv2(x)))
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


def exact(pool: Pool, x: torch.Tensor) -> bool:
    """Whether relu(pool(x)) equals max_pool2d(relu(x)) in values and in x's gradient."""
    results = []
    for fn in (lambda x: max_pool2d(F.relu(x)), lambda x: F.relu(pool(x))):
        leaf = x.detach().clone().requires_grad_()
        out = fn(leaf)
        out.backward(torch.linspace(-1, 1, out.numel()).view(out.shape).to(out.dtype))
        results.append((out.detach(), leaf.grad))
    (out_a, grad_a), (out_b, grad_b) = results
    return torch.equal(out_a, out_b) and torch.equal(grad_a, grad_b)


def ms_per_step(model: lenet.LeNet5, data, steps: int, warmup: int = 20) -> float:
    """Milliseconds per step of lenet.train with FAST, timed over `steps` steps after
    `warmup` steps (a run of warmup + steps steps, so that the schedule is a real run's)."""
    images, labels = data
    per_epoch = -(-len(images) // lenet.FAST.batch_size)
    recipe = lenet.FAST.with_(epochs=(warmup + steps) / per_epoch)
    stamps = {}

    def on_step(step: int, loss: torch.Tensor) -> None:
        if step in (warmup, warmup + steps):
            stamps[step] = time.perf_counter()

    lenet.train(model, images, labels, recipe, seed=0, on_step=on_step)
    return (stamps[warmup + steps] - stamps[warmup]) / steps * 1e3


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if min(args.threads, args.steps, args.rounds) < 1:
        parser.error("--threads, --steps and --rounds must be at least 1")
    torch.set_num_threads(args.threads)
    images, labels = lenet.mnist_split()[:2]
    data = (lenet.laid_out(images, lenet.FAST), labels)

    torch.manual_seed(0)
    probe = lenet.LeNet5().to(memory_format=torch.channels_last)
    with torch.autocast("cpu", torch.bfloat16), torch.no_grad():
        conv1_out = probe.conv1(data[0][: lenet.FAST.batch_size])
    variants: dict[str, Callable[[], lenet.LeNet5]] = {"LeNet-5 (FAST)": lenet.LeNet5}
    for name, pool in EXACT.items():
        variants[name] = lambda pool=pool: PooledLeNet5(pool)
    for name, pools in BOUNDS.items():
        variants[name] = lambda pools=pools: PooledLeNet5(*pools)
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, build in variants.items():
            torch.manual_seed(0)  # the same initial weights for every variant
            times[name].append(ms_per_step(build(), data, args.steps))
    result = {
        "threads": args.threads,
        "steps": args.steps,
        "rounds": args.rounds,
        "exact": {name: exact(pool, conv1_out) for name, pool in EXACT.items()},
        "ms_per_step": {name: statistics.median(t) for name, t in times.items()},
        "all_ms_per_step": {name: [round(v, 2) for v in t] for name, t in times.items()},
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
