"""Where a training step of the fast recipe spends its time, and how many FLOPs it does.

Trains LeNet-5 with torchcourse.lenet.FAST for a few warm-up steps, then profiles `--steps`
more steps of the same loop (lenet.train: batches sliced from whole-dataset tensors, autocast,
AdamW, the one-cycle schedule) with torch.profiler. Each operator's self CPU time goes to one
group: an operator inside the optimizer's step or zero_grad counts as optimizer; otherwise
its own name decides (convolution, max pooling, ...), and if that says nothing, its nearest
caller's name does. The time the step takes outside any operator is Python and dispatch.
The FLOPs per image are counted by torch.utils.flop_counter on one forward and backward pass.
Prints one JSON line.

    python benchmarks/profile_step.py [--threads 2] [--steps 100]
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from torchcourse import lenet

# (group, substrings of operator names), tried in this order on an operator's own name
GROUPS = [
    ("convolutions", ("convolution", "conv2d")),
    ("max pooling", ("max_pool",)),
    ("linear layers (addmm, mm)", ("addmm", "aten::mm", "aten::linear")),
    ("ReLU", ("relu", "clamp_min", "threshold_backward")),
    ("loss (log_softmax, nll_loss, label smoothing)", ("softmax", "nll_loss", "cross_entropy")),
    ("bfloat16 casts (autocast)", ("aten::to", "_to_copy", "aten::copy_")),
    ("data: shuffle and slice batches", ("aten::index", "randperm")),
]
OPTIMIZER = "optimizer (fused AdamW step, zero_grad)"
OTHER = "other operators (fill, sum, autograd bookkeeping)"
PYTHON = "Python and dispatch between operators"


def group_of(event) -> str:
    """The group an operator's self time counts in (see the module's docstring)."""
    chain = []
    while event is not None:
        chain.append(event.name)
        event = event.cpu_parent
    if any(name.startswith("Optimizer.") for name in chain):
        return OPTIMIZER
    for name in chain:
        for group, parts in GROUPS:
            if any(part in name for part in parts):
                return group
    return OTHER


def count_flops(batch: int = 64) -> tuple[float, dict[str, float]]:
    """FLOPs of one LeNet-5 training image, forward and backward, in total and by operator.

    FlopCounterMode counts the matrix products and convolutions (2 FLOPs per multiply-add),
    including conv1's weight gradient but not its input gradient, which autograd does not
    compute; bias additions, ReLU, pooling, the loss and the optimizer are left out.
    """
    model = lenet.LeNet5()
    x = torch.randn(batch, 1, 28, 28)
    y = torch.randint(0, lenet.CLASSES, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    by_operator = {str(op): n / batch for op, n in counter.get_flop_counts()["Global"].items()}
    return counter.get_total_flops() / batch, by_operator


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = lenet.FAST
    train_x, train_y, *_ = lenet.mnist_split()
    train_x = lenet.laid_out(train_x, recipe)
    per_epoch = -(-len(train_x) // recipe.batch_size)
    # a run long enough for warm-up + steps, so that the schedule is that of a real run
    run = recipe.with_(epochs=(args.warmup + args.steps) / per_epoch)
    state = {"started": None, "profiler": None}

    def on_step(step: int, loss: torch.Tensor) -> None:
        if step == args.warmup:
            state["profiler"] = profile(activities=[ProfilerActivity.CPU])
            state["profiler"].__enter__()
            state["started"] = time.perf_counter()
        elif step == args.warmup + args.steps:
            state["seconds"] = time.perf_counter() - state["started"]
            state["profiler"].__exit__(None, None, None)

    torch.manual_seed(0)
    lenet.train(lenet.LeNet5(), train_x, train_y, run, seed=0, on_step=on_step)
    seconds = state["seconds"]
    groups: dict[str, float] = {}
    for event in state["profiler"].events():
        if event.device_type.name != "CPU":
            continue
        group = group_of(event)
        groups[group] = groups.get(group, 0.0) + event.self_cpu_time_total / 1e6
    groups[PYTHON] = max(0.0, seconds - sum(groups.values()))
    result = {
        "threads": args.threads,
        "steps": args.steps,
        "batch_size": recipe.batch_size,
        "step_ms": seconds / args.steps * 1e3,
        "groups_ms": {
            k: v / args.steps * 1e3 for k, v in sorted(groups.items(), key=lambda kv: -kv[1])
        },
    }
    result["flops_per_image"], result["flops_by_operator"] = count_flops()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
