"""One training step of the same MLP in NumPy and in PyTorch, timed on the CPU.

The one implementation behind chapter 06's speed section and `make bench`: a 784-500-10 ReLU
network with softmax cross-entropy and plain SGD, written by hand in NumPy (float32) and with
nn, autograd and torch.optim in PyTorch. Timings are medians of repeated samples, in seconds
(the table in milliseconds); everything runs on the CPU, whatever GPU the machine has, and
torch on one thread unless asked otherwise (the setting is restored afterwards).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

SIZES = (784, 500, 10)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LR = 0.01


# --- the step in NumPy ----------------------------------------------------------------------


def numpy_mlp(sizes: Sequence[int] = SIZES, seed: int = 0) -> dict[str, np.ndarray]:
    """float32 weights (in, out) and biases, uniform in +-1/sqrt(fan_in) as nn.Linear does."""
    rng = np.random.default_rng(seed)
    params = {}
    for layer, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        bound = 1 / math.sqrt(fan_in)
        params[f"w{layer}"] = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        params[f"b{layer}"] = rng.uniform(-bound, bound, fan_out).astype(np.float32)
    return params


def numpy_step(
    params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray, lr: float = LR
) -> float:
    """One SGD step of the two-layer ReLU MLP, backward pass by hand; returns the loss."""
    w1, b1, w2, b2 = params["w1"], params["b1"], params["w2"], params["b2"]
    n = len(x)
    rows = np.arange(n)
    # forward
    hidden_in = x @ w1 + b1
    hidden = np.maximum(hidden_in, 0)
    logits = hidden @ w2 + b2
    logits -= logits.max(axis=1, keepdims=True)  # stable softmax
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[rows, labels]).mean()
    # backward: d(mean cross-entropy)/d(logits) = (softmax - one_hot) / n
    d_logits = probs
    d_logits[rows, labels] -= 1
    d_logits /= n
    # np.dot, not @, for the two weight gradients: with a batch of one, `@` of a transposed
    # (n, 1) view and a (1, m) row takes a slow path of NumPy's matmul (about 8x slower)
    d_w2 = np.dot(hidden.T, d_logits)
    d_b2 = d_logits.sum(axis=0)
    d_hidden = d_logits @ w2.T
    d_hidden[hidden_in <= 0] = 0  # ReLU lets the gradient through where its input was > 0
    d_w1 = np.dot(x.T, d_hidden)
    d_b1 = d_hidden.sum(axis=0)
    # SGD update, in place
    w1 -= lr * d_w1
    b1 -= lr * d_b1
    w2 -= lr * d_w2
    b2 -= lr * d_b2
    return float(loss)


# --- the step in PyTorch --------------------------------------------------------------------


def torch_mlp(sizes: Sequence[int] = SIZES, seed: int = 0) -> nn.Sequential:
    """The same network as an nn.Sequential on the CPU (float32)."""
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def torch_step(
    model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """One training step: zero the gradients, forward, loss, backward, update."""
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    optimizer.step()
    return loss.detach()


# --- timing ---------------------------------------------------------------------------------


def batch_data(batch: int, n_in: int = SIZES[0], n_out: int = SIZES[-1], seed: int = 0):
    """A batch of inputs in [0, 1) and integer labels, as NumPy arrays (float32, int64)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, n_in, generator=generator)
    labels = torch.randint(0, n_out, (batch,), generator=generator)
    return x.numpy(), labels.numpy()


def median_seconds(
    fn: Callable[[], object], repeats: int = 20, warmup: int = 3, min_sample_s: float = 2e-3
) -> float:
    """Median seconds of one call of fn over `repeats` samples, after `warmup` calls.

    A sample times enough consecutive calls to last about min_sample_s, so that very short
    steps are not lost in the clock's resolution; its time is divided by that count.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    for _ in range(max(warmup, 1)):
        start = time.perf_counter()
        fn()
        once = time.perf_counter() - start
    number = max(1, math.ceil(min_sample_s / max(once, 1e-9)))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def numpy_step_time(batch: int, repeats: int = 20, warmup: int = 3) -> float:
    """Median seconds of one NumPy float32 training step at this batch size."""
    params = numpy_mlp()
    x, labels = batch_data(batch)
    return median_seconds(lambda: numpy_step(params, x, labels), repeats, warmup)


def torch_step_time(
    batch: int, repeats: int = 20, warmup: int = 3, threads: int | None = None
) -> float:
    """Median seconds of one PyTorch training step on the CPU at this batch size.

    threads: torch's intra-op threads for the measurement (None keeps the current setting,
    which defaults to one per physical core); the setting is restored afterwards.
    """
    model = torch_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    x, labels = (torch.from_numpy(a) for a in batch_data(batch))
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return median_seconds(lambda: torch_step(model, optimizer, x, labels), repeats, warmup)
    finally:
        torch.set_num_threads(before)


def tiny_op_seconds(repeats: int = 20) -> dict[str, float]:
    """Median seconds of adding two 1-element arrays: the fixed cost of one operation."""
    a_np, b_np = np.ones(1, np.float32), np.ones(1, np.float32)
    a_t, b_t = torch.ones(1), torch.ones(1)
    return {
        "numpy": median_seconds(lambda: a_np + b_np, repeats, min_sample_s=5e-3),
        "torch": median_seconds(lambda: a_t + b_t, repeats, min_sample_s=5e-3),
    }


def step_time_table(
    batch_sizes: Iterable[int] = BATCH_SIZES,
    repeats: int = 20,
    torch_threads: int | None = 1,
    default_threads: bool = False,
) -> list[dict]:
    """One row per batch size: median step times in ms for NumPy and torch, and their ratio.

    Keys: batch, numpy_ms, torch_ms (torch on `torch_threads` intra-op threads, one by default,
    None for the current setting), numpy_over_torch (> 1: torch is faster), and with
    default_threads also torch_default_threads_ms (torch with its current thread setting).
    NumPy's BLAS uses the threads it chose when NumPy was loaded.
    """
    rows = []
    for batch in batch_sizes:
        numpy_s = numpy_step_time(batch, repeats)
        torch_s = torch_step_time(batch, repeats, threads=torch_threads)
        row = {
            "batch": int(batch),
            "numpy_ms": numpy_s * 1e3,
            "torch_ms": torch_s * 1e3,
            "numpy_over_torch": numpy_s / torch_s,
        }
        if default_threads:
            row["torch_default_threads_ms"] = torch_step_time(batch, repeats) * 1e3
        rows.append(row)
    return rows


HEADERS = {
    "batch": "batch",
    "numpy_ms": "NumPy (ms)",
    "torch_ms": "torch (ms)",
    "torch_default_threads_ms": "torch, default threads (ms)",
    "numpy_over_torch": "NumPy / torch",
}


def markdown_table(rows: list[dict]) -> str:
    """The rows of step_time_table as a GitHub markdown table (times to 3 significant digits)."""
    if not rows:
        return ""
    keys = [key for key in HEADERS if key in rows[0]]
    keys += [key for key in rows[0] if key not in keys]
    lines = [
        "| " + " | ".join(HEADERS.get(key, key) for key in keys) + " |",
        "|" + "|".join("---:" for _ in keys) + "|",
    ]
    for row in rows:
        cells = []
        for key in keys:
            value = row[key]
            if key == "numpy_over_torch":
                cells.append(f"{value:.2f}")
            elif isinstance(value, float):
                cells.append(f"{value:.3g}")
            else:
                cells.append(str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
