"""Translated editions of the course from one source: the English notebooks and package.

Translations live in gettext catalogs, `locales/<lang>/LC_MESSAGES/`:

- `torchcourse.po`: the package's learner-facing messages (checks, command line), the course's
  title and tagline, and the website's own text;
- `NN-slug.po`, one per lesson: its title and objectives (lessons.yml) and every markdown cell
  of its solution notebook, each cell one entry.

`torchcourse translate --update` brings every catalog in step with the English source: a new
cell or message is added untranslated, a changed one keeps its old translation marked fuzzy
(Babel's catalog update), a removed one is dropped. `torchcourse translate --build` writes the
translated notebooks, `<edition>/solutions/...` and `<edition>/chapters/...`: markdown from the
catalog, code cells byte-identical to the English ones (the setup cell also sets the checks'
language), then run like the English ones.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from babel.messages import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import PoFileError, read_po, write_po

from torchcourse import __version__
from torchcourse.errors import CourseError
from torchcourse.i18n import (
    DOMAIN,
    LANG_ENV,
    LANGUAGES,
    SOURCE_LANGUAGE,
    _,
    fields,
    locales_dir,
    translated_entries,
)
from torchcourse.manifest import Course, Lesson
from torchcourse.paths import course_root
from torchcourse.setup_cell import is_setup_cell, setup_source
from torchcourse.tmpfiles import remove_stale, tmp_path

KEYWORDS = {"_": None, "N_": None}  # the gettext markers of torchcourse.i18n
HEADER = """\
# {language} translation of torchcourse: {domain}.
# Kept in step with the English source by `torchcourse translate --update`; see
# docs/translating.md. Fill every empty msgstr; an entry marked fuzzy is not used until
# someone checks it and removes the flag.
#"""
PACKAGE = Path(__file__).resolve().parent
GENERATED_BY = re.compile(rb'^"Generated-By: [^"\n]*"$', re.MULTILINE)


def edition_dir(language: str) -> str:
    """The folder of a translated edition, named as in URLs: zh_CN -> 'zh-CN'."""
    return language.replace("_", "-")


def translated_path(rel: str, language: str) -> str:
    """Where the edition keeps the translation of an English notebook path."""
    return f"{edition_dir(language)}/{rel}"


def languages() -> list[str]:
    """The translated languages (every one but the source)."""
    return [code for code in LANGUAGES if code != SOURCE_LANGUAGE]


def glossary_file(language: str, base: Path | None = None) -> Path:
    return (base or locales_dir()) / language / "glossary.md"


def glossary(language: str, base: Path | None = None) -> list[tuple[str, str]]:
    """(English term, translation) pairs from the first two columns of the glossary's table."""
    path = glossary_file(language, base)
    if not path.is_file():
        return []
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and len(cells) >= 2 and cells[0] and cells[1]:
            if set(cells[0]) <= set("-: ") or cells[0].lower() == "english":
                continue  # the header row and its rule
            pairs.append((cells[0].strip("`*"), cells[1].strip("`*")))
    return pairs


# --- the English source, as catalog templates -----------------------------------------------


def _template(course: Course, domain: str) -> Catalog:
    return Catalog(project=course.course.title, domain=domain, fuzzy=False)


