"""Checks for chapter 08, Distributed training with torch.distributed.

Every check starts a real gloo process group on 127.0.0.1 (torchcourse.distributed), runs the
learner's function in each rank and compares what the ranks did with what one process computes.
The functions named _on_rank_* run inside the ranks; everything else runs in the notebook.
"""

from __future__ import annotations

import math
import random

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from torchcourse.checks.core import Mismatch, exercise
from torchcourse.checks.doubles import RecordingClassifier
from torchcourse.checks.expect import as_number, expect_callable, expect_tensor
from torchcourse.distributed import RankError, run_group
from torchcourse.i18n import N_, _

TIMEOUT = 30.0  # seconds for one group to finish (an endless loop is stopped then)
EX1_WORLD = 3  # not 2, so that a hard-coded 2 shows


def _in_group(target, *args, world_size: int = 2):
    """Run target(*args) on world_size ranks; a rank's failure becomes the check's verdict."""
    try:
        return run_group(target, *args, world_size=world_size, timeout=TIMEOUT)
    except RankError as err:
        if err.error_type == "NotImplementedError":
            raise NotImplementedError(err.detail) from None
        if err.error_type == "RecursionError":
            raise RecursionError(err.detail) from None
        if err.error_type == "SystemExit":
            raise SystemExit(err.detail) from None
        raise Mismatch(str(err)) from None


# Exercise 1: average the gradients by hand --------------------------------------------


