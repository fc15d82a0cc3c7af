"""Choosing the device a lesson runs on: the accelerator (CUDA, MPS, XPU, ...) or the CPU."""

from __future__ import annotations

import os
import platform

import torch

from torchcourse.errors import CourseError
from torchcourse.i18n import _

DEVICE_ENV = "TORCHCOURSE_DEVICE"


def accelerator() -> torch.device | None:
    """The accelerator PyTorch can use on this machine (CUDA, MPS, XPU, ...), or None."""
    return torch.accelerator.current_accelerator(check_available=True)


def parse_device(name: str, source: str = DEVICE_ENV) -> torch.device:
    """name as a torch.device ('cpu', 'cuda', 'mps:0', ...); a CourseError if it names none."""
    try:
        return torch.device(name.strip().lower())
    except (RuntimeError, ValueError):
        raise CourseError(
            _(
                "{source}={name} is not a device PyTorch knows: use 'cpu' or an accelerator "
                "such as 'cuda', 'mps' or 'xpu'."
            ).format(source=source, name=repr(name))
        ) from None


def require_device(device: torch.device, source: str = DEVICE_ENV) -> torch.device:
    """device itself when this machine has it; a one-line CourseError otherwise."""
    if device.type == "cpu":
        return device
    found = accelerator()
    if found is None or found.type != device.type:
        have = (
            _("this machine's accelerator is {kind}").format(kind=found.type)
            if found
            else _("this machine has no usable accelerator")
        )
        usable = found.type if found else "cpu"
        fix = (
            _("unset it or set it to '{usable}'")
            if source == DEVICE_ENV
            else _("use {source} {usable}")
        ).format(usable=usable, source=source)
        raise CourseError(
            _(
                "{source} asks for {kind}, but {have}: {fix} (`torchcourse doctor` says more)."
            ).format(source=source, kind=device.type, have=have, fix=fix)
        )
    if device.index is not None and device.index >= torch.accelerator.device_count():
        raise CourseError(
            _(
                "{source} asks for {device}, but this machine has {count} {kind} device(s), "
                "numbered from 0."
            ).format(
                source=source,
                device=device,
                count=torch.accelerator.device_count(),
                kind=device.type,
            )
        )
    return device


def chosen_device() -> torch.device:
    """$TORCHCOURSE_DEVICE if set (checked), else the accelerator, else the CPU."""
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        return require_device(parse_device(wanted))
    return accelerator() or torch.device("cpu")


def lesson_device() -> torch.device:
    """The device pick_device() chooses, without changing any setting (the CPU if unusable)."""
    try:
        return chosen_device()
    except CourseError:
        return torch.device("cpu")


def pick_device() -> torch.device:
    """The lesson's device: the accelerator when there is one, else the CPU.

    $TORCHCOURSE_DEVICE forces one ('cpu', 'cuda', 'mps', 'xpu', ...). On an NVIDIA GPU this
    also keeps float32 convolutions in full precision (no TF32), so results match the CPU's.
    """
    device = chosen_device()
    full_precision_convolutions()
    return device


def full_precision_convolutions() -> None:
    """Make cuDNN compute float32 convolutions in float32 rather than TF32 (its default).

    Uses the API of the installed torch: `cudnn.conv.fp32_precision` from 2.9 on, the older
    `cudnn.allow_tf32` before it. Matrix multiplications already default to full precision.
    """
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is not None and hasattr(conv, "fp32_precision"):
        conv.fp32_precision = "ieee"
    else:
        torch.backends.cudnn.allow_tf32 = False


def device_name(device: torch.device | str) -> str:
    """A human name for a device, e.g. 'NVIDIA H100 80GB HBM3', 'mps' or 'CPU (x86_64)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "xpu":
        return torch.xpu.get_device_name(device)
    if device.type == "cpu":
        return f"CPU ({platform.machine()})"
    return f"{device.type} ({platform.machine()})"
