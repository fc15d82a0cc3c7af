"""torchcourse: the helpers behind the course's notebooks (checks, data, devices, tooling)."""

from torchcourse.checks import check
from torchcourse.device import pick_device
from torchcourse.errors import CourseError

__all__ = ["CourseError", "check", "pick_device"]
__version__ = "0.1.0"
