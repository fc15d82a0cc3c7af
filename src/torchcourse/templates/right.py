"""Alternative correct answers in chapter __ID__, __TITLE__: each must pass its check."""

import torch

RIGHT = {
    "__ID__.ex1": [
        ("adds x to itself", lambda x: x + x),
        ("torch.mul", lambda x: torch.mul(x, 2)),
        ("a copy doubled in place", lambda x: x.clone().mul_(2)),
    ],
}
