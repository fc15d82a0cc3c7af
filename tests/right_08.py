"""Alternative correct answers for chapter 08, Distributed training with torch.distributed."""

import math
import random

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler

# 08.ex1: average the gradients


def _one_flat_all_reduce(model):
    """What DDP's buckets do: one collective for all gradients."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for grad, chunk in zip(grads, flat.split([g.numel() for g in grads])):
        grad.copy_(chunk.view_as(grad))


def _async_then_divide_first(model):
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    for grad in grads:
        grad.div_(dist.get_world_size())
    for work in [dist.all_reduce(grad, async_op=True) for grad in grads]:
        work.wait()


def _all_gather_and_mean(model):
    for p in model.parameters():
        if p.grad is None:
            continue
        everyone = [torch.empty_like(p.grad) for _ in range(dist.get_world_size())]
        dist.all_gather(everyone, p.grad)
        p.grad.copy_(torch.stack(everyone).mean(0))  # in place, as the statement asks


def _torch_div_out(model):
    world = float(dist.get_world_size())
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            torch.div(p.grad, world, out=p.grad)


# 08.ex2: shard the indices


def _distributed_sampler(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    sampler = DistributedSampler(
        range(n), num_replicas=world_size, rank=rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return list(sampler)


def _numpy_contiguous_blocks(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    order = np.arange(n)
    if shuffle:
        order = np.random.RandomState(seed + epoch).permutation(n)
    size = math.ceil(n / world_size)
    order = np.resize(order, size * world_size)  # repeats from the start
    return order[rank * size : (rank + 1) * size]


def _fork_rng_and_manual_seed(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    """Seeds the global generator, but inside fork_rng, which puts its state back."""
    order = list(range(n))
    if shuffle:
        with torch.random.fork_rng():
            torch.manual_seed(seed + epoch)
            order = torch.randperm(n).tolist()
    order += order[: math.ceil(n / world_size) * world_size - n]
    return order[rank::world_size]


def _python_random_tensor(n, rank, world_size, epoch=0, shuffle=True, seed=0):
    order = list(range(n))
    if shuffle:
        random.Random(f"{seed}-{epoch}").shuffle(order)
    total = math.ceil(n / world_size) * world_size
    padded = [order[i % n] for i in range(total)]
    return torch.tensor(padded[rank::world_size])


# 08.ex3: distributed evaluation


def _two_reductions_tensor_result(model, images, labels):
    model.eval()
    with torch.inference_mode():
        predictions = model(images).argmax(dim=1)
    correct = torch.tensor(float((predictions == labels).sum()))
    total = torch.tensor(float(labels.numel()))
    dist.all_reduce(correct)
    dist.all_reduce(total)
    return correct / total


def _gather_objects(model, images, labels):
    model.train(False)
    with torch.no_grad():
        correct = int((model(images).argmax(1) == labels).sum())
    counts = [None] * dist.get_world_size()
    dist.all_gather_object(counts, (correct, len(labels)))
    return sum(c for c, _ in counts) / sum(n for _, n in counts)


def _all_gather_counts(model, images, labels):
    model.eval()
    with torch.no_grad():
        mine = torch.tensor([(model(images).argmax(1) == labels).sum().item(), len(labels)])
    everyone = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    correct, total = torch.stack(everyone).sum(0).tolist()
    return correct / total


# 08.ex4: ring all-reduce


def _parity_ordered_blocking(tensor):
    """Blocking send and recv only: even ranks send first, odd ranks receive first."""
    rank, world = dist.get_rank(), dist.get_world_size()
    right, left = (rank + 1) % world, (rank - 1) % world
    chunks = list(tensor.view(-1).tensor_split(world))

    def exchange(outgoing, incoming):
        if rank % 2 == 0:
            dist.send(outgoing, right)
            dist.recv(incoming, left)
        else:
            dist.recv(incoming, left)
            dist.send(outgoing, right)

    for step in range(world - 1):
        buffer = torch.empty_like(chunks[(rank - step - 1) % world])
        exchange(chunks[(rank - step) % world], buffer)
        chunks[(rank - step - 1) % world] += buffer
    for step in range(world - 1):
        exchange(chunks[(rank + 1 - step) % world], chunks[(rank - step) % world])


def _batched_p2p(tensor):
    """batch_isend_irecv with P2POp, chunks made with torch.chunk."""
    rank, world = dist.get_rank(), dist.get_world_size()
    right, left = (rank + 1) % world, (rank - 1) % world
    chunks = torch.chunk(tensor.view(-1), world)

    def exchange(outgoing, incoming):
        ops = [dist.P2POp(dist.isend, outgoing, right), dist.P2POp(dist.irecv, incoming, left)]
        for request in dist.batch_isend_irecv(ops):
            request.wait()

    for step in range(world - 1):
        buffer = torch.zeros_like(chunks[(rank - step - 1) % world])
        exchange(chunks[(rank - step) % world], buffer)
        chunks[(rank - step - 1) % world].add_(buffer)
    for step in range(world - 1):
        exchange(chunks[(rank + 1 - step) % world], chunks[(rank - step) % world])


RIGHT = {
    "08.ex1": [
        ("one flat all_reduce", _one_flat_all_reduce),
        ("async, divided first", _async_then_divide_first),
        ("all_gather and mean", _all_gather_and_mean),
        ("torch.div with out=", _torch_div_out),
    ],
    "08.ex2": [
        ("DistributedSampler itself", _distributed_sampler),
        ("NumPy, contiguous blocks", _numpy_contiguous_blocks),
        ("Python random, tensor result", _python_random_tensor),
        ("manual_seed inside fork_rng", _fork_rng_and_manual_seed),
    ],
    "08.ex3": [
        ("two reductions, tensor result", _two_reductions_tensor_result),
        ("all_gather_object of counts", _gather_objects),
        ("all_gather of counts", _all_gather_counts),
    ],
    "08.ex4": [
        ("blocking, ordered by parity", _parity_ordered_blocking),
        ("batch_isend_irecv", _batched_p2p),
    ],
}
