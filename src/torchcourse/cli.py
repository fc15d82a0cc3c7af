"""The `torchcourse` command line (also `python -m torchcourse`)."""

from __future__ import annotations

import argparse
import math
import sys

from torchcourse.errors import CourseError
from torchcourse.i18n import _


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error as one line and exit status 1 (not usage text and 2)."""

    def error(self, message: str):
        print(f"{self.prog}: {message}: see `{self.prog} --help`.", file=sys.stderr)
        sys.exit(1)


def _seconds(text: str) -> float:
    """A positive, finite number of seconds (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            _("{text} is not a positive number of seconds (e.g. --timeout 300)").format(
                text=repr(text)
            )
        )
    return value


def _gigabytes(text: str) -> float:
    """A positive, finite number of gigabytes (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(
            _("{text} is not a positive number of gigabytes (e.g. --memory 4)").format(
                text=repr(text)
            )
        )
    return value


def _list(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.paths import course_root

    root = course_root()
    for lesson in load_course().lessons:
        devices = "+".join(lesson.devices)
        print(
            f"{lesson.id}  {lesson.title:<52} {lesson.minutes:>3} min  "
            f"{len(lesson.exercises)} exercises  {devices}"
        )
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


def _start(args) -> int:
    from pathlib import Path

    from torchcourse.manifest import load_course
    from torchcourse.workspace import start

    workspace = Path(args.workspace).resolve() if args.workspace else None
    return start(load_course(), update=args.update, workspace=workspace, language=args.lang)


def _lab(args) -> int:
    from pathlib import Path

    from torchcourse.lab import lab
    from torchcourse.manifest import load_course

    workspace = Path(args.workspace).resolve() if args.workspace else None
    extra = args.jupyter_args[1:] if args.jupyter_args[:1] == ["--"] else args.jupyter_args
    return lab(load_course(), workspace, extra, language=args.lang)


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
            "say what to do: --update (the catalogs), --build (the notebooks), or both."
        )
    return translate(load_course(), args.update, args.build, args.lessons)


def _new(args) -> int:
    from torchcourse.scaffold import new_lesson

    new_lesson(args.name, args.title, args.prerequisites)
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    top = _Parser(prog="torchcourse", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the lessons in lessons.yml").set_defaults(run=_list)
    sub.add_parser("doctor", help="versions, GPU and dataset checks").set_defaults(run=_doctor)

    chapters = sub.add_parser("chapters", help="regenerate student notebooks from solutions/")
    chapters.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    chapters.add_argument(
        "--with-solutions", action="store_true", help="re-execute the solution notebooks first"
    )
    chapters.add_argument(
        "--force", action="store_true", help="overwrite a student notebook that was edited by hand"
    )
    chapters.set_defaults(run=_chapters)

    verify = sub.add_parser("verify", help="run nbval on lessons with a forced device")
    verify.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    verify.add_argument(
        "--device",
        default="cpu",
        metavar="DEVICE",
        help="cpu (default) or an accelerator PyTorch knows: cuda, mps, xpu, ...",
    )
    verify.add_argument(
        "--record",
        action="store_true",
        help="write verification/<id>-<device type>.json for the site's badge",
    )
    verify.set_defaults(run=_verify)

    start = sub.add_parser("start", help="copy the student notebooks into your own workspace/")
    start.add_argument(
        "--update",
        action="store_true",
        help="bring in new lessons and new versions; edited notebooks are kept",
    )
    start.add_argument("--workspace", metavar="DIR", help="default: workspace/ in the course")
    start.add_argument(
        "--lang",
        metavar="LANG",
        help="the notebooks of a translated edition, e.g. zh-CN (remembered by the workspace)",
    )
    start.set_defaults(run=_start)

    lab = sub.add_parser(
        "lab", help="create or update workspace/, then open JupyterLab there (= make lab)"
    )
    lab.add_argument("--workspace", metavar="DIR", help="default: workspace/ in the course")
    lab.add_argument("--lang", metavar="LANG", help="as for start, e.g. zh-CN")
    lab.add_argument(
        "jupyter_args",
        nargs=argparse.REMAINDER,
        metavar="-- JUPYTER_ARGS",
        help="passed on to JupyterLab, e.g. -- --port 9999 --no-browser",
    )
    lab.set_defaults(run=_lab)

    prog = sub.add_parser("progress", help="run your workspace notebooks' checks, one table")
    prog.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    prog.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="time for one notebook; default 2 x its max_seconds_cpu + 30",
    )
    prog.add_argument("--workspace", metavar="DIR", help="default: workspace/ in the course")
    prog.set_defaults(run=_progress)

    grade = sub.add_parser("grade", help="grade a class's notebooks with the course's checks")
    grade.add_argument("submissions", metavar="SUBMISSIONS", help="one folder or .zip per student")
    grade.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    grade.add_argument("--out", default="grades", metavar="DIR", help="default: grades/")
    grade.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="notebooks at once")
    grade.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="time for one notebook; default 2 x its max_seconds_cpu + 30",
    )
    grade.add_argument(
        "--memory",
        type=_gigabytes,
        default=4.0,
        metavar="GB",
        help="memory one notebook may allocate beyond Python and PyTorch; default 4",
    )
    grade.set_defaults(run=_grade)

    translate = sub.add_parser("translate", help="update the catalogs, build translated notebooks")
    translate.add_argument(
        "lessons", nargs="*", metavar="LESSON", help="ids for --build; default: all"
    )
    translate.add_argument(
        "--update", action="store_true", help="bring locales/ in step with the English source"
    )
    translate.add_argument(
        "--build", action="store_true", help="write and run the translated notebooks"
    )
    translate.set_defaults(run=_translate)

    new = sub.add_parser("new", help='scaffold a lesson: new NN-slug "Title"')
    new.add_argument("name", metavar="NN-slug", help="e.g. 99-transfer-learning (a free id)")
    new.add_argument("title", help='e.g. "Transfer learning"')
    new.add_argument(
        "--prerequisites", nargs="*", metavar="ID", help="lesson ids; default: the last lesson"
    )
    new.set_defaults(run=_new)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; a CourseError becomes one line on stderr and exit status 1."""
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
        top.error("unrecognized arguments: " + " ".join(unknown))
    try:
        return args.run(args)
    except CourseError as err:
        print(f"torchcourse {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            _("torchcourse {command}: stopped (Ctrl-C).").format(command=args.command),
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
