"""`make bench`: LeNet-5 to 99% MNIST accuracy on the CPU, and the NumPy-vs-PyTorch step times.

Runs, each in its own process: (a) chapter 07's fast recipe (benchmarks/fast_lenet.py) for
three seeds, trained on the 55,000-image training split and evaluated once at the end on the
validation and the test set, and (b) the pytorch/examples mnist recipe
(benchmarks/pytorch_example.py) until 99% validation accuracy or a time cap, then the test set
once; then calls benchmarks/numpy_vs_torch.py's main(). Prints the results and writes them,
with the machine, torch version, load average and date, to benchmarks/RESULTS.md.

    python benchmarks/bench.py [--seeds 0 1 2] [--cap 600] [--threads 2] [--skip-example]
        [--keep-numpy-table]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import io
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TARGET = 0.99
NUMPY_HEADING = "## NumPy versus PyTorch: one training step"
GOAL_SECONDS = 60.0  # the course's design: >= 99.0% test accuracy in under 60 s

# What was tried on the way to the recipe in torchcourse.lenet.FAST (kept in RESULTS.md).
NOTES = """\
## How the fast recipe was chosen

Every choice was made on validation accuracy: 5,000 of the 60,000 training images held out
with a seeded generator (`torchcourse.lenet.split_indices`), the model trained on the other
55,000; the test set was evaluated only for the table above. Each variant below was trained
with seeds 0, 1 and 2 (`python benchmarks/fast_lenet.py --seed S --threads 1 --set ...`, one
thread because other jobs shared the two cores; the thread count changes the rounding, so the
same seed can differ by a few images with two threads). The starting point, LeNet-5 with
AdamW (weight decay 0.01), batch 128, a one-cycle schedule with max_lr 0.01 and 20% warm-up,
label smoothing 0.1 and channels_last, gave these validation accuracies (seeds 0 / 1 / 2, then
the mean):

| Variant | Validation accuracy | Mean |
|---|---|---|
| 1 epoch | 98.82 / 98.44 / 98.76% | 98.67% |
| 1.25 epochs | 98.96 / 98.68 / 98.90% | 98.85% |
| 1.5 epochs | 99.04 / 98.72 / 98.86% | 98.87% |
| 1.5 epochs, no label smoothing | 98.78 / 98.52 / 98.84% | 98.71% |
| 1.5 epochs, max_lr 0.005 | 98.80 / 98.62 / 98.74% | 98.72% |
| 1.5 epochs, max_lr 0.02 | 98.98 / 98.64 / 98.94% | 98.85% |
| 1.5 epochs, batch 256 | 98.84 / 98.48 / 98.76% | 98.69% |
| 1.5 epochs, bfloat16 autocast | 99.14 / 98.76 / 98.92% | 98.94% |
| 2 epochs | 99.10 / 98.82 / 99.08% | 99.00% |
| 2 epochs, max_lr 0.02 | 99.14 / 98.92 / 99.00% | 99.02% |
| 2 epochs, bfloat16 autocast | 99.06 / 98.96 / 99.16% | 99.06% |
| 2.5 epochs | 99.20 / 98.90 / 99.14% | 99.08% |
| 3 epochs | 99.12 / 99.02 / 99.20% | 99.11% |

The rule: the fewest epochs whose mean validation accuracy reaches 99.0%, then the fastest
variant of that length. Two epochs qualify; with 5,000 validation images one seed's accuracy
has a standard error of about 0.14%, so the three two-epoch variants are equally accurate
within noise, and bfloat16 autocast is the fastest:
this CPU has AVX-512 BF16 instructions, and autocast raised the training throughput by about
a third in chapter 07's measurements. On a CPU without such instructions it may not pay:
measure before you copy the recipe. The MNIST test images are on average easier than the
held-out training images, so test accuracies run a little above validation accuracies.

Earlier measurements on this machine, kept for what they say about speed: torch.compile
(inductor, CPU) took 104 s for the first compiled training step on the busy machine, and the
compiled step then ran at about half the eager speed (1,200 versus 2,700 images/s at batch
128), so FAST does not compile. With other processes busy on the two cores, two intra-op
threads ran up to ten times slower than one (the threads wait for each other at every
operation); on a quiet machine two threads are about 1.4 times faster than one. Check the load
average above.
"""


def machine() -> str:
    """CPU model and core count, from /proc/cpuinfo where there is one."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def run(script: str, *args: str) -> dict:
    """Run a benchmark script in its own process; return the JSON of its last output line."""
    command = [sys.executable, str(HERE / script), *args]
    print(f"$ {Path(sys.executable).name} benchmarks/{script} {' '.join(args)}", flush=True)
    lines = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("#"):
                print("  " + line.rstrip(), flush=True)
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"benchmarks/{script} failed with exit status {proc.returncode}")
    return json.loads(lines[-1])


def kept_numpy_table() -> str:
    """The NumPy-versus-PyTorch section of the current RESULTS.md, without its heading."""
    text = RESULTS.read_text() if RESULTS.is_file() else ""
    _, found, table = text.partition(NUMPY_HEADING + "\n")
    if not found:
        raise SystemExit(f"--keep-numpy-table: {RESULTS.name} has no {NUMPY_HEADING!r} section")
    return table.strip() + "\n"


