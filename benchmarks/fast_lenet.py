"""Benchmark (a): chapter 07's fast CPU recipe, LeNet-5 on the MNIST training split.

One seed per process, so that no run inherits another's warm caches or thread pools. The data
is loaded, normalised, split (55,000 training, 5,000 validation images) and laid out in the
recipe's memory order before the clock starts; the clock covers building the optimizer,
compiling (if the recipe compiles) and every training step, and stops before the one
evaluation at the end, on the validation and the test set. Prints one JSON line.

    python benchmarks/fast_lenet.py --seed 0 [--threads 2] [--device cpu] [--set epochs=2.5 ...]

--set changes fields of torchcourse.lenet.FAST, to compare recipes on validation accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import torch

from torchcourse import lenet


def recipe_with(changes: list[str]) -> lenet.Recipe:
    """lenet.FAST with `field=value` changes, each value converted to the field's type."""
    types = {f.name: type(getattr(lenet.FAST, f.name)) for f in dataclasses.fields(lenet.Recipe)}
    fields = {}
    for change in changes:
        name, _, value = change.partition("=")
        if name not in types:
            raise SystemExit(f"--set {change}: Recipe has no field {name!r}")
        kind = types[name]
        fields[name] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return lenet.FAST.with_(**fields)


def images_trained(n: int, recipe: lenet.Recipe) -> int:
    """How many images lenet.train feeds the model: round(epochs x steps per epoch) batches."""
    per_epoch = -(-n // recipe.batch_size)
    full, rest = divmod(max(1, round(recipe.epochs * per_epoch)), per_epoch)
    return full * n + rest * recipe.batch_size


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    recipe = recipe_with(args.set)
    data = lenet.mnist_split(args.device)
    result = lenet.time_to_accuracy(recipe, seed=args.seed, device=args.device, data=data)
    result.update(
        images=images_trained(len(data[0]), recipe),
        seed=args.seed,
        threads=args.threads,
        recipe=dataclasses.asdict(recipe),
        finished=time.time(),
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
