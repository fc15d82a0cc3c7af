"""The fifth and sixth rounds of recipe trials (RESULTS.md): schedule, optimizer and
initialisation knobs that torchcourse.lenet.Recipe does not expose, tried on the validation
split.

The loop is lenet.train's (the same data order, autocast, channels_last and fused AdamW), with
OneCycleLR's other arguments, NAdam, a weight average (EMA) and He initialisation added.
One seed per process, one intra-op thread; prints one JSON line with the validation accuracy.

    python benchmarks/schedule_trials.py --seed 0 --set epochs=2 final_div_factor=100
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from torchcourse import lenet

DEFAULTS = {
    "epochs": 2.0,
    "max_lr": 0.02,
    "warmup": 0.3,
    "div_factor": 25.0,  # the first learning rate is max_lr / div_factor
    "final_div_factor": 1e4,  # the last is that first one / final_div_factor
    "anneal_strategy": "cos",
    "cycle_momentum": 1,  # AdamW's beta1 cycles between 0.85 and 0.95 (OneCycleLR's default)
    "optimizer": "adamw",  # or "nadam" (decoupled weight decay)
    "ema": 0.0,  # decay of a weight average that is evaluated instead; 0: none
    "init": "default",  # or "kaiming", or "kaiming-zero-output" (see initialise)
}


def initialise(model: lenet.LeNet5, how: str) -> None:
    """PyTorch's default initialisation, or He's (kaiming_normal_ for ReLU) with zero biases
    for every layer but fc3; "kaiming-zero-output" also starts fc3 at zero."""
    if how == "default":
        return
    if how not in ("kaiming", "kaiming-zero-output"):
        raise SystemExit(f"init={how}: use default, kaiming or kaiming-zero-output")
    for layer in (model.conv1, model.conv2, model.fc1, model.fc2):
        torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
        torch.nn.init.zeros_(layer.bias)
    if how == "kaiming-zero-output":
        torch.nn.init.zeros_(model.fc3.weight)
        torch.nn.init.zeros_(model.fc3.bias)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", nargs="*", default=[], metavar="KNOB=VALUE")
    args = parser.parse_args(argv)
    knobs = dict(DEFAULTS)
    for change in args.set:
        name, _, value = change.partition("=")
        knobs[name] = type(DEFAULTS[name])(value)
    torch.set_num_threads(1)
    recipe = lenet.FAST.with_(epochs=knobs["epochs"], max_lr=knobs["max_lr"])
    train_x, train_y, valid_x, valid_y, _, _ = lenet.mnist_split()
    train_x, valid_x = (lenet.laid_out(x, recipe) for x in (train_x, valid_x))
    torch.manual_seed(args.seed)
    model = lenet.LeNet5()
    initialise(model, knobs["init"])
    model = model.to(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)
    if knobs["optimizer"] == "nadam":
        optimizer = torch.optim.NAdam(
            model.parameters(), lr=recipe.max_lr, weight_decay=0.01, decoupled_weight_decay=True
        )
    else:
        optimizer = lenet.make_optimizer(model, recipe)
    total = round(recipe.epochs * -(-len(train_x) // recipe.batch_size))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=recipe.max_lr,
        total_steps=total,
        pct_start=knobs["warmup"],
        div_factor=knobs["div_factor"],
        final_div_factor=knobs["final_div_factor"],
        anneal_strategy=knobs["anneal_strategy"],
        cycle_momentum=bool(knobs["cycle_momentum"]),
    )
    average = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(knobs["ema"]))
    step = 0
    while step < total:
        for x, y in lenet.batches(train_x, train_y, recipe.batch_size, generator):
            with torch.autocast("cpu", torch.bfloat16):
                loss = F.cross_entropy(model(x), y, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if knobs["ema"]:
                average.update_parameters(model)
            step += 1
            if step == total:
                break
    evaluated = average.module if knobs["ema"] else model
    result = {
        "knobs": knobs,
        "seed": args.seed,
        "valid_accuracy": lenet.evaluate(evaluated, valid_x, valid_y),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
