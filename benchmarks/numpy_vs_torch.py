"""One training step of a 784-500-10 MLP in NumPy (float32) and in PyTorch, on the CPU.

Prints a markdown table of median step times for batch sizes 1 to 1024: NumPy, PyTorch on one
thread (as chapter 06 times it) and PyTorch with its default intra-op threads. The timed code is
chapter 06's, in
torchcourse.speed; `make bench` calls main() and adds the table to benchmarks/RESULTS.md.

    python benchmarks/numpy_vs_torch.py [--repeats 20] [--batch-sizes 1 16 256 1024]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch

from torchcourse import speed


def describe() -> str:
    """One line on what was measured and with how many threads."""
    return (
        f"Median time of one SGD training step (forward, backward, update) of a 784-500-10 ReLU "
        f"MLP on the CPU; NumPy {np.__version__} float32 by hand (its BLAS uses the threads it "
        f"chose at import), torch {torch.__version__} with nn and torch.optim on one thread, and "
        f"with its default {torch.get_num_threads()} threads. "
        "NumPy / torch > 1 means torch (one thread) is faster."
    )


def main(argv: list[str] | None = None) -> str:
    """Time the sweep, print the markdown table and return it.

    argv defaults to no arguments (not sys.argv), so that `make bench` can call main().
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed samples per cell")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=list(speed.BATCH_SIZES))
    args = parser.parse_args(argv if argv is not None else [])
    rows = speed.step_time_table(args.batch_sizes, repeats=args.repeats, default_threads=True)
    text = describe() + "\n\n" + speed.markdown_table(rows) + "\n"
    print(text)
    return text


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)
