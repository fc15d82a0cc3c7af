"""Stand-ins that several chapters' checks hand to a learner's function."""

from __future__ import annotations

import torch
from torch import nn


class RecordingClassifier(nn.Module):
    """A fixed linear classifier of 28x28 images, with dropout, that records how it is called.

    `calls` holds (batch size, training mode, grad mode) per forward pass, so a check can tell
    whether an evaluation switched to eval mode, switched off autograd and saw every example.
    """

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(11)
        self.linear = nn.Linear(784, 10)
        with torch.no_grad():
            self.linear.weight.copy_(torch.randn(10, 784, generator=generator) / 28)
            self.linear.bias.zero_()
        self.dropout = nn.Dropout(0.9)
        self.calls: list[tuple[int, bool, bool]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append((len(x), self.training, torch.is_grad_enabled()))
        return self.dropout(self.linear(x.flatten(1)))
