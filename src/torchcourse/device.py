"""Choosing the device a lesson runs on."""

import os

import torch

from torchcourse.errors import CourseError

DEVICE_ENV = "TORCHCOURSE_DEVICE"


def pick_device() -> torch.device:
    """CUDA when available, else the CPU; $TORCHCOURSE_DEVICE=cpu|cuda forces one."""
    wanted = os.environ.get(DEVICE_ENV, "").strip().lower()
    if wanted not in ("", "cpu", "cuda"):
        raise CourseError(f"{DEVICE_ENV}={wanted!r} is not a device: use 'cpu' or 'cuda'.")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise CourseError(
            f"{DEVICE_ENV}=cuda but this machine has no usable CUDA GPU: "
            "unset it or use 'cpu' (run `torchcourse doctor` to see why)."
        )
    if wanted:
        return torch.device(wanted)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_name(device: torch.device | str) -> str:
    """A human name for a device, e.g. 'NVIDIA H100 80GB HBM3' or 'CPU (x86_64)'."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"CPU ({platform.machine()})"
