"""benchmarks/pooling_trials.py: the rewrites it times are the same pooling as LeNet-5's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "pooling_trials.py"
spec = importlib.util.spec_from_file_location("pooling_trials", PATH)
trials = importlib.util.module_from_spec(spec)
spec.loader.exec_module(trials)


def tied_activations(dtype: torch.dtype) -> torch.Tensor:
    """conv1-like outputs (channels_last) with many ties: flat regions and repeated values."""
    generator = torch.Generator().manual_seed(0)
    x = torch.round(torch.randn(4, 6, 28, 28, generator=generator) * 2) / 2
    x[..., :8, :8] = 0.25  # a flat background: four equal values in every window
    x[..., 8, 9] = x[..., 9, 8] = 3.0  # two maxima on a diagonal
    return x.to(dtype).contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("name", sorted(trials.EXACT))
def test_each_rewrite_gives_max_pool2d_values_and_gradients(name, dtype):
    if "oneDNN" in name and not torch.backends.mkldnn.is_available():
        pytest.skip("this build of PyTorch has no oneDNN")
    assert trials.exact(trials.EXACT[name], tied_activations(dtype))


def test_the_check_fails_for_a_different_pooling():
    x = tied_activations(torch.float32)
    assert not trials.exact(trials.subsample, x)

    def last_maximum(t: torch.Tensor) -> torch.Tensor:
        """The same values, but ties send the gradient to the last maximum of a window."""
        flip = (-2, -1)
        return torch.flip(torch.nn.functional.max_pool2d(torch.flip(t, flip), 2), flip)

    assert torch.equal(last_maximum(x), torch.nn.functional.max_pool2d(x, 2))
    assert not trials.exact(last_maximum, x)
