"""Build the course website: Sphinx + myst-nb + sphinx-book-theme, from lessons.yml.

`python -m torchcourse.site` (or `make site`) generates a Sphinx source folder from the manifest
(home page, table of contents, one page per student notebook with its facts, badge, downloads and
launch links) and builds it, offline and without executing a notebook, into site/_build/html.
Nothing in the table of contents is kept by hand: it is lessons.yml, in order.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from torchcourse.errors import CourseError
from torchcourse.manifest import MANIFEST, Course, Lesson, load_course
from torchcourse.paths import course_root
from torchcourse.verify import RECORDS

SITE = "site"
DEVICE_NAMES = {"cpu": "CPU", "cuda": "CUDA"}
FACTS_CELL_ID = "torchcourse-lesson-facts"
DOWNLOADS = "_notebooks"  # inside the source folder; excluded from pages, offered as downloads
MARKER = ".torchcourse-site"  # marks a source folder this module generated (and may prune)


class SiteBuildError(CourseError):
    """Sphinx failed or warned; the message carries its warnings."""


# --- what a lesson page shows ---------------------------------------------------------------


def verification_badge(lesson: Lesson, records: Path) -> str | None:
    """'verified with torch X.Y on CPU [and CUDA], DATE' from verification/<id>-<device>.json.

    Only records with "passed": true count; with none, there is no badge.
    """
    passed = []
    for device in ("cpu", "cuda"):
        path = records / f"{lesson.id}-{device}.json"
        if not path.is_file():
            continue
        fix = f"re-run `python -m torchcourse verify {lesson.id} --device {device} --record`"
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            ok, torch_version, date = record["passed"], record["torch"], record["date"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise CourseError(f"{path} is not a verification record ({err}): {fix}.") from None
        if record.get("lesson", lesson.id) != lesson.id or record.get("device", device) != device:
            raise CourseError(
                f"{path} records lesson {record.get('lesson')!r} on "
                f"{record.get('device')!r}, not {lesson.id} on {device}: {fix}."
            )
        match = re.match(r"(\d+)\.(\d+)", str(torch_version))
        if ok is True and match:
            passed.append((device, f"{match[1]}.{match[2]}", str(date)))
    if not passed:
        return None
    date = max(d for _, _, d in passed)
    versions = {v for _, v, _ in passed}
    if len(versions) == 1:
        devices = " and ".join(DEVICE_NAMES[dev] for dev, _, _ in passed)
        return f"verified with torch {versions.pop()} on {devices}, {date}"
    parts = " and ".join(f"torch {v} on {DEVICE_NAMES[dev]}" for dev, v, _ in passed)
    return f"verified with {parts}, {date}"


def launch_urls(course: Course, lesson: Lesson) -> dict[str, str]:
    """Colab and Binder links to the student notebook, from course.repository and .branch."""
    repo = course.course.repository.removeprefix("https://github.com/").strip("/")
    branch = course.course.branch
    path = lesson.notebook
    return {
        "colab": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}",
        "binder": f"https://mybinder.org/v2/gh/{repo}/{branch}?labpath={quote(path, safe='')}",
    }


def lesson_context(course: Course, lesson: Lesson, root: Path) -> dict:
    """Everything the templates say about one lesson."""
    return {
        **lesson.model_dump(),
        "name": lesson.name,
        "devices_text": " or ".join(DEVICE_NAMES[d] for d in lesson.devices),
        "badge": verification_badge(lesson, root / RECORDS),
        **launch_urls(course, lesson),
    }


# --- the generated Sphinx source folder ------------------------------------------------------


class _Writer:
    """Writes files only when their content changes (so Sphinx rebuilds only what changed),
    and removes what an earlier run wrote but this one did not."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.written: set[Path] = set()

    def write(self, rel: str, data: bytes | str) -> None:
        path = self.folder / rel
        data = data.encode("utf-8") if isinstance(data, str) else data
        if not path.is_file() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        self.written.add(path)

    def prune(self) -> None:
        for path in sorted(self.folder.rglob("*"), reverse=True):
            if path.is_file() and path not in self.written:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def _templates(site: Path):
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(site / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def _lesson_page(notebook: Path, facts: str) -> str:
    """The student notebook with the facts cell inserted after its title cell."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cell = nbformat.v4.new_markdown_cell(facts)
    cell.id = FACTS_CELL_ID
    nb.cells.insert(1, cell)
    return nbformat.writes(nb) + "\n"


def generate(root: Path, srcdir: Path, manifest: Path | None = None) -> Course:
    """Write the Sphinx source folder for the course at root into srcdir."""
    if srcdir.is_dir() and any(srcdir.iterdir()) and not (srcdir / MARKER).is_file():
        raise CourseError(
            f"{srcdir} is not empty and was not generated by torchcourse.site, which would "
            "delete its files: choose a new or empty folder for the generated sources."
        )
    course = load_course(manifest or root / MANIFEST)
    site = root / SITE
    for lesson in course.lessons:
        for rel in (lesson.notebook, lesson.solution):
            if not (root / rel).is_file():
                raise CourseError(
                    f"{MANIFEST} names {rel}, which does not exist: write lesson {lesson.id} (or "
                    f"run `python -m torchcourse chapters {lesson.id}`) before building the site."
                )
    env = _templates(site)
    lessons = [lesson_context(course, lesson, root) for lesson in course.lessons]
    out = _Writer(srcdir)
    out.write(MARKER, "Generated by `python -m torchcourse.site` from lessons.yml; do not edit.\n")
    out.write("conf.py", (site / "conf.py").read_bytes())
    for path in sorted((site / "_static").rglob("*")):
        if path.is_file():
            out.write(path.relative_to(site).as_posix(), path.read_bytes())
    out.write("course.json", json.dumps(course.course.model_dump(), indent=2) + "\n")
    minutes = sum(lesson.minutes for lesson in course.lessons)
    out.write(
        "index.md",
        env.get_template("index.md").render(
            course=course.course, lessons=lessons, hours=max(1, round(minutes / 60))
        ),
    )
    facts = env.get_template("lesson-facts.md")
    for lesson, context in zip(course.lessons, lessons, strict=True):
        page = _lesson_page(root / lesson.notebook, facts.render(lesson=context).strip())
        out.write(f"{lesson.name}/{lesson.name}.ipynb", page)
        out.write(f"{DOWNLOADS}/{lesson.name}.ipynb", (root / lesson.notebook).read_bytes())
        out.write(
            f"{DOWNLOADS}/{lesson.name}-solution.ipynb", (root / lesson.solution).read_bytes()
        )
    out.prune()
    return course


def build(srcdir: Path, outdir: Path, strict: bool = True) -> float:
    """Run Sphinx on srcdir into outdir; with strict, any warning fails. Returns seconds."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        warnings = Path(tmp) / "warnings.txt"
        strictness = ["-W", "--keep-going"] if strict else []
        command = [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            *strictness,
            "-w",
            str(warnings),
            str(srcdir),
            str(outdir),
        ]
        proc = subprocess.run(command, capture_output=True, text=True)
        text = warnings.read_text(encoding="utf-8").strip() if warnings.is_file() else ""
    if proc.returncode:
        detail = text or (proc.stdout + proc.stderr).strip()[-4000:]
        raise SiteBuildError(f"the site build failed (sphinx exit {proc.returncode}):\n{detail}")
    if text:
        print(text, file=sys.stderr)
    return time.perf_counter() - start


def build_site(
    root: Path,
    out: Path,
    srcdir: Path | None = None,
    manifest: Path | None = None,
    strict: bool = True,
) -> tuple[Course, float]:
    """Generate and build; the HTML lands in out. Returns the course and the seconds taken."""
    start = time.perf_counter()
    course = generate(root, srcdir or out.parent / "_source", manifest)
    build(srcdir or out.parent / "_source", out, strict)
    return course, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    """`python -m torchcourse.site`: build the website and say where it is."""
    root = course_root()
    parser = argparse.ArgumentParser(prog="python -m torchcourse.site", description=__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=root / SITE / "_build" / "html",
        help="where the HTML goes (default: site/_build/html)",
    )
    parser.add_argument(
        "--src",
        type=Path,
        default=root / SITE / "_generated",
        help="where the generated Sphinx sources go (default: site/_generated)",
    )
    parser.add_argument("--manifest", type=Path, help=f"another {MANIFEST} (default: the course's)")
    parser.add_argument(
        "--allow-warnings",
        action="store_true",
        help="do not fail on Sphinx warnings (they are still printed)",
    )
    args = parser.parse_args(argv)
    try:
        _, seconds = build_site(root, args.out, args.src, args.manifest, not args.allow_warnings)
    except CourseError as err:
        print(f"torchcourse site: {err}", file=sys.stderr)
        return 1
    index = args.out.resolve() / "index.html"
    shown = index.relative_to(Path.cwd()) if index.is_relative_to(Path.cwd()) else index
    print(f"Built the site in {seconds:.1f} s: open {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