def numpy_vs_torch() -> str:
    """Call benchmarks/numpy_vs_torch.py's main() and return its table (what it prints)."""
    path = HERE / "numpy_vs_torch.py"
    if not path.is_file():
        return "_benchmarks/numpy_vs_torch.py does not exist yet: no table._\n"
    spec = importlib.util.spec_from_file_location("numpy_vs_torch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        returned = module.main()
    text = returned if isinstance(returned, str) and returned.strip() else printed.getvalue()
    print(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cap", type=float, default=600.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--skip-example", action="store_true", help="skip (b), the slow pytorch/examples run"
    )
    parser.add_argument(
        "--keep-numpy-table",
        action="store_true",
        help="keep the NumPy-versus-PyTorch section of RESULTS.md instead of measuring it again",
    )
    args = parser.parse_args(argv)
    started, load_before = dt.datetime.now(), load()
    print(f"torch {torch.__version__} on {machine()}; load average {load_before}")

    fast = [
        run("fast_lenet.py", "--seed", str(s), "--threads", str(args.threads)) for s in args.seeds
    ]
    for r in fast:
        print(
            f"  (a) seed {r['seed']}: {r['seconds']:.1f} s of training, validation accuracy "
            f"{r['valid_accuracy']:.2%}, test accuracy {r['accuracy']:.2%}"
        )
    fast_median = statistics.median(r["seconds"] for r in fast)
    all_reached = all(r["accuracy"] >= TARGET for r in fast)

    example = None
    if not args.skip_example:
        example = run("pytorch_example.py", "--cap", str(args.cap), "--threads", str(args.threads))
        if example["seconds"] is None:
            print(f"  (b) did not reach 99% validation accuracy within {args.cap:.0f} s")
        else:
            print(
                f"  (b) 99% validation accuracy after {example['seconds']:.1f} s of training, "
                f"test accuracy {example['accuracy']:.2%}"
            )

    table = kept_numpy_table() if args.keep_numpy_table else numpy_vs_torch()
    load_after = load()

    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (benchmarks/bench.py); rerun it to refresh this file.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M}",
        f"- machine: {machine()}",
        f"- torch {torch.__version__}, intra-op threads per run: {args.threads}",
        f"- load average (1 / 5 / 15 min): {load_before} before, {load_after} after",
        "",
        "## LeNet-5 to 99% MNIST accuracy on the CPU",
        "",
        "Training time only: data loading before the clock, evaluation excluded. Both recipes "
        "train on the same 55,000 of the 60,000 training images (`torchcourse.lenet."
        "split_indices`) and evaluate on the other 5,000 (validation) and, once, at the end, "
        "on the 10,000 test images.",
        "",
        "| Recipe | Seed | Training time | Validation accuracy | Test accuracy |",
        "|---|---|---|---|---|",
    ]
    for r in fast:
        lines.append(
            f"| (a) chapter 07, LeNet-5 fast recipe, fixed length | {r['seed']} "
            f"| {r['seconds']:.1f} s | {r['valid_accuracy']:.2%} | {r['accuracy']:.2%} |"
        )
    if example is not None:
        shown = (
            f"{example['seconds']:.1f} s"
            if example["seconds"] is not None
            else f"not reached in {example['trained']:.0f} s"
        )
        lines.append(
            f"| (b) pytorch/examples mnist, to 99% validation accuracy | {example['seed']} "
            f"| {shown} | {example['valid_accuracy']:.2%} | {example['accuracy']:.2%} |"
        )
    tests = [r["accuracy"] for r in fast]
    spread = statistics.stdev(tests) if len(tests) > 1 else 0.0
    lines += [
        "",
        f"(a) over {len(fast)} seeds: median training time **{fast_median:.1f} s**; test "
        f"accuracy {statistics.mean(tests):.2%} on average (standard deviation "
        f"{spread:.2%}), from {min(tests):.2%} to {max(tests):.2%}.",
    ]
    if example is not None and example["seconds"] is not None:
        ratio = example["seconds"] / fast_median
        lines += [
            "",
            f"(b) **{example['seconds']:.1f} s** to 99% validation accuracy; ratio (b) / (a): "
            f"**{ratio:.1f}x**.",
        ]
    elif example is not None:
        lines += [
            "",
            f"(b) did not reach 99% validation accuracy within its cap, so the ratio is more "
            f"than {example['trained'] / fast_median:.1f}x.",
        ]
    goal = "met" if all_reached and fast_median <= GOAL_SECONDS else "not met"
    threads = ""
    if args.threads != 2:
        plural = "" if args.threads == 1 else "s"
        threads = f" (measured with {args.threads} intra-op thread{plural} per run)"
    lines += [
        "",
        f"Goal: >= 99.0% test accuracy for every seed in <= {GOAL_SECONDS:.0f} s of training "
        f"on 2 CPU cores: **{goal}**{threads}.",
        "",
    ]
    recipe = fast[0]["recipe"]
    lines += [
        "Recipe (a), `torchcourse.lenet.FAST`: "
        + ", ".join(f"{k}={v}" for k, v in recipe.items())
        + ".",
        "",
    ]
    if example is not None:
        lines += [
            "Recipe (b), validation accuracy every quarter epoch (epoch, training seconds, "
            "accuracy): "
            + "; ".join(
                f"{c['epoch']}, {c['seconds']} s, {c['valid_accuracy']:.2%}"
                for c in example["curve"]
            )
            + ".",
            "",
        ]
    lines += [
        NOTES,
        NUMPY_HEADING,
        "",
        table.rstrip(),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines[lines.index("## LeNet-5 to 99% MNIST accuracy on the CPU") :]))
    print(f"wrote {RESULTS.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
