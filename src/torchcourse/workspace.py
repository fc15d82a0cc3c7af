"""A learner's own copies of the student notebooks, in workspace/ (ignored by git).

`torchcourse start` copies chapters/ into workspace/ once; `torchcourse start --update` brings
in new lessons and new versions later. `--lang zh-CN` takes a translated edition's notebooks
(zh-CN/chapters/) instead; the workspace remembers its language in .torchcourse.json, so later
updates, `lab` and `progress` use it too. A notebook is *edited* when the sources of its cells
differ from the ones it was generated with (metadata torchcourse.sources_sha256): running a
notebook changes only outputs and execution counts, so a notebook that was run but not changed
counts as untouched and may be replaced by a newer version (run it again to get its outputs
back). An edited notebook, one without that stamp, or one that no longer parses is never
written to: the new version lands beside it as NN-slug.new.ipynb.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from torchcourse.errors import CourseError
from torchcourse.i18n import LANGUAGES, N_, SOURCE_LANGUAGE, _, normalize
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.student import sources_digest
from torchcourse.tmpfiles import remove_stale, tmp_path
from torchcourse.translate import edition_dir, languages, translated_path

WORKSPACE = "workspace"
# The course's own folders: a workspace there would mix a learner's files into the course.
RESERVED = (
    ".cache", ".ci", ".git", ".github", ".venv", "benchmarks", "binder", "chapters", "datasets",
    "docs", "locales", "site", "solutions", "src", "tests", "verification",
    *(edition_dir(code) for code in languages()),
)  # fmt: skip
SETTINGS = ".torchcourse.json"  # the workspace's language, written by `start`

# What happened to one lesson's notebook.
ADDED, UPDATED, UP_TO_DATE, KEPT, NEWER = "added", "updated", "up to date", "kept", "newer"


def workspace_dir(root: Path | None = None) -> Path:
    """The learner's workspace: <course root>/workspace."""
    return (root or course_root()) / WORKSPACE


def workspace_notebook(lesson: Lesson, workspace: Path) -> Path:
    """Where a lesson's notebook lives in the workspace: the same layout as chapters/."""
    return workspace / lesson.name / f"{lesson.name}.ipynb"


def choose_language(code: str) -> str:
    """A --lang value as a language code ('zh-CN' -> 'zh_CN'); one line for one we lack."""
    language = normalize(code)
    if language is None:
        known = ", ".join(code.replace("_", "-") for code in LANGUAGES)
        raise CourseError(
            _("there is no {code} edition of the course: choose one of {known}.").format(
                code=repr(code), known=known
            )
        )
    return language


MISSING, DAMAGED = N_("is missing"), N_("is damaged")