class _Net(nn.Module):
    """A small classifier with a frozen first layer (its parameters get no .grad)."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = nn.Linear(6, 6).requires_grad_(False)
        self.hidden = nn.Linear(6, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.hidden(torch.tanh(self.frozen(x)))))


def _ex1_model() -> _Net:
    torch.manual_seed(1)  # the same weights in every process
    return _Net()


def _ex1_batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(4)
    return torch.randn(12, 6, generator=generator), torch.randint(0, 3, (12,), generator=generator)


def _grads(model: nn.Module) -> dict[str, torch.Tensor | None]:
    return {
        name: None if p.grad is None else p.grad.detach().clone()
        for name, p in model.named_parameters()
    }


def _on_rank_ex1(answer) -> dict:
    """Backward on this rank's rows of the batch, then the learner's averaging."""
    rank, world = dist.get_rank(), dist.get_world_size()
    model = _ex1_model()
    x, y = _ex1_batch()
    rows = slice(rank * len(x) // world, (rank + 1) * len(x) // world)
    F.cross_entropy(model(x[rows]), y[rows]).backward()
    local = _grads(model)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    tensors = {name: p.grad for name, p in model.named_parameters()}
    answer(model)
    moved = [name for name, p in model.named_parameters() if not torch.equal(p, before[name])]
    rebound = [
        name
        for name, p in model.named_parameters()
        if tensors[name] is not None and p.grad is not tensors[name]
    ]
    return {"local": local, "grads": _grads(model), "moved": moved, "rebound": rebound}


def _same(a: torch.Tensor | None, b: torch.Tensor | None, atol: float = 1e-6) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return (
        isinstance(a, torch.Tensor)
        and a.shape == b.shape
        and bool(torch.allclose(a.detach().cpu().float(), b.float(), atol=atol))
    )


@exercise(
    "08.ex1",
    hints=[
        N_(
            "DDP's job is to make every rank's .grad the mean of the ranks' gradients. One "
            "collective adds a tensor up over all ranks and leaves the sum in that same tensor on "
            "each of them; what is left is a division."
        ),
        N_(
            "the collective works in place: it leaves the sum in the very tensor you hand it, "
            "so hand it the gradient tensor itself and keep changing that tensor, not a new "
            "one. Some parameters have no gradient at all, and the number of processes comes "
            "from the process group, never from a constant."
        ),
        N_(
            "for each `p` in `model.parameters()` with `p.grad is not None`: "
            "`dist.all_reduce(p.grad)`, then `p.grad /= dist.get_world_size()`."
        ),
    ],
)
def _average_gradients(answer):
    expect_callable(answer)
    model = _ex1_model()
    x, y = _ex1_batch()
    F.cross_entropy(model(x), y).backward()
    want = _grads(model)
    results = _in_group(_on_rank_ex1, answer, world_size=EX1_WORLD).results
    for rank, got in enumerate(results):
        if got["moved"]:
            raise Mismatch(
                _(
                    "on rank {rank} your function changed the parameter {name} itself: average "
                    "the gradients (.grad), leave the weights to the optimizer"
                ).format(rank=rank, name=got["moved"][0])
            )
    for name, expected in want.items():
        grads = [got["grads"][name] for got in results]
        if expected is None:
            if any(g is not None for g in grads):
                raise Mismatch(
                    _(
                        "the frozen parameter {name} has a gradient after your function: leave "
                        "parameters whose .grad is None alone"
                    ).format(name=name)
                )
            continue
        _explain_gradient(name, grads, [got["local"][name] for got in results], expected)
    for rank, got in enumerate(results):
        if got["rebound"]:
            raise Mismatch(
                _(
                    "on rank {rank} the parameter {name} holds a new .grad tensor after your "
                    "function: the values are right, but the statement asks you to change the "
                    "existing .grad tensors in place, as DDP does, not to assign new ones"
                ).format(rank=rank, name=got["rebound"][0]),
                hint=N_(
                    "`p.grad = ...` makes the parameter point to another tensor; code that "
                    "still holds the old one (DDP's buckets, a hook, an optimizer's state) "
                    "never sees the average. In-place operations change the tensor itself."
                ),
            )
    return _("every rank holds the gradient of the whole batch, as if one process had seen it.")


def _explain_gradient(name, grads, local, expected) -> None:
    """Name the mistake when the ranks' gradients of one parameter are not the average."""
    world = len(grads)
    if all(isinstance(g, torch.Tensor) for g in grads):
        if all(_same(g, own) for g, own in zip(grads, local)):
            raise Mismatch(
                _(
                    "every rank still holds its own gradient of {name}, computed from its own "
                    "rows only: the average over the ranks never reached .grad (a collective on "
                    "a copy leaves .grad as it was)"
                ).format(name=name),
                hint=N_(
                    "a collective changes the tensor it is given and nothing else: a copy, or "
                    "a tensor built from .grad, takes the sum while .grad stays as it was."
                ),
            )
        if world != 2 and all(_same(g, expected * world / 2, atol=1e-5) for g in grads):
            raise Mismatch(
                _(
                    "with {world} processes the gradient of {name} is {world}/2 times the "
                    "whole-batch gradient on every rank: the sum was divided by 2, not by the "
                    "number of processes; ask dist.get_world_size()"
                ).format(name=name, world=world),
                hint=N_(
                    "the same code runs on 2, 8 or 1000 processes: the number it divides by "
                    "must come from the process group it runs in, not from the example at hand."
                ),
            )
        if all(_same(g, expected * world, atol=1e-5) for g in grads):
            raise Mismatch(
                _(
                    "the gradient of {name} is {world} times the whole-batch gradient on every "
                    "rank: all_reduce adds the ranks' gradients up, and DDP divides the sum by "
                    "the world size"
                ).format(name=name, world=world),
                hint=N_(
                    "the collective leaves the sum of the ranks' tensors; DDP's gradient is "
                    "their mean, one more step on the same tensor."
                ),
            )
        if not all(_same(g, grads[0]) for g in grads[1:]):
            raise Mismatch(
                _(
                    "rank 0 and rank 1 hold different gradients of {name} after your function: "
                    "every rank must end with the same average, or the model copies drift apart"
                ).format(name=name),
                hint=N_(
                    "every rank runs the same function: a step done under `if rank == 0` (or "
                    "any rank) leaves the other ranks' gradients different."
                ),
            )
    for rank, g in enumerate(grads):
        expect_tensor(
            g,
            expected,
            _("rank {rank}'s gradient of {name}").format(rank=rank, name=name),
            atol=1e-6,
        )


