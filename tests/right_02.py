"""Alternative correct answers for chapter 02, NumPy interop."""

import numpy as np
import torch


def _add_in_a_loop(a):
    for index in np.ndindex(a.shape):
        a[index] += 1


def _add_through_a_tensor(a):
    torch.from_numpy(a).add_(1)  # the tensor shares a's memory


def _augmented(a):
    a += 1
    return a


def _numpy_if_on_a_gpu(t):
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    return t.numpy()


RIGHT = {
    "02.ex1": [
        ("torch.as_tensor", lambda a: torch.as_tensor(a)),
        ("torch.asarray", lambda a: torch.asarray(a)),
        ("a view of from_numpy", lambda a: torch.from_numpy(a).view(a.shape)),
    ],
    "02.ex2": [
        ("from_numpy of a NumPy copy", lambda a: torch.from_numpy(a.copy())),
        ("clone of a shared tensor", lambda a: torch.from_numpy(a).clone()),
        ("torch.asarray with copy=True", lambda a: torch.asarray(a, copy=True)),
    ],
    "02.ex3": [
        ("torch.tensor with a dtype", lambda a: torch.tensor(a, dtype=torch.float32)),
        ("astype on the NumPy side", lambda a: torch.from_numpy(a.astype(np.float32))),
        ("as_tensor then .to", lambda a: torch.as_tensor(a).to(torch.float32)),
    ],
    "02.ex4": [
        ("a += 1, returning a", _augmented),
        ("index assignment", lambda a: a.__setitem__(..., a + 1)),
        ("a loop over every index", _add_in_a_loop),
        ("add_ on a shared tensor", _add_through_a_tensor),
    ],
    "02.ex5": [
        ("force=True", lambda t: t.numpy(force=True)),
        ("to('cpu')", lambda t: t.detach().to("cpu").numpy()),
        ("cpu first, then detach", lambda t: t.cpu().detach().numpy()),
        ("np.asarray of a CPU tensor", lambda t: np.asarray(t.detach().cpu())),
        ("cpu only when needed", _numpy_if_on_a_gpu),
    ],
}