def recorded_language(workspace: Path) -> tuple[str | None, str]:
    """The language `start` recorded in the workspace, or None and what is wrong with the
    record: MISSING, DAMAGED, or that it names no edition of the course."""
    try:
        data = json.loads((workspace / SETTINGS).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, MISSING
    except (OSError, ValueError):  # unreadable, bad bytes, not JSON
        return None, DAMAGED
    lang = data.get("lang") if isinstance(data, dict) else None
    if not isinstance(lang, str):
        return None, DAMAGED
    language = normalize(lang)
    if language is None:
        return None, _("names {value}, which is no edition of the course").format(value=repr(lang))
    return language, ""


def notebooks_language(workspace: Path) -> str | None:
    """The edition the workspace's notebooks come from (their torchcourse.lang metadata;
    English ones have none); None when no notebook there says."""
    for path in sorted(workspace.glob("*/*.ipynb")):
        try:
            meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        except (OSError, ValueError, AttributeError):
            continue
        found = meta.get("torchcourse") if isinstance(meta, dict) else None
        if isinstance(found, dict):
            return normalize(str(found.get("lang", ""))) or SOURCE_LANGUAGE
    return None


def workspace_language(workspace: Path) -> str | None:
    """The workspace's language: the one `start` recorded, else the one of its notebooks
    (when the record was deleted or damaged), else None (no record yet)."""
    return recorded_language(workspace)[0] or notebooks_language(workspace)


def student_source(lesson: Lesson, language: str) -> str:
    """The student notebook a workspace in that language copies (chapters/ or an edition's)."""
    if language == SOURCE_LANGUAGE:
        return lesson.notebook
    return translated_path(lesson.notebook, language)


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
            _("{path} does not parse as a notebook ({error_type}: {detail})").format(
                path=shown or path, error_type=type(err).__name__, detail=detail
            )
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
    tmp = tmp_path(target)
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
    source: Path  # the published student notebook it comes from
    beside: Path | None = None  # the new version, when the learner's copy was kept
    reason: str = ""

    def line(self, root: Path) -> str:
        rel = _rel(self.path, root)
        if self.action == ADDED:
            return _("  added     {path}").format(path=rel)
        if self.action == UPDATED:
            return _("  updated   {path} (you had not changed it)").format(path=rel)
        if self.action == KEPT:
            return _(
                "  kept      {path} ({reason}); the new version is {beside}: copy your answers "
                "into it (`torchcourse progress` checks that copy once you have)"
            ).format(path=rel, reason=_(self.reason), beside=_rel(self.beside, root))
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
    raise CourseError(
        _("too many new versions beside {path}: delete the old *.new*.ipynb files.").format(
            path=target
        )
    )


def plan_lesson(
    lesson: Lesson, root: Path, workspace: Path, language: str = SOURCE_LANGUAGE
) -> Change | None:
    """Decide what an update does with one lesson; None when it has no notebook published yet."""
    rel = student_source(lesson, language)
    source = root / rel
    if not source.is_file():
        return None
    target = workspace_notebook(lesson, workspace)
    try:  # a broken published notebook is never copied, not even into a fresh workspace
        new_version = _version(read_notebook(source, rel))
    except CourseError as err:
        raise CourseError(
            _(
                "{error}: restore it with `git checkout -- {folder}` (or regenerate it with "
                "`python -m torchcourse chapters {id}`), then run this again"
            ).format(error=err, folder=Path(rel).parent.as_posix(), id=lesson.id)
        ) from None
    if not target.exists():
        return Change(lesson, ADDED, target, source)
    try:
        mine = read_notebook(target)
    except CourseError:
        beside, write = _beside(target, new_version)
        if not write:
            return Change(lesson, UP_TO_DATE, target, source)
        return Change(lesson, KEPT, target, source, beside, N_("it does not parse as a notebook"))
    current, recorded = sources_digest(mine), stamp(mine)
    if new_version in (current, recorded):  # the latest version, edited or not
        return Change(lesson, UP_TO_DATE, target, source)
    if recorded is not None and recorded == current:
        return Change(lesson, UPDATED, target, source)
    beside, write = _beside(target, new_version)
    reason = N_("you edited it") if recorded is not None else N_("it has no torchcourse stamp")
    return Change(
        lesson, KEPT if write else UP_TO_DATE, target, source, beside if write else None, reason
    )


IMAGES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"}


def _copy_assets(source_dir: Path, target_dir: Path) -> None:
    """Copy the images a lesson's markdown may show, when the workspace lacks them (files a
    lesson writes while it runs, such as checkpoints, are not the course's to copy)."""
    for item in source_dir.iterdir():
        if item.is_file() and item.suffix.lower() in IMAGES and not item.name.startswith("."):
            if not (target_dir / item.name).exists():
                _copy(item, target_dir / item.name)


def apply(change: Change) -> None:
    """Carry out one planned change; never writes over a notebook the learner edited."""
    source = change.source
    if change.action in (ADDED, UPDATED):
        if change.action == UPDATED and not is_untouched(change.path):
            raise CourseError(
                _("{path} changed while updating; run the command again.").format(path=change.path)
            )
        _copy(source, change.path)
    elif change.action == KEPT:
        _copy(source, change.beside)
    _copy_assets(source.parent, change.path.parent)


def check_workspace(workspace: Path, root: Path) -> None:
    """A CourseError when workspace is a file or one of the course's own folders."""
    if workspace.exists() and not workspace.is_dir():
        raise CourseError(
            _(
                "{path} is a file, not a folder: move it away, or choose another folder with "
                "--workspace DIR (the default is workspace/)."
            ).format(path=workspace)
        )
    try:
        inside = workspace.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return
    if not inside or inside[0] in RESERVED:
        raise CourseError(
            _(
                "{path} is the course's own folder{folder}, where your notebooks would mix with "
                "the course's files: choose another folder with --workspace DIR (the default is "
                "workspace/)."
            ).format(path=workspace, folder=f" {inside[0]}/" if inside else "")
        )


def clean_stale_copies(workspace: Path) -> None:
    """Delete the hidden temporary copies (.NN-slug.ipynb.*.tmp, images too) a killed update
    left behind, and a half-written record of its language."""
    remove_stale(workspace, "*/.*.tmp")
    remove_stale(workspace, ".*.tmp")


def _cannot_write(workspace: Path, err: OSError) -> CourseError:
    if err.errno == errno.ENOSPC:
        return CourseError(
            _(
                "the disk holding {workspace} is full: free some space (or choose a folder on "
                "another disk with --workspace DIR), then run this again; your notebooks are "
                "as they were"
            ).format(workspace=workspace)
        )
    reason = err.strerror or (os.strerror(err.errno) if err.errno else type(err).__name__)
    return CourseError(
        _(
            "cannot write in {workspace} ({reason}): make it writable, or choose "
            "another folder with --workspace DIR"
        ).format(workspace=workspace, reason=reason)
    )


def _language(workspace: Path, asked: str | None, root: Path) -> str:
    """The workspace's language: the one asked for, else the recorded one, else the one of its
    notebooks (said in a line when the record is missing or damaged), else English."""
    recorded, problem = recorded_language(workspace)
    if recorded is None and (inferred := notebooks_language(workspace)):
        recorded = inferred
        if problem != MISSING or inferred != SOURCE_LANGUAGE:
            print(
                _(
                    "{settings} {problem}: your notebooks are the {language} edition, so the "
                    "workspace stays {language} (recorded again)."
                ).format(
                    settings=_rel(workspace / SETTINGS, root),
                    problem=_(problem),
                    language=inferred.replace("_", "-"),
                )
            )
    elif recorded is None and problem != MISSING and not asked:
        print(
            _("{settings} {problem}: the workspace is English (recorded again).").format(
                settings=_rel(workspace / SETTINGS, root), problem=_(problem)
            )
        )
    language = choose_language(asked) if asked else recorded or SOURCE_LANGUAGE
    if recorded and language != recorded and any(workspace.glob("*/*.ipynb")):
        raise CourseError(
            _(
                "{workspace}/ holds the {recorded} notebooks: use --workspace DIR for the "
                "{language} ones (or drop --lang)."
            ).format(
                workspace=_rel(workspace, root),
                recorded=recorded.replace("_", "-"),
                language=language.replace("_", "-"),
            )
        )
    if language != SOURCE_LANGUAGE and not (root / edition_dir(language)).is_dir():
        raise CourseError(
            _(
                "the {language} edition is not built in {root}: run "
                "`python -m torchcourse translate --build` first."
            ).format(language=language.replace("_", "-"), root=root)
        )
    return language


def start(
    course: Course,
    update: bool = False,
    root: Path | None = None,
    workspace: Path | None = None,
    language: str | None = None,
) -> int:
    """Create the workspace (first time) or bring it up to date (update); print what was done.

    language: 'zh-CN' etc. for a translated edition; by default the workspace's recorded one.
    """
    root = root or course_root()
    workspace = workspace or workspace_dir(root)
    check_workspace(workspace, root)
    language = _language(workspace, language, root)
    if workspace.is_dir():
        clean_stale_copies(workspace)
    plans = [(lesson, plan_lesson(lesson, root, workspace, language)) for lesson in course.lessons]
    missing = [lesson.id for lesson, change in plans if change is None]
    changes = [change for _lesson, change in plans if change is not None]
    published = (root / student_source(course.lessons[0], language)).parents[1]
    if not changes:
        raise CourseError(
            _(
                "{folder} holds no student notebooks: run `python -m torchcourse {command}` first."
            ).format(
                folder=published,
                command="chapters" if language == SOURCE_LANGUAGE else "translate --build",
            )
        )
    existed = any(workspace.glob("*/*.ipynb"))
    pending = [c for c in changes if c.action != UP_TO_DATE]
    if existed and not update:
        print(
            _("{workspace}/ is ready: your notebooks are never overwritten.").format(
                workspace=_rel(workspace, root)
            )
        )
        if pending:
            print(
                _(
                    "{count} lesson(s) are new or have a new version: run "
                    "`torchcourse start --update` to bring them in (your edits are kept)."
                ).format(count=len(pending))
            )
        return 0
    try:
        for change in pending:
            apply(change)
        _record_language(workspace, language)
    except OSError as err:
        raise _cannot_write(workspace, err) from None
    if not existed:
        print(
            _(
                "Created {workspace}/ with {count} notebook(s), your own copies: edit and run "
                "them freely, `git pull` never touches them."
            ).format(workspace=_rel(workspace, root), count=len(pending))
        )
    elif pending:
        print(_("Updated {workspace}/:").format(workspace=_rel(workspace, root)))
        for change in pending:
            print(change.line(root))
    else:
        print(_("{workspace}/ is up to date.").format(workspace=_rel(workspace, root)))
    if missing:
        print(
            _("Not yet published in {folder}/: lesson(s) {ids}.").format(
                folder=_rel(published, root), ids=", ".join(missing)
            )
        )
    return 0


def _record_language(workspace: Path, language: str) -> None:
    """Write the workspace's language where `lab`, `progress` and later updates read it."""
    if recorded_language(workspace)[0] != language:
        path, tmp = workspace / SETTINGS, tmp_path(workspace / SETTINGS)
        try:
            tmp.write_text(json.dumps({"lang": language}) + "\n", encoding="utf-8")
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
