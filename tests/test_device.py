"""Device choice: any accelerator PyTorch knows, forced or found, and one clear line if absent."""

from __future__ import annotations

import warnings

import pytest
import torch

from torchcourse import device as device_module
from torchcourse.device import full_precision_convolutions, lesson_device, pick_device
from torchcourse.errors import CourseError

ACCELERATORS = ["cuda", "mps", "xpu"]


def _machine_with(monkeypatch, found: str | None):
    """Pretend this machine's accelerator is `found` (or that it has none)."""
    monkeypatch.setattr(
        device_module, "accelerator", lambda: torch.device(found) if found else None
    )
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1 if found else 0)


@pytest.mark.parametrize("name", ACCELERATORS)
def test_the_accelerator_is_picked_when_there_is_one(monkeypatch, name):
    monkeypatch.delenv("TORCHCOURSE_DEVICE", raising=False)
    _machine_with(monkeypatch, name)
    assert pick_device() == torch.device(name)


def test_the_cpu_without_an_accelerator(monkeypatch):
    monkeypatch.delenv("TORCHCOURSE_DEVICE", raising=False)
    _machine_with(monkeypatch, None)
    assert pick_device() == torch.device("cpu")


@pytest.mark.parametrize("name", [*ACCELERATORS, "cuda:0", "MPS", " xpu "])
def test_a_forced_accelerator_that_is_there(monkeypatch, name):
    _machine_with(monkeypatch, name.strip().lower().split(":")[0])
    monkeypatch.setenv("TORCHCOURSE_DEVICE", name)
    assert pick_device() == torch.device(name.strip().lower())


@pytest.mark.parametrize("name", ACCELERATORS)
@pytest.mark.parametrize("found", [None, "cuda", "mps"])
def test_a_forced_accelerator_that_is_missing_is_one_clear_line(monkeypatch, name, found):
    if name == found:
        return
    _machine_with(monkeypatch, found)
    monkeypatch.setenv("TORCHCOURSE_DEVICE", name)
    with pytest.raises(CourseError) as info:
        pick_device()
    message = str(info.value)
    assert "\n" not in message and f"asks for {name}" in message
    assert ("no usable accelerator" if found is None else f"accelerator is {found}") in message
    assert lesson_device() == torch.device("cpu"), "the checks fall back to the CPU"


def test_a_device_index_beyond_the_machine_is_refused(monkeypatch):
    _machine_with(monkeypatch, "cuda")
    monkeypatch.setenv("TORCHCOURSE_DEVICE", "cuda:3")
    with pytest.raises(CourseError, match="numbered from 0"):
        pick_device()


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "nvidia"])
def test_a_name_that_is_no_device(monkeypatch, name):
    monkeypatch.setenv("TORCHCOURSE_DEVICE", name)
    with pytest.raises(CourseError, match="not a device PyTorch knows"):
        pick_device()


def test_the_cpu_can_always_be_forced(monkeypatch):
    _machine_with(monkeypatch, "cuda")
    monkeypatch.setenv("TORCHCOURSE_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_convolutions_stay_in_full_precision_without_a_warning():
    """The CUDA path's TF32 setting, run on the CPU: new API where torch has it, no warning."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    new_api = conv is not None and hasattr(conv, "fp32_precision")
    before = conv.fp32_precision if new_api else torch.backends.cudnn.allow_tf32
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            full_precision_convolutions()
        if new_api:
            assert conv.fp32_precision == "ieee"
        else:
            assert torch.backends.cudnn.allow_tf32 is False
        assert torch.get_float32_matmul_precision() == "highest", "matmul keeps full precision"
    finally:
        if new_api:
            conv.fp32_precision = before
        else:
            torch.backends.cudnn.allow_tf32 = before


# A learner's answer may create its tensors with `device=device`: on a GPU its result is on the
# lesson's device while the check's expected values are on the CPU.


@pytest.mark.parametrize("lesson", ["cuda", "mps", "xpu"])
def test_checks_accept_a_result_on_the_lessons_device(monkeypatch, lesson):
    from torchcourse.checks import expect

    monkeypatch.setattr(expect, "lesson_device", lambda: torch.device(lesson))
    assert expect._device_ok(torch.device(lesson, 0), torch.device("cpu"))
    assert expect._device_ok(torch.device("cpu"), torch.device("cpu"))
    assert not expect._device_ok(torch.device("meta"), torch.device("cpu"))


def test_on_a_cpu_lesson_a_result_on_another_device_fails(monkeypatch):
    from torchcourse.checks import expect
    from torchcourse.checks.core import Mismatch

    monkeypatch.setattr(expect, "lesson_device", lambda: torch.device("cpu"))
    assert not expect._device_ok(torch.device("cuda", 0), torch.device("cpu"))
    with pytest.raises(Mismatch, match="on device meta, expected cpu"):
        expect.expect_tensor(torch.zeros(2, device="meta"), torch.zeros(2))
