"""Build the course website: Sphinx + myst-nb + sphinx-book-theme, from lessons.yml.

`python -m torchcourse.site` (or `make site`) generates a Sphinx source folder from the manifest
(home page, table of contents, one page per student notebook with its facts, badge, downloads and
launch links) and builds it, offline and without executing a notebook, into site/_build/html.
Nothing in the table of contents is kept by hand: it is lessons.yml, in order.

Every translated edition (see torchcourse.translate) gets the same site in its language under
site/_build/html/<edition>/ (zh-CN/), and every page links to its counterparts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from torchcourse import __version__
from torchcourse.errors import CourseError
from torchcourse.i18n import LANGUAGES, SOURCE_LANGUAGE, _, translations, use_language
from torchcourse.manifest import MANIFEST, Course, Lesson, load_course
from torchcourse.paths import course_root
from torchcourse.records import RECORDS, device_label, summary, verification_badge
from torchcourse.release import bundle, bundle_name
from torchcourse.translate import (
    edition_dir,
    glossary,
    glossary_file,
    languages,
    translated_path,
)
from torchcourse.workspace import WORKSPACE

SITE = "site"
FACTS_CELL_ID = "torchcourse-lesson-facts"
DOWNLOADS = "_notebooks"  # inside the source folder; excluded from pages, offered as downloads
GLOSSARY_PAGE = "glossary.md"  # a translated edition's terms (locales/<lang>/glossary.md)
MARKER = ".torchcourse-site"  # marks a source folder this module generated (and may prune)


class SiteBuildError(CourseError):
    """Sphinx failed or warned; the message carries its warnings."""


# --- what a lesson page shows ---------------------------------------------------------------


def binder_workspace(language: str) -> str:
    """The workspace binder/postBuild makes for an edition (`torchcourse start`)."""
    return WORKSPACE if language == SOURCE_LANGUAGE else f"{WORKSPACE}-{edition_dir(language)}"


def launch_urls(course: Course, lesson: Lesson, language: str = SOURCE_LANGUAGE) -> dict[str, str]:
    """Colab and Binder links to a lesson's student notebook, from course.repository and
    .branch: Colab opens the edition's notebook, Binder the learner's copy in its workspace."""
    repo = course.course.repository.removeprefix("https://github.com/").strip("/")
    branch = course.course.branch
    notebook = edition_paths(lesson, language)[0]
    copy = f"lab/tree/{binder_workspace(language)}/{lesson.name}/{lesson.name}.ipynb"
    return {
        "colab": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{notebook}",
        "binder": f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath={quote(copy, safe='')}",
    }


def edition_paths(lesson: Lesson, language: str) -> tuple[str, str]:
    """(student notebook, solution notebook) of the lesson in that language's edition."""
    if language == SOURCE_LANGUAGE:
        return lesson.notebook, lesson.solution
    return translated_path(lesson.notebook, language), translated_path(lesson.solution, language)


def lesson_text(text: str, language: str) -> str:
    """A lesson's title or objective in the language (its catalog), else as written."""
    return translations(language).get(text, text)


