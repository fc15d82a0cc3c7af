"""torchcourse: the helpers behind the course's notebooks (checks, data, devices, tooling)."""

from torchcourse.checks import check, hint
from torchcourse.device import pick_device
from torchcourse.errors import CourseError

__all__ = ["CourseError", "check", "hint", "pick_device"]
__version__ = "0.2.0"  # the course version; the setup cell of every notebook pins it
