"""The `torchcourse` command line (also `python -m torchcourse`)."""

from __future__ import annotations

import argparse
import sys

from torchcourse.errors import CourseError


def _list(args) -> int:
    from torchcourse.manifest import load_course

    for lesson in load_course().lessons:
        devices = "+".join(lesson.devices)
        print(f"{lesson.id}  {lesson.title:<34} {lesson.minutes:>3} min  "
              f"{len(lesson.exercises)} exercises  {devices}")
    return 0


def _doctor(args) -> int:
    from torchcourse.doctor import doctor

    return doctor()


def _chapters(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.student import write_chapters

    write_chapters(load_course(), args.lessons, force=args.force,
                   with_solutions=args.with_solutions)
    return 0


def _verify(args) -> int:
    from torchcourse.manifest import load_course
    from torchcourse.verify import verify

    return verify(load_course(), args.lessons, args.device, args.record)


def parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    top = argparse.ArgumentParser(prog="torchcourse", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    sub.add_parser("list", help="the lessons in lessons.yml").set_defaults(run=_list)
    sub.add_parser("doctor", help="versions, GPU and dataset checks").set_defaults(run=_doctor)

    chapters = sub.add_parser("chapters", help="regenerate student notebooks from solutions/")
    chapters.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    chapters.add_argument("--with-solutions", action="store_true",
                          help="re-execute the solution notebooks first")
    chapters.add_argument("--force", action="store_true",
                          help="overwrite a student notebook that was edited by hand")
    chapters.set_defaults(run=_chapters)

    verify = sub.add_parser("verify", help="run nbval on lessons with a forced device")
    verify.add_argument("lessons", nargs="*", metavar="LESSON", help="ids; default: all")
    verify.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    verify.add_argument("--record", action="store_true",
                        help="write verification/<id>-<device>.json for the site's badge")
    verify.set_defaults(run=_verify)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; a CourseError becomes one line on stderr and exit status 1."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except CourseError as err:
        print(f"torchcourse {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