def lesson_context(course: Course, lesson: Lesson, root: Path, language: str) -> dict:
    """Everything the templates say about one lesson, in the language of the current build."""
    return {
        **lesson.model_dump(),
        "title": lesson_text(lesson.title, language),
        "objectives": [lesson_text(o, language) for o in lesson.objectives],
        "name": lesson.name,
        "devices_text": ", ".join(device_label(d) for d in lesson.devices),
        "badge": verification_badge(lesson, root / RECORDS),
        **launch_urls(course, lesson, language),
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
    """The page templates; their {% trans %} blocks go through the catalogs (torchcourse.po)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(site / "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(
        gettext=_, ngettext=lambda one, many, n: _(one if n == 1 else many), newstyle=True
    )
    return env


def _lesson_page(notebook: Path, facts: str) -> str:
    """The student notebook with the facts cell inserted after its title cell."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    cell = nbformat.v4.new_markdown_cell(facts)
    cell.id = FACTS_CELL_ID
    nb.cells.insert(1, cell)
    return nbformat.writes(nb) + "\n"


def site_languages(root: Path) -> list[str]:
    """English, then every language whose edition has been built (torchcourse translate)."""
    return [SOURCE_LANGUAGE] + [code for code in languages() if (root / edition_dir(code)).is_dir()]


def _switcher(language: str, built: list[str]) -> list[list[str]]:
    """[code, name, path prefix from this edition's root to that one's] for each language."""
    up = "" if language == SOURCE_LANGUAGE else "../"
    return [
        [code, LANGUAGES[code], up + ("" if code == SOURCE_LANGUAGE else edition_dir(code) + "/")]
        for code in built
    ]


def generate(
    root: Path,
    srcdir: Path,
    manifest: Path | None = None,
    language: str = SOURCE_LANGUAGE,
    built: list[str] | None = None,
) -> Course:
    """Write the Sphinx source folder of the course's site in one language into srcdir."""
    if srcdir.is_dir() and any(srcdir.iterdir()) and not (srcdir / MARKER).is_file():
        raise CourseError(
            f"{srcdir} is not empty and was not generated by torchcourse.site, which would "
            "delete its files: choose a new or empty folder for the generated sources."
        )
    course = load_course(manifest or root / MANIFEST)
    site = root / SITE
    for lesson in course.lessons:
        for rel in edition_paths(lesson, language):
            if not (root / rel).is_file():
                fix = (
                    f"run `python -m torchcourse chapters {lesson.id}`"
                    if language == SOURCE_LANGUAGE
                    else f"run `python -m torchcourse translate --build {lesson.id}`"
                )
                raise CourseError(
                    f"the site needs {rel}, which does not exist: {fix} before building the site."
                )
    with use_language(language):
        env = _templates(site)
        lessons = [lesson_context(course, lesson, root, language) for lesson in course.lessons]
        info = {
            **course.course.model_dump(),
            "title": _(course.course.title),
            "tagline": _(course.course.tagline),
        }
        out = _Writer(srcdir)
        out.write(MARKER, "Generated by `python -m torchcourse.site`; do not edit.\n")
        out.write("conf.py", (site / "conf.py").read_bytes())
        for path in sorted((site / "_static").rglob("*")):
            if path.is_file():
                out.write(path.relative_to(site).as_posix(), path.read_bytes())
        for path in sorted((site / "_templates").rglob("*")):
            if path.is_file():
                out.write(path.relative_to(site).as_posix(), path.read_bytes())
        settings = {
            **info,
            "language": language,
            "languages": _switcher(language, built or [language]),
            "search_words": "search_words.txt" if language != SOURCE_LANGUAGE else "",
        }
        out.write("course.json", json.dumps(settings, indent=2, ensure_ascii=False) + "\n")
        if language != SOURCE_LANGUAGE:  # words the Chinese search must keep whole
            words = "".join(f"{zh} 1000\n" for _en, zh in glossary(language))
            out.write("search_words.txt", words)
        terms = glossary_file(language)  # a translated edition's glossary is one of its pages
        has_glossary = language != SOURCE_LANGUAGE and terms.is_file()
        if has_glossary:
            out.write(GLOSSARY_PAGE, terms.read_bytes())
        readme = f"README.{edition_dir(language)}.md"
        readme_url = (
            f"{course.course.repository}/blob/{course.course.branch}/{readme}"
            if language != SOURCE_LANGUAGE and (root / readme).is_file()
            else ""
        )
        minutes = sum(lesson.minutes for lesson in course.lessons)
        zipped = bundle_name(language, __version__)  # the edition's notebooks, for offline use
        out.write(f"{DOWNLOADS}/{zipped}", bundle(root, course, language, __version__))
        out.write(
            "index.md",
            env.get_template("index.md").render(
                course=info,
                lessons=lessons,
                hours=max(1, round(minutes / 60)),
                bundle=f"{DOWNLOADS}/{zipped}",
                verification=summary(course, root / RECORDS),
                glossary=has_glossary,
                readme_url=readme_url,
            ),
        )
        facts = env.get_template("lesson-facts.md")
        for lesson, context in zip(course.lessons, lessons, strict=True):
            notebook, solution = edition_paths(lesson, language)
            page = _lesson_page(
                root / notebook, facts.render(lesson=context, glossary=has_glossary).strip()
            )
            out.write(f"{lesson.name}/{lesson.name}.ipynb", page)
            out.write(f"{DOWNLOADS}/{lesson.name}.ipynb", (root / notebook).read_bytes())
            out.write(f"{DOWNLOADS}/{lesson.name}-solution.ipynb", (root / solution).read_bytes())
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
    """Generate and build every language; English lands in out, an edition in out/<edition>.

    Returns the course and the seconds taken.
    """
    start = time.perf_counter()
    srcdir = srcdir or out.parent / "_source"
    built = site_languages(root)
    course = None
    for language in built:
        folder = "" if language == SOURCE_LANGUAGE else edition_dir(language)
        source = srcdir / (folder or "en")
        course = generate(root, source, manifest, language, built)
        build(source, out / folder if folder else out, strict)
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
