"""A learner's own copies of the student notebooks, in workspace/ (ignored by git).

`torchcourse start` copies chapters/ into workspace/ once; `torchcourse start --update` brings
in new lessons and new versions later. A notebook is *edited* when the sources of its cells
differ from the ones it was generated with (metadata torchcourse.sources_sha256): running a
notebook changes only outputs and execution counts, so a notebook that was run but not changed
counts as untouched and may be replaced by a newer version (run it again to get its outputs
back). An edited notebook, one without that stamp, or one that no longer parses is never
written to: the new version lands beside it as NN-slug.new.ipynb.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from torchcourse.errors import CourseError
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.student import sources_digest

WORKSPACE = "workspace"
# The course's own folders: a workspace there would mix a learner's files into the course.
RESERVED = (
    ".cache", ".ci", ".git", ".github", ".venv", "benchmarks", "binder", "chapters", "datasets",
    "docs", "locales", "site", "solutions", "src", "tests", "verification",
)  # fmt: skip
STALE_SECONDS = 600  # a temporary copy this old was left by a killed `start`

# What happened to one lesson's notebook.
ADDED, UPDATED, UP_TO_DATE, KEPT, NEWER = "added", "updated", "up to date", "kept", "newer"


def workspace_dir(root: Path | None = None) -> Path:
    """The learner's workspace: <course root>/workspace."""
    return (root or course_root()) / WORKSPACE


def workspace_notebook(lesson: Lesson, workspace: Path) -> Path:
    """Where a lesson's notebook lives in the workspace: the same layout as chapters/."""
    return workspace / lesson.name / f"{lesson.name}.ipynb"


def stamp(nb: nbformat.NotebookNode) -> str | None:
    """The sources digest recorded when the notebook was generated, if any."""
    meta = nb.metadata.get("torchcourse")
    return meta.get("sources_sha256") if isinstance(meta, dict) else None


def read_notebook(path: Path, shown: str | None = None) -> nbformat.NotebookNode:
    """Read and validate a notebook; a CourseError (one line) when it does not parse."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as err:  # JSON errors, schema errors, bad encodings, ...
        detail = " ".join(str(err).split())[:120]
        raise CourseError(
            f"{shown or path} does not parse as a notebook ({type(err).__name__}: {detail})"
        ) from None
    return nb


def is_untouched(path: Path) -> bool:
    """True when the notebook parses, carries a stamp and its sources still match it.

    Outputs and execution counts do not count: a notebook that was only run is untouched.
    """
    try:
        nb = read_notebook(path)
    except CourseError:
        return False
    recorded = stamp(nb)
    return recorded is not None and recorded == sources_digest(nb)


def _version(nb: nbformat.NotebookNode) -> str:
    """The version of a published student notebook: its stamp, else its sources digest."""
    return stamp(nb) or sources_digest(nb)


def _copy(source: Path, target: Path) -> None:
    """Copy a file byte for byte, atomically: a reader never sees half a notebook."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@dataclass(frozen=True)
class Change:
    """What `start` did (or would do) with one lesson."""

    lesson: Lesson
    action: str
    path: Path
    beside: Path | None = None  # the new version, when the learner's copy was kept
    reason: str = ""

    def line(self, root: Path) -> str:
        rel = _rel(self.path, root)
        if self.action == ADDED:
            return f"  added     {rel}"
        if self.action == UPDATED:
            return f"  updated   {rel} (you had not changed it)"
        if self.action == KEPT:
            return (
                f"  kept      {rel} ({self.reason}); the new version is "
                f"{_rel(self.beside, root)}: copy your answers into it (`torchcourse progress` "
                "checks that copy once you have)"
            )
        return f"  {self.action:<9} {rel}"


