"""The `torchcourse` command line (also `python -m torchcourse`).

It speaks the learner's language: `--lang`, else $TORCHCOURSE_LANG, else the language of the
workspace (`start --lang` remembers it), else the system locale ($LC_ALL, $LC_MESSAGES, $LANG).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Iterator

from torchcourse.errors import CourseError
from torchcourse.i18n import LANG_ENV, N_, _, normalize, pad, system_language, use_language

# nbformat imports jsonschema, and jsonschema imports rfc3987-syntax where it is installed (Jupyter
# installs it): that module builds some 35 Lark parsers for the "iri" string format, 0.8 s at
# every start of a command. No notebook schema uses that format, so the command blocks the import
# and jsonschema leaves that one format unchecked (python-jsonschema/jsonschema#1428).
sys.modules.setdefault("rfc3987_syntax", None)

# argparse's own texts (it looks them up with gettext), for the catalogs
ARGPARSE_TEXTS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("invalid %(type)s value: %(value)r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
)


@contextlib.contextmanager
def _argparse_speaks() -> Iterator[None]:
    """argparse's texts ("usage:", "options", its errors) in the learner's language: argparse
    looks them up through its module's `_` and `ngettext`, which point at ours meanwhile."""
    saved = argparse._, argparse.ngettext
    argparse._ = lambda text: _(text) if text else text
    argparse.ngettext = lambda one, many, n: _(one if n == 1 else many)
    try:
        yield
    finally:
        argparse._, argparse.ngettext = saved


def cli_language(argv: list[str]) -> str:
    """The language the command line speaks (see the module's docstring)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--lang")
    early.add_argument("--workspace")
    known = early.parse_known_args(argv)[0]
    if chosen := normalize(known.lang or "") or normalize(os.environ.get(LANG_ENV, "")):
        return chosen
    try:
        from pathlib import Path

        from torchcourse.paths import find_course_root
        from torchcourse.workspace import workspace_dir, workspace_language

        root = find_course_root()
        if known.workspace:
            workspace = Path(known.workspace).resolve()
        else:
            workspace = workspace_dir(root) if root else None
        if workspace is not None and workspace.is_dir():
            if found := workspace_language(workspace):
                return found
    except Exception:  # a damaged workspace: the command itself says what is wrong
        pass
    return system_language()


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line and exit status 1 (not usage text and 2)."""

    def error(self, message: str):
        print(
            _("{prog}: {message}: see `{prog} --help`.").format(prog=self.prog, message=message),
            file=sys.stderr,
        )
        sys.exit(1)


