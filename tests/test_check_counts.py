"""How much each chapter's checks are tested with, per chapter, printed as a table.

Columns: exercises; rungs of their hint ladders; diagnosis hints (hints written for one
diagnosed mistake, `Mismatch(..., hint=...)`, counted in checks/chNN.py); alternative correct
answers (right_NN.py); typical wrong answers (wrong_NN.py); and of those, the ones whose failure
shows their diagnosis's hint (a 4th item in wrong_NN.py, which test_checks.py verifies).
Run `pytest tests/test_check_counts.py -q -n 0` to see the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

from right_answers import RIGHT
from wrong_answers import WRONG

from torchcourse.checks import REGISTRY, load_all

load_all()
CHECKS = Path(__file__).resolve().parents[1] / "src" / "torchcourse" / "checks"
COLUMNS = ("chapter", "exercises", "rungs", "diagnosis hints", "right", "wrong", "wrong+hint")


def _is_n_(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "N_"
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
    )


def diagnosis_hints(chapter: str) -> int:
    """Distinct hint texts a chapter's checks give for a diagnosed mistake.

    A hint is an N_() text passed as `hint=`, directly or through a module-level name, or the
    last item of a (result, meaning, hint) tuple that a check loops over.
    """
    tree = ast.parse((CHECKS / f"ch{chapter}.py").read_text(encoding="utf-8"))
    constants = {
        target.id: node.value.args[0].value
        for node in tree.body
        if isinstance(node, ast.Assign) and _is_n_(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }

    def text(node: ast.AST) -> str | None:
        if _is_n_(node):
            return node.args[0].value
        if isinstance(node, ast.Name):
            return constants.get(node.id)
        return None

    hints = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "hint":
            hints.add(text(node.value))
        if isinstance(node, ast.Tuple) and len(node.elts) == 3 and _is_n_(node.elts[1]):
            hints.add(text(node.elts[2]))
    hints.discard(None)
    return len(hints)


def count_rows() -> list[tuple]:
    rows = []
    for chapter in sorted({i[:2] for i in REGISTRY}):
        ids = [i for i in REGISTRY if i.startswith(chapter + ".")]
        wrong = [case for i in ids for case in WRONG.get(i, [])]
        rows.append(
            (
                chapter,
                len(ids),
                sum(len(REGISTRY[i].hints) for i in ids),
                diagnosis_hints(chapter),
                sum(len(RIGHT.get(i, [])) for i in ids),
                len(wrong),
                sum(len(case) > 3 for case in wrong),
            )
        )
    return rows


def table() -> str:
    rows = count_rows()
    totals = ("all", *(sum(row[k] for row in rows) for k in range(1, len(COLUMNS))))
    lines = [" ".join(f"{c:>15}" for c in COLUMNS)]
    lines += [" ".join(f"{v:>15}" for v in row) for row in [*rows, totals]]
    return "\n".join(lines)


def test_every_chapter_is_tested_with_hints_diagnoses_and_answers(capsys):
    with capsys.disabled():
        print("\nchecks per chapter (tests/test_check_counts.py)\n" + table())
    for chapter, exercises, rungs, hints, right, wrong, answered in count_rows():
        assert rungs >= 3 * exercises, chapter
        assert right >= 2 * exercises and wrong >= exercises, chapter
        assert hints >= 1 and answered >= 1, f"chapter {chapter}: no mistake has its own hint"
        assert answered <= wrong