def _extract(template: Catalog, folder: Path, method_map, shown: str) -> None:
    """Add the marked messages of the files under folder that method_map names: Python files
    marked with _ and N_, Jinja templates with {% trans %} blocks."""
    options = {"**.md": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    keywords = KEYWORDS if any(method == "python" for _, method in method_map) else None
    for filename, _line, message, comments, _context in extract_from_dir(
        folder,
        method_map,
        options_map=options,
        strip_comment_tags=True,
        **({"keywords": keywords} if keywords else {}),
    ):
        if message:
            # no line numbers: they would change the catalogs at every edit of the source
            template.add(message, locations=[(f"{shown}/{filename}", None)], auto_comments=comments)


def checks_module(lesson: Lesson) -> str:
    return f"checks/ch{lesson.id}.py"


def lesson_template(lesson: Lesson, course: Course, root: Path) -> Catalog:
    """A lesson's units: title, objectives, its solution's markdown cells in order, then the
    messages of its checks (checks/chNN.py)."""
    template = _template(course, lesson.name)
    template.add(lesson.title, locations=[("lessons.yml", None)], auto_comments=["lesson title"])
    for objective in lesson.objectives:
        template.add(objective, locations=[("lessons.yml", None)], auto_comments=["objective"])
    nb = nbformat.read(root / lesson.solution, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            template.add(cell.source, locations=[(lesson.solution, None)])
    if (PACKAGE / checks_module(lesson)).is_file():
        _extract(template, PACKAGE, [(checks_module(lesson), "python")], "src/torchcourse")
    return template


def package_template(course: Course, root: Path) -> Catalog:
    """The package's own messages (all but the lessons' checks), the course title and tagline,
    and the site's templates."""
    template = _template(course, DOMAIN)
    template.add(course.course.title, locations=[("lessons.yml", None)], auto_comments=["title"])
    template.add(
        course.course.tagline, locations=[("lessons.yml", None)], auto_comments=["tagline"]
    )
    lessons = {checks_module(lesson) for lesson in course.lessons}
    skipped = [*sorted(lessons), "templates/**"]  # templates/: what `torchcourse new` writes
    method_map = [(rel, "ignore") for rel in skipped] + [("**.py", "python")]
    _extract(template, PACKAGE, method_map, "src/torchcourse")
    site_templates = root / "site" / "templates"
    if site_templates.is_dir():
        _extract(template, site_templates, [("**.md", "jinja2")], "site/templates")
    return template


def templates(course: Course, root: Path) -> dict[str, Catalog]:
    """Every catalog's template, by domain."""
    found = {DOMAIN: package_template(course, root)}
    for lesson in course.lessons:
        found[lesson.name] = lesson_template(lesson, course, root)
    return found


# --- catalogs on disk ----------------------------------------------------------------------


def catalog_file(language: str, domain: str, base: Path | None = None) -> Path:
    return (base or locales_dir()) / language / "LC_MESSAGES" / f"{domain}.po"


class CatalogError(CourseError):
    """A catalog file is damaged: bad bytes, cut off, a syntax error, a broken placeholder."""


def _shown(path: Path) -> str:
    """A catalog's path as the learner knows it: locales/<lang>/LC_MESSAGES/<domain>.po."""
    parts = path.parts
    return "/".join(parts[-4:]) if len(parts) >= 4 else str(path)


def _damaged(path: Path, line: int, problem: str) -> CatalogError:
    return CatalogError(
        _(
            "{path} line {line}: {problem}: fix it (or restore the file with `git checkout -- "
            "{path}`), then run this again (nothing was written)."
        ).format(path=_shown(path), line=line, problem=problem)
    )


def read_catalog(path: Path, language: str) -> Catalog:
    """The catalog in path; a CatalogError (one line naming the file and line) when it is not
    UTF-8, is cut off, does not parse, or has a translation with broken placeholders."""
    data = path.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise _damaged(path, line, _("bytes that are not UTF-8 text")) from None
    lines = data.rstrip(b"\n").split(b"\n")
    if data.strip() and (not data.endswith(b"\n") or not lines[-1].rstrip().endswith(b'"')):
        raise _damaged(path, len(lines), _("the file ends in the middle of an entry (cut off?)"))
    try:
        catalog = read_po(io.BytesIO(data), locale=language, abort_invalid=True)
    except PoFileError as err:
        raise _damaged(path, getattr(err, "lineno", 0), " ".join(str(err).split())) from None
    for message, problem in translated_entries(catalog):
        if problem is not None:
            text = _(problem).format(
                have=sorted(fields(message.string) or ()), want=sorted(fields(message.id))
            )
            raise _damaged(path, message.lineno, text)
    return catalog


def write_catalog(catalog: Catalog, path: Path) -> None:
    """Write the catalog, atomically, only when its text changed; the Babel version that wrote
    the file last stays in its header (a newer Babel alone changes nothing)."""
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, ignore_obsolete=True)
    text = buffer.getvalue()
    try:
        remove_stale(path.parent, f".{path.name}.*.tmp")  # left by a killed update
        old = path.read_bytes() if path.is_file() else None
        if old is not None and (kept := GENERATED_BY.search(old)):
            text = GENERATED_BY.sub(lambda _match: kept[0], text, count=1)
        if text == old:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path(path)
        try:
            tmp.write_bytes(text)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as err:
        raise CourseError(
            _(
                "cannot write {path} ({reason}): make locales/ writable (nothing else was "
                "changed in that file)."
            ).format(path=_shown(path), reason=err.strerror or type(err).__name__)
        ) from None


@dataclass
class CatalogState:
    """How complete one catalog is."""

    domain: str
    total: int
    untranslated: list[str]
    fuzzy: list[str]

    @property
    def done(self) -> int:
        return self.total - len(self.untranslated) - len(self.fuzzy)


def state(catalog: Catalog, domain: str) -> CatalogState:
    entries = [message for message in catalog if message.id]
    return CatalogState(
        domain,
        len(entries),
        [m.id for m in entries if not m.string],
        [m.id for m in entries if m.string and m.fuzzy],
    )


def update_catalogs(course: Course, root: Path, language: str) -> list[CatalogState]:
    """Bring the language's catalogs in step with the English source; return their states."""
    base = root / "locales"
    states = []
    for domain, template in templates(course, root).items():
        path = catalog_file(language, domain, base)
        if path.is_file():
            catalog = read_catalog(path, language)
        else:
            catalog = Catalog(
                locale=language,
                domain=domain,
                header_comment=HEADER.format(language=LANGUAGES[language], domain=domain),
            )
        catalog.project, catalog.version = "torchcourse", __version__
        catalog.copyright_holder = "the torchcourse authors"
        catalog.last_translator = "the torchcourse translators"
        catalog.language_team = f"{LANGUAGES[language]} <{course.course.repository}>"
        catalog.msgid_bugs_address = f"{course.course.repository}/issues"
        catalog.update(template, update_creation_date=False)
        catalog.fuzzy = False  # the header is not a translation
        write_catalog(catalog, path)
        states.append(state(catalog, domain))
    return states


# --- translated notebooks --------------------------------------------------------------------


class UntranslatedError(CourseError):
    """A catalog lacks translations that a translated notebook needs."""


def translated_notebook(
    lesson: Lesson, course: Course, root: Path, language: str
) -> nbformat.NotebookNode:
    """The lesson's solution notebook with its markdown in the language; code untouched but
    for the setup cell, which names the language for the checks."""
    catalog = read_catalog(catalog_file(language, lesson.name, root / "locales"), language)
    english = nbformat.read(root / lesson.solution, as_version=4)
    nb = copy.deepcopy(english)
    missing = 0
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not cell.source.strip():
            continue
        message = catalog.get(cell.source)
        if message is None or not message.string or message.fuzzy:
            missing += 1
            continue
        cell.source = message.string
    if missing:
        raise UntranslatedError(
            f"locales/{language}/LC_MESSAGES/{lesson.name}.po lacks {missing} translation(s) "
            f"(or has them marked fuzzy): run `torchcourse translate --update`, translate, "
            "and remove the fuzzy flags."
        )
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            if is_setup_cell(cell):
                cell.source = setup_source(course, language)
    nb.metadata["torchcourse"] = {"lang": language, "translated_from": lesson.solution}
    nb.metadata["language_info"] = english.metadata.get("language_info", {})
    return nb


def build_edition(course: Course, root: Path, language: str, keys: list[str] | None = None):
    """Write and run the edition's solution and student notebooks of the given lessons."""
    from torchcourse.student import execute, student_version

    lessons = [course.lesson(k) for k in keys] if keys else course.lessons
    previous = os.environ.get(LANG_ENV)
    os.environ[LANG_ENV] = language  # the kernels print the checks' lines in the language
    try:
        for lesson in lessons:
            solution = translated_notebook(lesson, course, root, language)
            student = student_version(solution, lesson)
            student.metadata["torchcourse"]["generated_from"] = translated_path(
                lesson.solution, language
            )
            for nb, rel in ((solution, lesson.solution), (student, lesson.notebook)):
                path = root / translated_path(rel, language)
                path.parent.mkdir(parents=True, exist_ok=True)
                execute(nb, path.parent, timeout=max(600, 3 * lesson.max_seconds_cpu))
                nb.metadata["torchcourse"]["lang"] = language
                nbformat.write(nb, path)
                print(f"{path.relative_to(root)}: written")
    finally:
        if previous is None:
            os.environ.pop(LANG_ENV, None)
        else:
            os.environ[LANG_ENV] = previous


def translate(course: Course, update: bool, build: bool, keys: list[str] | None) -> int:
    """The `torchcourse translate` command: update the catalogs and/or build the editions."""
    root = course_root()
    for language in languages():
        if update:
            for s in update_catalogs(course, root, language):
                print(
                    f"locales/{language}/LC_MESSAGES/{s.domain}.po: {s.done}/{s.total} "
                    f"translated, {len(s.untranslated)} new, {len(s.fuzzy)} fuzzy"
                )
        if build:
            build_edition(course, root, language, keys)
    return 0
