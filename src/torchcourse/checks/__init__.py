"""Self-checks for the exercises: `check("03.ex2", my_function)` prints one line.

Each chapter's checkers live in a module named chNN.py here and register themselves.
"""

import importlib
import pkgutil

from torchcourse.checks.core import (
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    REGISTRY,
    Mismatch,
    Result,
    check,
    exercise,
    run_check,
)

__all__ = [
    "FAILED",
    "NOT_ATTEMPTED",
    "PASSED",
    "REGISTRY",
    "Mismatch",
    "Result",
    "check",
    "exercise",
    "load_all",
    "run_check",
]


def load_all() -> None:
    """Import every chNN module so that its exercises are registered."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")
