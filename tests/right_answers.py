"""Alternative correct answers per exercise: each must pass its check.

Chapters add their own module right_NN.py defining RIGHT = {"NN.exK": [(label, answer), ...]}
with answers a learner could write that differ from the reference (a loop instead of a
vectorised op, another API, nn.Sequential instead of a subclass, ...); this file gathers them.
"""

import importlib
import pkgutil
from pathlib import Path

RIGHT: dict[str, list[tuple[str, object]]] = {}

for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if module.name.startswith("right_") and module.name[6:].isdigit():
        RIGHT.update(importlib.import_module(module.name).RIGHT)
