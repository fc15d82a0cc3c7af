"""Typical wrong answers per exercise, each with words its failure message must contain.

Chapters add their own module wrong_NN.py defining TENSOR_RESULTS (exercises that return a
tensor, so spoiled copies of the reference must fail) and WRONG; this file gathers them.
"""

import importlib
import pkgutil
from pathlib import Path

TENSOR_RESULTS: set[str] = set()
WRONG: dict[str, list[tuple[str, object, str]]] = {}

for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if module.name.startswith("wrong_") and module.name[6:].isdigit():
        chapter = importlib.import_module(module.name)
        TENSOR_RESULTS |= set(chapter.TENSOR_RESULTS)
        WRONG.update(chapter.WRONG)