# Exercise 2: shard the indices like DistributedSampler ---------------------------------

# (n, epoch, shuffle, seed): the calls each rank makes
_EX2_CASES = [
    (10, 0, False, 0),
    (10, 1, False, 0),
    (7, 0, False, 0),
    (7, 0, True, 0),
    (50, 0, True, 0),
    (50, 1, True, 0),
    (50, 0, True, 1),
]
_EX2_WORLD_OF_3 = [(10, 0, False, 0), (10, 0, True, 0), (11, 2, True, 3)]


def _index_list(value) -> list[int] | str:
    """The learner's indices as a list of ints, or the name of what came back instead."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 1 or value.is_floating_point() or value.is_complex():
            return _("a tensor of shape {shape} and dtype {dtype}").format(
                shape=tuple(value.shape), dtype=value.dtype
            )
        return [int(i) for i in value.tolist()]
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        return type(value).__name__
    items = list(value)
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in items):
        return _("a sequence holding {kinds}").format(
            kinds=", ".join(sorted({type(i).__name__ for i in items}))
        )
    return [int(i) for i in items]


def _on_rank_ex2(answer) -> dict:
    """Each rank shards for itself, its global random streams seeded differently (per rank)."""
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(100 + rank)
    random.seed(100 + rank)
    np.random.seed(100 + rank)
    before = _global_random_states()
    real = {
        case: [_index_list(answer(case[0], rank, world, *case[1:])) for _ in range(2)]
        for case in _EX2_CASES
    }
    after = _global_random_states()
    changed = [name for name in before if not _same_state(before[name], after[name])]
    simulated = {}
    if rank == 0:  # a world of 3 processes, each rank's share computed here
        simulated = {
            case: [_index_list(answer(case[0], r, 3, *case[1:])) for r in range(3)]
            for case in _EX2_WORLD_OF_3
        }
    return {"real": real, "simulated": simulated, "random_changed": changed}


def _global_random_states() -> dict:
    return {
        "torch": torch.get_rng_state(),
        "random": random.getstate(),
        "numpy": np.random.get_state(),
    }


def _same_state(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b))
    return a == b


def _describe_case(n, world, epoch, shuffle, seed) -> str:
    return _("n={n}, world_size={world}, epoch={epoch}, shuffle={shuffle}, seed={seed}").format(
        n=n, world=world, epoch=epoch, shuffle=shuffle, seed=seed
    )


def _check_shards(shards: list, n: int, where: str) -> None:
    """Equal lengths, indices in range, every index on some rank (so no overlap)."""
    for rank, shard in enumerate(shards):
        if isinstance(shard, str):
            raise Mismatch(
                _("for {where}, rank {rank} got {kind}: return a list of int indices").format(
                    where=where, rank=rank, kind=shard
                )
            )
    world = len(shards)
    size = math.ceil(n / world)
    lengths = [len(s) for s in shards]
    if len(set(lengths)) > 1:
        raise Mismatch(
            _(
                "for {where}, the ranks got {lengths} indices: every rank needs the same "
                "number ({size}), or they run different numbers of steps and the extra step "
                "waits forever for the others; pad by repeating indices from the start"
            ).format(where=where, lengths=lengths, size=size)
        )
    if lengths[0] != size:
        raise Mismatch(
            _(
                "for {where}, each rank got {got} indices, expected {size} (n / world_size "
                "rounded up, the last ones repeated from the start)"
            ).format(where=where, got=lengths[0], size=size)
        )
    owners: dict[int, list[int]] = {}
    for rank, shard in enumerate(shards):
        for index in shard:
            if not 0 <= index < n:
                raise Mismatch(
                    _("for {where}, rank {rank} got index {index}, outside 0..{last}").format(
                        where=where, rank=rank, index=index, last=n - 1
                    )
                )
            owners.setdefault(index, []).append(rank)
    missing = [i for i in range(n) if i not in owners]
    if missing:
        shared = [i for i, ranks in owners.items() if len(set(ranks)) > 1]
        if shared:
            raise Mismatch(
                _(
                    "for {where}, index {shared} is on ranks {ranks} while index {missing} is "
                    "on no rank: the shards overlap (did the ranks shuffle differently?)"
                ).format(
                    where=where,
                    shared=shared[0],
                    ranks=sorted(set(owners[shared[0]])),
                    missing=missing[0],
                )
            )
        raise Mismatch(
            _("for {where}, index {missing} is on no rank: every example must be seen").format(
                where=where, missing=missing[0]
            )
        )


def _in_order(shard: list[int], padding: int) -> bool:
    """Increasing, except for up to `padding` repeated indices at the end."""
    head = shard[: len(shard) - padding] if padding else shard
    return all(a < b for a, b in zip(head, head[1:]))


@exercise(
    "08.ex2",
    hints=[
        N_(
            "Every rank must compute the same global order of the n indices, then take its own "
            "share of it: no randomness that differs between processes, and a shuffle that "
            "changes with the epoch."
        ),
        N_(
            "a generator object of your own, seeded from both seed and epoch, gives every "
            "process the same permutation and leaves the global random state alone. Pad the "
            "order with its own first entries until it divides evenly, then deal it out to the "
            "ranks like cards."
        ),
        N_(
            "`order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + "
            "epoch)).tolist()` when shuffling, else `order = list(range(n))`; then `size = "
            "math.ceil(n / world_size)`, `order += order[:size * world_size - n]` and `return "
            "order[rank::world_size]`."
        ),
    ],
)
def _shard_indices(answer):
    expect_callable(answer)
    outcome = _in_group(_on_rank_ex2, answer)
    real = [r["real"] for r in outcome.results]
    world = len(real)
    for case in _EX2_CASES:
        n, epoch, shuffle, seed = case
        where = _describe_case(n, world, epoch, shuffle, seed)
        for rank in range(world):
            first, second = real[rank][case]
            if first != second:
                raise Mismatch(
                    _(
                        "for {where}, two calls on rank {rank} gave different indices: the "
                        "order must follow from seed and epoch alone, the same in every process"
                    ).format(where=where, rank=rank)
                )
        _check_shards([real[rank][case][0] for rank in range(world)], n, where)
    for case, shards in outcome.results[0]["simulated"].items():
        _check_shards(shards, case[0], _describe_case(case[0], 3, *case[1:]))
    _check_orders({case: [real[r][case][0] for r in range(world)] for case in _EX2_CASES})
    changed = outcome.results[0]["random_changed"]
    if changed:
        raise Mismatch(
            _(
                "shard_indices changed the process's global random state ({which}): seeding or "
                "drawing from a global generator (torch.manual_seed, random.seed, "
                "np.random.seed) resets the random stream the rest of training uses in every "
                "rank; draw from a generator of your own"
            ).format(which=", ".join(changed)),
            hint=N_(
                "the training around your function draws from the global generators too "
                "(dropout, augmentation, the model's initialisation): reseeding them makes that "
                "randomness repeat. A generator object of your own leaves them alone."
            ),
        )
    return _(
        "equal shards that cover every index, the same order in every process, reshuffled "
        "each epoch."
    )


def _check_orders(shards: dict) -> None:
    """Unshuffled means in order and fixed; shuffled means changing with epoch and seed."""
    for n in (10, 7):
        padding = math.ceil(n / 2) * 2 - n
        if not all(_in_order(s, padding) for s in shards[(n, 0, False, 0)]):
            raise Mismatch(
                _(
                    "with shuffle=False the indices of a rank should come in increasing order "
                    "(n={n})"
                ).format(n=n)
            )
    if shards[(10, 0, False, 0)] != shards[(10, 1, False, 0)]:
        raise Mismatch(_("with shuffle=False the indices changed with the epoch"))
    epoch0, epoch1, seed1 = (
        shards[(50, 0, True, 0)],
        shards[(50, 1, True, 0)],
        shards[(50, 0, True, 1)],
    )
    if _in_order(epoch0[0], 0):
        raise Mismatch(_("with shuffle=True rank 0's indices come in increasing order: shuffle"))
    if epoch0 == epoch1:
        raise Mismatch(
            _(
                "with shuffle=True every rank gets the same indices in the same order in epoch 0 "
                "and epoch 1: the shuffle must change with the epoch (what set_epoch is for)"
            )
        )
    if sorted(epoch0[0]) == sorted(epoch1[0]):
        raise Mismatch(
            _(
                "rank 0 sees the same examples in epoch 0 and epoch 1, only reordered: shuffle "
                "all n indices each epoch, then split them"
            )
        )
    if epoch0 == seed1:
        raise Mismatch(_("with shuffle=True the seed changes nothing: seed=0 and seed=1 agree"))


# Exercise 3: evaluate on every rank, one global accuracy --------------------------------


def _ex3_data(sizes: tuple[int, ...], correct: tuple[int, ...]):
    """Images and labels for all shards; shard r holds exactly correct[r] right answers."""
    generator = torch.Generator().manual_seed(5)
    images = torch.randn(sum(sizes), 1, 28, 28, generator=generator)
    with torch.no_grad():
        predicted = RecordingClassifier().eval()(images).argmax(1)
    labels = (predicted + 1) % 10
    start = 0
    for size, right in zip(sizes, correct):
        rows = start + torch.randperm(size, generator=generator)[:right]
        labels[rows] = predicted[rows]
        start += size
    return images, labels


def _on_rank_ex3(answer, sizes, correct) -> dict:
    rank = dist.get_rank()
    images, labels = _ex3_data(sizes, correct)
    start = sum(sizes[:rank])
    rows = slice(start, start + sizes[rank])
    model = RecordingClassifier().train()
    result = answer(model, images[rows].clone(), labels[rows].clone())
    if isinstance(result, torch.Tensor):
        result = result.detach().cpu()
    return {"result": result, "calls": model.calls}


_EX3_CASES = [((15, 8), (12, 2)), ((5, 12), (1, 9))]


@exercise(
    "08.ex3",
    hints=[
        N_(
            "An accuracy is a ratio: the global one is all correct predictions over all "
            "images. Averaging the ranks' accuracies is only right when the shards are equally "
            "big, and here they are not."
        ),
        N_(
            "Each rank counts its own correct predictions and its own images, with the model in "
            "evaluation mode and nothing recorded; one collective then adds both counts up over all"
            " ranks, so that every rank can divide the totals."
        ),
        N_(
            "`model.eval()`; under `with torch.no_grad():` take `correct = "
            "(model(images).argmax(1) == labels).sum()`; then `counts = torch.stack([correct, "
            "torch.tensor(len(labels))])`, `dist.all_reduce(counts)` and `return (counts[0] / "
            "counts[1]).item()`."
        ),
    ],
)
def _evaluate(answer):
    expect_callable(answer)
    for sizes, correct in _EX3_CASES:
        want = sum(correct) / sum(sizes)
        own = [c / s for c, s in zip(correct, sizes)]
        results = _in_group(_on_rank_ex3, answer, sizes, correct).results
        for rank, got in enumerate(results):
            _check_calls(rank, got["calls"], sizes[rank])
        values = [
            as_number(got["result"], _("rank {rank}'s result").format(rank=rank))
            for rank, got in enumerate(results)
        ]
        _explain_accuracy(values, want, own, sizes, correct)
    return _("correct counts added over the ranks: the exact accuracy, on every rank.")


def _check_calls(rank: int, calls: list, size: int) -> None:
    if not calls:
        raise Mismatch(_("on rank {rank} the model was never called").format(rank=rank))
    if any(call[1] for call in calls):
        raise Mismatch(
            _(
                "on rank {rank} the model ran in training mode, so dropout changed its answers: "
                "switch it to evaluation mode first"
            ).format(rank=rank)
        )
    if any(call[2] for call in calls):
        raise Mismatch(
            _(
                "on rank {rank} the forward pass recorded a graph for autograd: nothing is "
                "trained here, so run it under torch.no_grad()"
            ).format(rank=rank)
        )
    seen = sum(call[0] for call in calls)
    if seen != size:
        raise Mismatch(
            _("on rank {rank} the model saw {seen} images, but that rank holds {size}").format(
                rank=rank, seen=seen, size=size
            )
        )


def _explain_accuracy(values, want, own, sizes, correct) -> None:
    close = [abs(v - want) < 1e-6 for v in values]
    if all(close):
        return
    total, right = sum(sizes), sum(correct)
    if all(abs(v - o) < 1e-6 for v, o in zip(values, own)):
        raise Mismatch(
            _(
                "each rank returned the accuracy of its own shard ({values}): the ranks must "
                "combine their counts so that each returns the accuracy over all {total} images"
            ).format(values=", ".join(f"{v:.3f}" for v in values), total=total)
        )
    mean = sum(own) / len(own)
    if all(abs(v - mean) < 1e-6 for v in values):
        raise Mismatch(
            _(
                "every rank returned {mean:.4f}, the mean of the ranks' accuracies, but the "
                "shards hold {sizes} images: the accuracy over all images is {right}/{total} = "
                "{want:.4f}; add up counts, not accuracies"
            ).format(mean=mean, sizes=list(sizes), right=right, total=total, want=want)
        )
    if any(abs(v - right) < 1e-6 for v in values):
        raise Mismatch(
            _("returned {right}, the number of correct predictions: divide by {total}").format(
                right=right, total=total
            )
        )
    if all(abs(v - 100 * want) < 1e-4 for v in values):
        raise Mismatch(
            _("returned {value:.2f}, a percentage: return the fraction").format(value=values[0])
        )
    if len({round(v, 9) for v in values}) > 1:
        raise Mismatch(
            _(
                "the ranks returned different values ({values}): every rank should return the "
                "same global accuracy"
            ).format(values=", ".join(f"{v:.4f}" for v in values))
        )
    raise Mismatch(
        _(
            "every rank returned {got:.4f}, expected {want:.4f} ({right} correct of {total} "
            "images, shards of {sizes})"
        ).format(got=values[0], want=want, right=right, total=total, sizes=list(sizes))
    )


# Exercise 4: a ring all-reduce from send and recv ---------------------------------------


def _ex4_input(rank: int, shape: tuple[int, ...]) -> torch.Tensor:
    generator = torch.Generator().manual_seed(20 + rank)
    return torch.randn(shape, generator=generator)


def _on_rank_ex4(answer, shape) -> dict:
    tensor = _ex4_input(dist.get_rank(), shape)
    returned = answer(tensor)
    return {
        "tensor": tensor,
        "returned": returned.detach().clone() if isinstance(returned, torch.Tensor) else None,
    }


_EX4_CASES = [(2, (3, 4)), (3, (10,)), (3, (2, 6))]


@exercise(
    "08.ex4",
    hints=[
        N_(
            "Cut the flattened tensor into world_size chunks. In a first round of "
            "world_size - 1 steps each rank passes one chunk to its right neighbour and adds "
            "the chunk coming from its left one; in a second round of world_size - 1 steps the "
            "finished chunks travel around the ring and are copied."
        ),
        N_(
            "Split the flat tensor into world_size chunks that are views, so that writing into a "
            "chunk writes into the tensor. In the first round each rank sends one chunk to its "
            "neighbour and adds the chunk it receives into its own; in the second round the "
            "finished chunks travel round the ring the same way. Send without blocking, then "
            "receive."
        ),
        N_(
            "with `rank, world = dist.get_rank(), dist.get_world_size()` and `chunks = "
            "tensor.view(-1).tensor_split(world)`: first, for `s` in `range(world - 1)`: "
            "`buffer = torch.empty_like(chunks[(rank - s - 1) % world])`, `request = "
            "dist.isend(chunks[(rank - s) % world], (rank + 1) % world)`, `dist.recv(buffer, "
            "(rank - 1) % world)`, `request.wait()`, `chunks[(rank - s - 1) % "
            "world].add_(buffer)`; then, for `s` in `range(world - 1)`: `request = "
            "dist.isend(chunks[(rank + 1 - s) % world], (rank + 1) % world)`, "
            "`dist.recv(chunks[(rank - s) % world], (rank - 1) % world)`, `request.wait()`."
        ),
    ],
)
def _ring_all_reduce(answer):
    expect_callable(answer)
    for world, shape in _EX4_CASES:
        inputs = [_ex4_input(rank, shape) for rank in range(world)]
        want = torch.stack(inputs).sum(0)
        outcome = _in_group(_on_rank_ex4, answer, shape, world_size=world)
        for rank, calls in enumerate(outcome.collectives):
            if calls:
                raise Mismatch(
                    _(
                        "rank {rank} called dist.{name}: build the sum from point-to-point "
                        "sends and receives only"
                    ).format(rank=rank, name=calls[0])
                )
        for rank, got in enumerate(outcome.results):
            _explain_ring(rank, world, got, inputs[rank], want)
        _check_volume(outcome.sent, world, want.numel())
    return _(
        "the sum on every rank, each rank sending 2(N-1)/N of the tensor: a real ring all-reduce."
    )


def _explain_ring(rank: int, world: int, got: dict, before: torch.Tensor, want) -> None:
    tensor, returned = got["tensor"], got["returned"]
    what = _("rank {rank}'s tensor ({world} ranks, shape {shape})").format(
        rank=rank, world=world, shape=tuple(want.shape)
    )
    if _same(tensor, want, atol=1e-5):
        return
    if _same(tensor, before) and returned is not None and _same(returned, want, atol=1e-5):
        raise Mismatch(
            _(
                "{what} is unchanged and your function returned the sum instead: like "
                "dist.all_reduce, write the sum into the tensor it was given"
            ).format(what=what)
        )
    if _same(tensor, before):
        raise Mismatch(_("{what} is unchanged: the sum must end up in it").format(what=what))
    if _same(tensor, want / world, atol=1e-5):
        raise Mismatch(
            _("{what} holds the average of the ranks' tensors: all_reduce sums").format(what=what)
        )
    chunks = list(zip(tensor.view(-1).tensor_split(world), want.view(-1).tensor_split(world)))
    if any(_same(a, b, atol=1e-5) for a, b in chunks):
        raise Mismatch(
            _(
                "only part of {what} holds the sum: after the first round each rank has one "
                "finished chunk, and the second round must pass every finished chunk to all ranks"
            ).format(what=what)
        )
    expect_tensor(tensor, want, what)


def _check_volume(sent: list[int], world: int, numel: int) -> None:
    """A ring sends 2(world - 1) chunks per rank; sending whole tensors costs more."""
    bound = 2 * (world - 1) * math.ceil(numel / world)
    for rank, elements in enumerate(sent):
        if elements > bound:
            raise Mismatch(
                _(
                    "rank {rank} sent {sent} numbers for a tensor of {numel} with {world} ranks, "
                    "{ratio:.2f} times its size; a ring all-reduce sends only 2(N-1)/N = "
                    "{ring:.2f} times (one chunk per step)"
                ).format(
                    rank=rank,
                    sent=elements,
                    numel=numel,
                    world=world,
                    ratio=elements / numel,
                    ring=2 * (world - 1) / world,
                )
            )
