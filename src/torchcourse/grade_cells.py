"""What `grade` reads in a student's notebook: its check cells, its answers, what each answer
needs to run, and the signs of tampering, judged against the course's own notebooks.

The check cells and the name of each exercise's answer come from the course's solution
notebook, never from the student's cells or their tags. The student's answer to an exercise is
the last cell (check calls aside) that binds that name at top level. What it needs to run is
the chain of earlier cells binding the names it uses, found statically (ast).
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass, field

import nbformat

from torchcourse.i18n import N_

CHECKERS = {"check", "hint"}
_CHECK = re.compile(r'check\(\s*["\'](\d\d\.ex\d+)["\']\s*,\s*([A-Za-z_]\w*)')
_BUILTINS = set(dir(builtins))

# Tampering: what a grade never depends on, named in the report (code -> English label).
REDEFINES_CHECK = "redefines-check"
FAKE_VERDICTS = "fake-verdicts"
EDITED_CHECK = "edited-check-cell"
PATCHES_COURSE = "patches-torchcourse"
INTERPRETER = "interpreter-tricks"
CHANGED_AT_RUN_TIME = "changed-checks-while-graded"
FLAGS = {
    REDEFINES_CHECK: N_("redefines `check` or `hint`"),
    FAKE_VERDICTS: N_("prints verdict lines of its own"),
    EDITED_CHECK: N_("edited a check cell"),
    PATCHES_COURSE: N_("reaches into the torchcourse package (patching the checks?)"),
    INTERPRETER: N_("uses interpreter internals (modules, frames, ctypes, raw exits)"),
    CHANGED_AT_RUN_TIME: N_("changed torchcourse, torch or builtins while it was checked"),
}
_SCANS = [
    (FAKE_VERDICTS, re.compile(r"[✅❌⏳]|\d\d\.ex\d+\W+(passed|failed)")),
    (
        INTERPRETER,
        re.compile(
            r"\bsys\.modules\b|\bbuiltins\b|\bsetattr\(|\bctypes\b|\bgc\.|\binspect\.|"
            r"_getframe|__globals__|\bos\.write\(|\bos\._exit\(|/proc/self"
        ),
    ),
]


@dataclass(frozen=True)
class Reference:
    """What the course's solution notebook says about a lesson."""

    answers: dict[str, str]  # exercise id -> the name its check cell passes
    check_cells: dict[str, str]  # exercise id -> the check cell's source
    course_cells: frozenset[str]  # sources of the course's code cells (all editions)
    course_lines: frozenset[str]  # their lines, stripped


def reference(solution: nbformat.NotebookNode, *editions: nbformat.NotebookNode) -> Reference:
    answers, check_cells = {}, {}
    for cell in solution.cells:
        if cell.cell_type == "code":
            for exercise_id, name in _CHECK.findall(cell.source):
                answers.setdefault(exercise_id, name)
                check_cells.setdefault(exercise_id, cell.source)
    sources = {c.source for nb in editions for c in nb.cells if c.cell_type == "code"}
    lines = {line.strip() for source in sources for line in source.splitlines()}
    return Reference(answers, check_cells, frozenset(sources), frozenset(lines))


def python_source(source: str) -> str:
    """A cell's source as plain Python (IPython's %magics and !commands translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return TransformerManager().transform_cell(source)
    except Exception:  # what IPython cannot transform will not compile either
        return source


def _is_check_call(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id in CHECKERS
    )


def without_checks(source: str) -> tuple[str, bool]:
    """source without its top-level `check(...)` / `hint(...)` calls; and whether it had any."""
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        kept = [line for line in source.splitlines() if not re.match(r"\s*(check|hint)\(", line)]
        return "\n".join(kept), len(kept) != len(source.splitlines())
    calls = [node for node in tree.body if _is_check_call(node)]
    if not calls:
        return source, False
    lines = python_source(source).splitlines()
    for node in reversed(calls):
        del lines[node.lineno - 1 : node.end_lineno]
    return "\n".join(lines), True


def _top_level(tree: ast.AST):
    """The nodes of a module outside function and class bodies (those run at import)."""
    for node in ast.iter_child_nodes(tree):
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            yield from _top_level(node)


def binds(tree: ast.Module) -> set[str]:
    """Names a cell binds at top level: defs, classes, assignments, imports, loop targets."""
    names = set()
    for node in _top_level(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
    return names


def uses(tree: ast.Module) -> set[str]:
    """Global names a cell may read, in its function bodies too (its own names and
    arguments, and the builtins, left out)."""
    loaded, stored = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
    return loaded - stored - binds(tree) - _BUILTINS


@dataclass
class Piece:
    """One code cell of the student's notebook, as grade sees it."""

    source: str  # without check calls, as Python
    course: bool  # the course's own cell, unchanged
    tree: ast.Module | None


@dataclass
class Reading:
    """A student's notebook read against the course."""

    pieces: list[Piece]
    answers: dict[str, int] = field(default_factory=dict)  # exercise id -> piece index
    flags: set[str] = field(default_factory=set)

    def program(self, exercise_id: str) -> tuple[list[str], int]:
        """The sources to run for an exercise, in order, and the index of the answer's."""
        target = self.answers[exercise_id]
        chosen, todo = {target}, [(name, target) for name in self._uses(target)]
        while todo:
            name, before = todo.pop()
            for index in range(before - 1, -1, -1):
                piece = self.pieces[index]
                if piece.tree is not None and name in binds(piece.tree):
                    if index not in chosen:
                        chosen.add(index)
                        todo += [(used, index) for used in self._uses(index)]
                    break
        order = sorted(chosen)
        return [self.pieces[i].source for i in order], order.index(target)

    def _uses(self, index: int) -> set[str]:
        tree = self.pieces[index].tree
        return uses(tree) if tree is not None else set()


def _calls_check(source: str) -> bool:
    """True when the cell calls `check(...)` anywhere (a definition of check is no call)."""
    tree = _parse(python_source(source))
    if tree is None:
        return bool(re.search(r"(?<!def )\bcheck\(", source))
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
        for node in ast.walk(tree)
    )


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def read(nb: nbformat.NotebookNode, ref: Reference) -> Reading:
    """Classify the student's code cells, find each answer and name any tampering."""
    reading = Reading([])
    present = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = cell.source
        present.add(source)
        course = source in ref.course_cells
        stripped, had_checks = without_checks(source)
        if not course:
            if _calls_check(source):
                reading.flags.add(EDITED_CHECK)
            for flag, pattern in _SCANS:
                if pattern.search(stripped):
                    reading.flags.add(flag)
            if any(
                "torchcourse" in line and line.strip() not in ref.course_lines
                for line in stripped.splitlines()
            ):
                reading.flags.add(PATCHES_COURSE)
        code = python_source(stripped)
        tree = _parse(code)
        if tree is not None and not course and binds(tree) & CHECKERS:
            reading.flags.add(REDEFINES_CHECK)
        reading.pieces.append(Piece(code, course, tree))
    for exercise_id, name in ref.answers.items():
        for index in range(len(reading.pieces) - 1, -1, -1):
            tree = reading.pieces[index].tree
            if tree is not None and name in binds(tree):
                reading.answers[exercise_id] = index
                break
            defines = re.compile(rf"^\s*(def|class)\s+{name}\b", re.M)
            if tree is None and defines.search(reading.pieces[index].source):
                reading.answers[exercise_id] = index  # a syntax error, reported as such
                break
    return reading
