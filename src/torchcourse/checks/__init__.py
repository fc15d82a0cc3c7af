"""Self-checks for the exercises: `check("03.ex2", my_function)` prints one line;
`hint("03.ex2")` prints the next hint.

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
    hint,
    known_state,
    reset_hints,
    run_check,
    yours_or_reference,
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
    "hint",
    "known_state",
    "load_all",
    "reset_hints",
    "run_check",
    "yours_or_reference",
]


def load_all() -> None:
    """Import every chNN module so that its exercises are registered."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{module.name}")
