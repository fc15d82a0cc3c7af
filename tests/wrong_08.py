"""Typical mistakes in chapter 08, Distributed training with torch.distributed."""

import math
import random

import numpy as np
import torch
import torch.distributed as dist

TENSOR_RESULTS: set[str] = set()


# 08.ex1: averaging gradients


def _sums(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)


def _divides_by_2(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= 2


def _rebinds_grad(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad = p.grad / dist.get_world_size()


def _averages_a_copy(model):
    for p in model.parameters():
        if p.grad is not None:
            grad = p.grad.clone()
            dist.all_reduce(grad)
            grad /= dist.get_world_size()


def _only_rank_0(model):
    if dist.get_rank() == 0:
        for p in model.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= dist.get_world_size()


def _takes_the_step_too(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()
            with torch.no_grad():
                p -= 0.1 * p.grad


def _divides_on_rank_0_only(model):
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            if dist.get_rank() == 0:
                p.grad /= dist.get_world_size()


def _forgets_frozen_parameters(model):
    for p in model.parameters():
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


def _gives_frozen_parameters_a_gradient(model):
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()


# 08.ex2: sharding indices


def _pad_and_split(order, n, rank, world_size):
    size = math.ceil(n / world_size)
    order = order + order[: size * world_size - n]
    return order[rank::world_size]


def _no_epoch(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    return _pad_and_split(order, n, rank, world_size)


def _seeds_the_global_generator(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    torch.manual_seed(seed + epoch)
    order = torch.randperm(n).tolist() if shuffle else list(range(n))
    return _pad_and_split(order, n, rank, world_size)


def _seeds_numpy_globally(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    np.random.seed(seed + epoch)
    order = np.random.permutation(n).tolist() if shuffle else list(range(n))
    return _pad_and_split(order, n, rank, world_size)


def _unseeded(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    order = torch.randperm(n).tolist() if shuffle else list(range(n))
    return _pad_and_split(order, n, rank, world_size)


def _seeded_per_rank(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    generator = torch.Generator().manual_seed(seed + epoch + 1000 * rank)
    order = torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))
    return _pad_and_split(order, n, rank, world_size)


def _ordered(n, epoch, shuffle, seed):
    generator = torch.Generator().manual_seed(seed + epoch)
    return torch.randperm(n, generator=generator).tolist() if shuffle else list(range(n))


def _no_padding(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    return _ordered(n, epoch, shuffle, seed)[rank::world_size]


def _drops_the_rest(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    size = n // world_size
    return _ordered(n, epoch, shuffle, seed)[rank * size : (rank + 1) * size]


def _shuffles_its_own_shard(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    shard = _pad_and_split(list(range(n)), n, rank, world_size)
    if shuffle:
        random.Random(seed + epoch).shuffle(shard)
    return shard


def _ignores_the_seed(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    return _pad_and_split(_ordered(n, epoch, shuffle, 0), n, rank, world_size)


def _two_ranks_only(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    return _pad_and_split(_ordered(n, epoch, shuffle, seed), n, rank, 2)


def _always_shuffles(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    return _pad_and_split(_ordered(n, epoch, True, seed), n, rank, world_size)


# 08.ex3: distributed evaluation


def _local_counts(model, images, labels):
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(1) == labels).sum()


def _mean_of_accuracies(model, images, labels):
    accuracy = _local_counts(model, images, labels).float() / len(labels)
    dist.all_reduce(accuracy)
    return accuracy.item() / dist.get_world_size()


def _own_accuracy(model, images, labels):
    return _local_counts(model, images, labels).item() / len(labels)


def _returns_the_count(model, images, labels):
    correct = _local_counts(model, images, labels)
    dist.all_reduce(correct)
    return correct.item()


def _percent(model, images, labels):
    counts = torch.stack([_local_counts(model, images, labels), torch.tensor(len(labels))])
    dist.all_reduce(counts)
    return 100 * counts[0].item() / counts[1].item()


def _train_mode(model, images, labels):
    with torch.no_grad():
        correct = (model(images).argmax(1) == labels).sum()
    counts = torch.stack([correct, torch.tensor(len(labels))])
    dist.all_reduce(counts)
    return (counts[0] / counts[1]).item()


def _records_a_graph(model, images, labels):
    model.eval()
    correct = (model(images).argmax(1) == labels).sum()
    counts = torch.stack([correct, torch.tensor(len(labels))])
    dist.all_reduce(counts)
    return (counts[0] / counts[1]).item()


def _reduces_on_rank_0_only(model, images, labels):
    counts = torch.stack([_local_counts(model, images, labels), torch.tensor(len(labels))])
    if dist.get_rank() == 0:
        dist.all_reduce(counts)
    return (counts[0] / counts[1]).item()


def _assumes_equal_shards(model, images, labels):
    correct = _local_counts(model, images, labels)
    dist.all_reduce(correct)
    return correct.item() / (len(labels) * dist.get_world_size())


# 08.ex4: ring all-reduce


def _uses_all_reduce(tensor):
    dist.all_reduce(tensor)


def _everyone_sends_first(tensor):
    rank, world = dist.get_rank(), dist.get_world_size()
    incoming = torch.empty_like(tensor)
    dist.send(tensor, (rank + 1) % world)
    dist.recv(incoming, (rank - 1) % world)
    tensor += incoming


def _sends_to_everyone(tensor):
    rank, world = dist.get_rank(), dist.get_world_size()
    total = tensor.clone()
    requests = [dist.isend(tensor, other) for other in range(world) if other != rank]
    for other in range(world):
        if other != rank:
            incoming = torch.empty_like(tensor)
            dist.recv(incoming, other)
            total += incoming
    for request in requests:
        request.wait()
    tensor.copy_(total)


def _reduce_scatter(tensor, rank, world):
    chunks = tensor.view(-1).tensor_split(world)
    right, left = (rank + 1) % world, (rank - 1) % world
    for step in range(world - 1):
        incoming = torch.empty_like(chunks[(rank - step - 1) % world])
        request = dist.isend(chunks[(rank - step) % world], right)
        dist.recv(incoming, left)
        request.wait()
        chunks[(rank - step - 1) % world].add_(incoming)
    return chunks


def _no_all_gather(tensor):
    _reduce_scatter(tensor, dist.get_rank(), dist.get_world_size())


def _ring(tensor):
    rank, world = dist.get_rank(), dist.get_world_size()
    chunks = _reduce_scatter(tensor, rank, world)
    for step in range(world - 1):
        request = dist.isend(chunks[(rank + 1 - step) % world], (rank + 1) % world)
        dist.recv(chunks[(rank - step) % world], (rank - 1) % world)
        request.wait()


def _returns_the_sum(tensor):
    result = tensor.clone()
    _ring(result)
    return result


def _averages(tensor):
    _ring(tensor)
    tensor /= dist.get_world_size()


WRONG = {
    "08.ex1": [
        ("sums instead of averaging", _sums, "3 times the whole-batch gradient", "their mean"),
        ("averages a copy", _averages_a_copy, "still holds its own gradient", "nothing else"),
        ("divides by a hard-coded 2", _divides_by_2, "divided by 2, not by the number", "2, 8"),
        ("rebinds p.grad", _rebinds_grad, "holds a new .grad tensor", "point to another"),
        ("only rank 0 reduces", _only_rank_0, "never joined the all_reduce"),
        ("takes the optimizer's step too", _takes_the_step_too, "changed the parameter"),
        (
            "divides on rank 0 only",
            _divides_on_rank_0_only,
            "hold different gradients",
            "every rank runs the same function",
        ),
        ("forgets frozen parameters", _forgets_frozen_parameters, "all_reduce raised"),
        (
            "gives frozen parameters a gradient",
            _gives_frozen_parameters_a_gradient,
            "the frozen parameter frozen.weight has a gradient",
        ),
    ],
    "08.ex2": [
        ("forgets the epoch", _no_epoch, "the shuffle must change with the epoch"),
        ("unseeded shuffle", _unseeded, "two calls on rank 0 gave different indices"),
        ("a seed per rank", _seeded_per_rank, "the shards overlap"),
        ("no padding", _no_padding, "the ranks got [4, 3] indices"),
        ("drops the rest", _drops_the_rest, "each rank got 3 indices, expected 4"),
        ("shuffles its own shard", _shuffles_its_own_shard, "the same examples in epoch 0"),
        ("ignores the seed", _ignores_the_seed, "the seed changes nothing"),
        ("two ranks hard-coded", _two_ranks_only, "world_size=3"),
        ("always shuffles", _always_shuffles, "with shuffle=False"),
        (
            "torch.manual_seed(seed + epoch)",
            _seeds_the_global_generator,
            "changed the process's global random state (torch)",
            "A generator object of your own",
        ),
        (
            "np.random.seed(seed + epoch)",
            _seeds_numpy_globally,
            "global random state (numpy)",
            "A generator object of your own",
        ),
    ],
    "08.ex3": [
        ("mean of accuracies", _mean_of_accuracies, "the mean of the ranks' accuracies"),
        ("own shard only", _own_accuracy, "the accuracy of its own shard"),
        ("returns the count", _returns_the_count, "the number of correct predictions"),
        ("percent", _percent, "a percentage"),
        ("train mode", _train_mode, "training mode"),
        ("records a graph", _records_a_graph, "torch.no_grad()"),
        ("reduces on rank 0 only", _reduces_on_rank_0_only, "rank 1 never joined"),
        ("assumes equal shards", _assumes_equal_shards, "the ranks returned different values"),
    ],
    "08.ex4": [
        ("uses all_reduce", _uses_all_reduce, "called dist.all_reduce"),
        ("everyone sends first", _everyone_sends_first, "stuck waiting for each other"),
        ("sends to everyone", _sends_to_everyone, "a ring all-reduce sends only"),
        ("no all-gather round", _no_all_gather, "only part of"),
        ("returns the sum", _returns_the_sum, "returned the sum instead"),
        ("averages", _averages, "holds the average"),
    ],
}