def _positive(text: str, problem: str) -> float:
    """text as a positive, finite number; otherwise argparse's one-line error, problem."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(problem.format(text=repr(text)))
    return value


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    return _positive(text, _("{text} is not a positive number of seconds (e.g. --timeout 300)"))


def _gigabytes(text: str) -> float:
    """A positive, finite number of gigabytes (argparse type)."""
    return _positive(text, _("{text} is not a positive number of gigabytes (e.g. --memory 4)"))


def _list(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.paths import course_root

    root = course_root()
    for lesson in load_course().lessons:
        devices = "+".join(lesson.devices)
        minutes = _("{minutes} min").format(minutes=f"{lesson.minutes:>3}")
        exercises = _("{count} exercises").format(count=len(lesson.exercises))
        print(f"{lesson.id}  {pad(_(lesson.title), 52)} {minutes}  {exercises}  {devices}")
        if not (root / lesson.solution).is_file():
            print(
                _("    missing: {path} (restore it with git, or fix lessons.yml)").format(
                    path=lesson.solution
                )
            )
        if not (root / lesson.notebook).is_file():
            print(
                _(
                    "    missing: {path} (generate it with `python -m torchcourse chapters {id}`)"
                ).format(path=lesson.notebook, id=lesson.id)
            )
    return 0


def _doctor(args) -> int:
    from torchcourse.doctor import doctor

    return doctor()


def _chapters(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.student import write_chapters

    write_chapters(
        load_course(), args.lessons, force=args.force, with_solutions=args.with_solutions
    )
    return 0


def _verify(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.verify import verify

    return verify(load_course(), args.lessons, args.device, args.record)


def _new_workspace_edition(workspace) -> str | None:
    """Without --lang, a new workspace gets the edition in the language the command line speaks
    ($TORCHCOURSE_LANG or the system locale), when the course has it built; None otherwise."""
    from torchcourse.i18n import SOURCE_LANGUAGE, language
    from torchcourse.paths import course_root
    from torchcourse.translate import edition_dir
    from torchcourse.workspace import workspace_dir, workspace_language

    chosen = language()
    if chosen == SOURCE_LANGUAGE:
        return None
    root = course_root()
    workspace = workspace or workspace_dir(root)
    if workspace.is_dir() and workspace_language(workspace):
        return None  # an existing workspace keeps its edition
    return chosen if (root / edition_dir(chosen)).is_dir() else None


def _start(args) -> int:
    from pathlib import Path

    from torchcourse.manifest import load_course
    from torchcourse.workspace import start

    workspace = Path(args.workspace).resolve() if args.workspace else None
    language = args.lang or _new_workspace_edition(workspace)
    return start(load_course(), update=args.update, workspace=workspace, language=language)


def _lab(args) -> int:
    from pathlib import Path

    from torchcourse.lab import lab
    from torchcourse.manifest import load_course

    workspace = Path(args.workspace).resolve() if args.workspace else None
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    language = args.lang or _new_workspace_edition(workspace)
    return lab(load_course(), workspace, extra, language=language)


def _progress(args) -> int:
    from pathlib import Path

    from torchcourse.manifest import load_course
    from torchcourse.progress import progress

    workspace = Path(args.workspace).resolve() if args.workspace else None
    return progress(load_course(), args.lessons, timeout=args.timeout, workspace=workspace)


def _grade(args) -> int:
    from pathlib import Path

    from torchcourse.grade import Limits, grade
    from torchcourse.manifest import load_course

    limits = Limits(notebook_seconds=args.timeout, memory=int(args.memory * 2**30))
    return grade(
        load_course(), Path(args.submissions), args.lessons, Path(args.out), args.jobs, limits
    )


def _translate(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.translate import translate

    if not (args.update or args.build):
        raise CourseError(
            _("say what to do: --update (the catalogs), --build (the notebooks), or both.")
        )
    return translate(load_course(), args.update, args.build, args.lessons)


def _new(args) -> int:
    from torchcourse.scaffold import new_lesson

    new_lesson(args.name, args.title, args.prerequisites)
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    top = _Parser(
        prog="torchcourse",
        description=_("The course's command line: the lessons, your workspace, your progress."),
    )
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help=_("the lessons in lessons.yml")).set_defaults(run=_list)
    sub.add_parser("doctor", help=_("versions, GPU and dataset checks")).set_defaults(run=_doctor)

    chapters = sub.add_parser("chapters", help=_("regenerate student notebooks from solutions/"))
    chapters.add_argument("lessons", nargs="*", metavar="LESSON", help=_("ids; default: all"))
    chapters.add_argument(
        "--with-solutions", action="store_true", help=_("re-execute the solution notebooks first")
    )
    chapters.add_argument(
        "--force",
        action="store_true",
        help=_("overwrite a student notebook that was edited by hand"),
    )
    chapters.set_defaults(run=_chapters)

    verify = sub.add_parser("verify", help=_("run nbval on lessons with a forced device"))
    verify.add_argument("lessons", nargs="*", metavar="LESSON", help=_("ids; default: all"))
    verify.add_argument(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help=_("cpu (default) or an accelerator PyTorch knows: cuda, mps, xpu, ..."),
    )
    verify.add_argument(
        "--record",
        action="store_true",
        help=_("write verification/<id>-<device type>.json for the site's badge"),
    )
    verify.set_defaults(run=_verify)

    start = sub.add_parser("start", help=_("copy the student notebooks into your own workspace/"))
    start.add_argument(
        "--update",
        action="store_true",
        help=_("bring in new lessons and new versions; edited notebooks are kept"),
    )
    start.add_argument("--workspace", metavar="DIR", help=_("default: workspace/ in the course"))
    start.add_argument(
        "--lang",
        metavar="LANG",
        help=_("the notebooks of a translated edition, e.g. zh-CN (remembered by the workspace)"),
    )
    start.set_defaults(run=_start)

    lab = sub.add_parser(
        "lab", help=_("create or update workspace/, then open JupyterLab there (= `make lab`)")
    )
    lab.add_argument("--workspace", metavar="DIR", help=_("default: workspace/ in the course"))
    lab.add_argument("--lang", metavar="LANG", help=_("as for start, e.g. zh-CN"))
    lab.add_argument(
        "jupyter_args",
        nargs=argparse.REMAINDER,
        metavar="-- JUPYTER_ARGS",
        help=_("passed on to JupyterLab, e.g. -- --port 9999 --no-browser"),
    )
    lab.set_defaults(run=_lab)

    prog = sub.add_parser("progress", help=_("run your workspace notebooks' checks, one table"))
    prog.add_argument("lessons", nargs="*", metavar="LESSON", help=_("ids; default: all"))
    prog.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help=_("time for one notebook; default 2 x its max_seconds_cpu + 30"),
    )
    prog.add_argument("--workspace", metavar="DIR", help=_("default: workspace/ in the course"))
    prog.set_defaults(run=_progress)

    grade = sub.add_parser("grade", help=_("grade a class's notebooks with the course's checks"))
    grade.add_argument(
        "submissions", metavar="SUBMISSIONS", help=_("one folder or .zip per student")
    )
    grade.add_argument("lessons", nargs="*", metavar="LESSON", help=_("ids; default: all"))
    grade.add_argument("--out", default="grades", metavar="DIR", help=_("default: grades/"))
    grade.add_argument(
        "-j", "--jobs", type=int, default=1, metavar="N", help=_("notebooks at once")
    )
    grade.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help=_("time for one notebook; default 2 x its max_seconds_cpu + 30"),
    )
    grade.add_argument(
        "--memory",
        type=_gigabytes,
        default=4.0,
        metavar="GB",
        help=_("memory one notebook may allocate beyond Python and PyTorch; default 4"),
    )
    grade.set_defaults(run=_grade)

    translate = sub.add_parser(
        "translate", help=_("update the catalogs, build translated notebooks")
    )
    translate.add_argument(
        "lessons", nargs="*", metavar="LESSON", help=_("ids for --build; default: all")
    )
    translate.add_argument(
        "--update", action="store_true", help=_("bring locales/ in step with the English source")
    )
    translate.add_argument(
        "--build", action="store_true", help=_("write and run the translated notebooks")
    )
    translate.set_defaults(run=_translate)

    new = sub.add_parser("new", help=_('scaffold a lesson: new NN-slug "Title"'))
    new.add_argument("name", metavar="NN-slug", help=_("e.g. 99-transfer-learning (a free id)"))
    new.add_argument("title", help=_('e.g. "Transfer learning"'))
    new.add_argument(
        "--prerequisites", nargs="*", metavar="ID", help=_("lesson ids; default: the last lesson")
    )
    new.set_defaults(run=_new)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command in the learner's language; a CourseError becomes one line on stderr
    and exit status 1."""
    argv = sys.argv[1:] if argv is None else argv
    with use_language(cli_language(argv)), _argparse_speaks():
        return _main(argv)


def _main(argv: list[str]) -> int:
    top = parser()
    args, unknown = top.parse_known_args(argv)
    if unknown and args.command == "lab":
        print(
            _(
                "torchcourse lab: {args} is not an option of lab: JupyterLab's options go after "
                "`--`, e.g. `torchcourse lab -- {args}`."
            ).format(args=" ".join(unknown)),
            file=sys.stderr,
        )
        return 1
    if unknown:
        top.error(_("unrecognized arguments: %s") % " ".join(unknown))
    try:
        return args.run(args)
    except CourseError as err:
        print(
            _("torchcourse {command}: {error}").format(command=args.command, error=err),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(
            _("torchcourse {command}: stopped (Ctrl-C).").format(command=args.command),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