def _rel(path: Path | None, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _beside(target: Path, new_version: str) -> tuple[Path, bool]:
    """Where the new version of an edited notebook goes, and whether it must be written.

    NN-slug.new.ipynb, unless that name holds something else the learner touched, then
    NN-slug.new-2.ipynb, ... Nothing the learner edited is ever overwritten.
    """
    stem = target.name.removesuffix(".ipynb")
    for n in range(1, 1000):
        candidate = target.with_name(f"{stem}.new.ipynb" if n == 1 else f"{stem}.new-{n}.ipynb")
        if not candidate.exists():
            return candidate, True
        try:
            nb = read_notebook(candidate)
        except CourseError:
            continue
        if sources_digest(nb) == new_version:
            return candidate, False  # already there
        if is_untouched(candidate):
            return candidate, True  # an untouched older "new" copy: ours to replace
    raise CourseError(f"too many new versions beside {target}: delete the old *.new*.ipynb files.")


def plan_lesson(lesson: Lesson, root: Path, workspace: Path) -> Change | None:
    """Decide what an update does with one lesson; None when chapters/ has no notebook yet."""
    source = root / lesson.notebook
    if not source.is_file():
        return None
    target = workspace_notebook(lesson, workspace)
    if not target.exists():
        return Change(lesson, ADDED, target)
    try:
        new_version = _version(read_notebook(source, lesson.notebook))
    except CourseError as err:
        raise CourseError(
            f"{err}: restore it with `git checkout -- chapters/{lesson.name}` (or regenerate "
            f"it with `python -m torchcourse chapters {lesson.id}`), then run this again"
        ) from None
    try:
        mine = read_notebook(target)
    except CourseError:
        beside, write = _beside(target, new_version)
        if not write:
            return Change(lesson, UP_TO_DATE, target)
        return Change(lesson, KEPT, target, beside, "it does not parse as a notebook")
    current, recorded = sources_digest(mine), stamp(mine)
    if new_version in (current, recorded):  # the latest version, edited or not
        return Change(lesson, UP_TO_DATE, target)
    if recorded is not None and recorded == current:
        return Change(lesson, UPDATED, target)
    beside, write = _beside(target, new_version)
    reason = "you edited it" if recorded is not None else "it has no torchcourse stamp"
    return Change(lesson, KEPT if write else UP_TO_DATE, target, beside if write else None, reason)


IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def _copy_assets(source_dir: Path, target_dir: Path) -> None:
    """Copy the images a lesson's markdown may show, when the workspace lacks them (files a
    lesson writes while it runs, such as checkpoints, are not the course's to copy)."""
    for item in source_dir.iterdir():
        if item.is_file() and item.suffix.lower() in IMAGES and not item.name.startswith("."):
            if not (target_dir / item.name).exists():
                _copy(item, target_dir / item.name)


def apply(change: Change, root: Path) -> None:
    """Carry out one planned change; never writes over a notebook the learner edited."""
    source = root / change.lesson.notebook
    if change.action in (ADDED, UPDATED):
        if change.action == UPDATED and not is_untouched(change.path):
            raise CourseError(f"{change.path} changed while updating; run the command again.")
        _copy(source, change.path)
    elif change.action == KEPT:
        _copy(source, change.beside)
    _copy_assets(source.parent, change.path.parent)


def check_workspace(workspace: Path, root: Path) -> None:
    """A CourseError when workspace is a file or one of the course's own folders."""
    fix = "choose another folder with --workspace DIR (the default is workspace/)"
    if workspace.exists() and not workspace.is_dir():
        raise CourseError(f"{workspace} is a file, not a folder: move it away, or {fix}.")
    try:
        inside = workspace.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return
    if not inside or inside[0] in RESERVED:
        raise CourseError(
            f"{workspace} is the course's own folder{'' if not inside else ' ' + inside[0] + '/'}"
            f", where your notebooks would mix with the course's files: {fix}."
        )


def clean_stale_copies(workspace: Path) -> None:
    """Delete the hidden temporary copies (.NN-slug.ipynb.*.tmp) a killed update left."""
    now = time.time()
    for tmp in workspace.glob("*/.*.ipynb.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_SECONDS:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete


def _cannot_write(workspace: Path, err: OSError) -> CourseError:
    reason = err.strerror or type(err).__name__
    return CourseError(
        f"cannot write in {workspace} ({reason}: {err.filename or workspace}): make it "
        "writable, or choose another folder with --workspace DIR"
    )


def start(
    course: Course, update: bool = False, root: Path | None = None, workspace: Path | None = None
) -> int:
    """Create the workspace (first time) or bring it up to date (update); print what was done."""
    root = root or course_root()
    workspace = workspace or workspace_dir(root)
    check_workspace(workspace, root)
    if workspace.is_dir():
        clean_stale_copies(workspace)
    plans = [(lesson, plan_lesson(lesson, root, workspace)) for lesson in course.lessons]
    missing = [lesson.id for lesson, change in plans if change is None]
    changes = [change for _, change in plans if change is not None]
    if not changes:
        raise CourseError(
            f"{root / 'chapters'} holds no student notebooks: run "
            "`python -m torchcourse chapters` first."
        )
    existed = any(workspace.glob("*/*.ipynb"))
    pending = [c for c in changes if c.action != UP_TO_DATE]
    if existed and not update:
        print(f"{_rel(workspace, root)}/ is ready: your notebooks are never overwritten.")
        if pending:
            print(
                f"{len(pending)} lesson(s) are new or have a new version: run "
                "`torchcourse start --update` to bring them in (your edits are kept)."
            )
        return 0
    try:
        for change in pending:
            apply(change, root)
    except OSError as err:
        raise _cannot_write(workspace, err) from None
    if not existed:
        print(
            f"Created {_rel(workspace, root)}/ with {len(pending)} notebook(s), your own "
            "copies: edit and run them freely, `git pull` never touches them."
        )
    elif pending:
        print(f"Updated {_rel(workspace, root)}/:")
        for change in pending:
            print(change.line(root))
    else:
        print(f"{_rel(workspace, root)}/ is up to date.")
    if missing:
        print(f"Not yet published in chapters/: lesson(s) {', '.join(missing)}.")
    return 0
