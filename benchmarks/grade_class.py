"""Time `torchcourse grade` on a synthetic class and print how it scales with -j.

Every student hands in the solution notebooks (every exercise answered: the slowest case, as
each notebook runs and each answer is checked). Untouched or missing notebooks cost nothing.

    python benchmarks/grade_class.py --students 30 --jobs 1 2                 # all 9 lessons
    python benchmarks/grade_class.py --students 4 --lessons 00 01 02 --jobs 1 2
"""

from __future__ import annotations

import argparse
import csv
import shutil
import tempfile
import time
from pathlib import Path

from torchcourse.grade import grade
from torchcourse.manifest import load_course

ROOT = Path(__file__).resolve().parents[1]


def build(folder: Path, students: int, lessons) -> None:
    for n in range(1, students + 1):
        for lesson in lessons:
            target = folder / f"student{n:02d}" / "workspace" / lesson.name
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / lesson.solution, target / f"{lesson.name}.ipynb")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--lessons", nargs="*", metavar="ID", help="default: all")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    course = load_course(ROOT / "lessons.yml")
    lessons = [course.lesson(k) for k in args.lessons] if args.lessons else course.lessons
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        build(folder, args.students, lessons)
        for jobs in args.jobs:
            out = Path(tmp) / f"grades-j{jobs}"
            started = time.perf_counter()
            grade(course, folder, args.lessons, out, jobs)
            seconds = time.perf_counter() - started
            with (out / "gradebook.csv").open(encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            passed = sum(int(row["passed"]) for row in rows)
            total = sum(
                int(row[s])
                for row in rows
                for s in ("passed", "failed", "not attempted", "not graded")
            )
            notebooks = args.students * len(lessons)
            print(
                f"-j {jobs}: {args.students} students x {len(lessons)} lessons = {notebooks} "
                f"notebooks in {seconds:.0f} s ({seconds / notebooks:.1f} s per notebook); "
                f"{passed}/{total} exercises passed"
            )


if __name__ == "__main__":
    main()
