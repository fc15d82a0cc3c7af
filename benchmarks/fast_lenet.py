"""Benchmark (a): chapter 07's fastest CPU recipe, LeNet-5 to 99% MNIST test accuracy.

One seed per process, so that no run inherits another's warm caches or thread pools. The data
is loaded and normalised before the clock starts; the clock covers building the optimizer,
compiling (if the recipe compiles) and every training step, and stops before the one evaluation
on the test set at the end. Prints one JSON line.

    python benchmarks/fast_lenet.py --seed 0 [--threads 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from torchcourse import lenet


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = (*lenet.mnist_tensors(True, args.device), *lenet.mnist_tensors(False, args.device))
    result = lenet.time_to_accuracy(lenet.FAST, seed=args.seed, device=args.device, data=data)
    result.update(
        seed=args.seed, threads=args.threads, recipe=lenet.FAST.__dict__, finished=time.time()
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
