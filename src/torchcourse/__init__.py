"""torchcourse: the helpers behind the course's notebooks (checks, data, devices, tooling).

`check`, `hint` and `pick_device` import torch, so they load on first use: the command line
(`python -m torchcourse ...`) and the tools that never touch a tensor start without torch.
"""

from torchcourse.errors import CourseError

__all__ = ["CourseError", "check", "hint", "pick_device"]
__version__ = "0.2.0"  # the course version; the setup cell of every notebook pins it


def __getattr__(name: str):
    """Load check, hint and pick_device when first asked for (PEP 562)."""
    if name in ("check", "hint"):
        from torchcourse import checks

        return getattr(checks, name)
    if name == "pick_device":
        from torchcourse.device import pick_device

        return pick_device
    raise AttributeError(f"module 'torchcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The lazy names too, so that tab completion in Jupyter offers them."""
    return sorted({*globals(), *__all__})
