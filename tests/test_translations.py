"""The translated editions cannot fall behind the English source silently.

Catalogs hold exactly the English units of today, all translated, none fuzzy; the translated
notebooks are generated from them (markdown translated, code byte-identical) and their outputs
equal the English ones apart from the checks' lines, which are in the language.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from faults import one_line, read_only
from notebook_facts import ignored
from test_sanitize import sanitize

from torchcourse.i18n import DOMAIN, placeholder_problem
from torchcourse.manifest import load_course
from torchcourse.setup_cell import is_setup_cell, setup_source
from torchcourse.student import sources_digest, student_version
from torchcourse.translate import (
    catalog_file,
    glossary,
    languages,
    read_catalog,
    templates,
    translated_notebook,
    translated_path,
)

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
LESSONS = COURSE.lessons
TEMPLATES = templates(COURSE, ROOT)
CASES = [(language, domain) for language in languages() for domain in TEMPLATES]
EDITION = [(language, lesson) for language in languages() for lesson in LESSONS]
VERDICT = re.compile(r"^(✅|❌|⏳|💡|⚠️)")
CJK = re.compile(r"[\u4e00-\u9fff]")
# an inline code span may run over line ends (CommonMark reads them as spaces), not a blank line
CODE_SPAN = re.compile(r"(`+)(.+?)\1|`[^`\n]+(?:\n(?![ \t]*\n)[^`\n]*)+`")
LINK_TARGET = re.compile(r"\]\(([^)\s]+)")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+\$", re.DOTALL)
DOTTED = re.compile(r"\w+(?:\.\w+)+")  # torch.Tensor, nn.Module: names, not prose
FIELD = re.compile(r"{(\w*)(?:[!:][^}]*)?}|%\(\w+\)s|%%")  # str.format and Jinja fields


def _catalog(language: str, domain: str):
    path = catalog_file(language, domain, ROOT / "locales")
    assert path.is_file(), (
        f"{path.relative_to(ROOT)} is missing: run `torchcourse translate --update`"
    )
    return read_catalog(path, language)


def _entries(language: str, domain: str):
    return [message for message in _catalog(language, domain) if message.id]


@pytest.mark.parametrize(("language", "domain"), CASES)
def test_catalog_holds_exactly_todays_english_units(language, domain):
    have = {message.id for message in _entries(language, domain)}
    want = {message.id for message in TEMPLATES[domain] if message.id}
    assert have == want, (
        f"{language}/{domain}.po is behind the English source ({len(want - have)} new, "
        f"{len(have - want)} gone): run `torchcourse translate --update`"
    )


@pytest.mark.parametrize(("language", "domain"), CASES)
def test_every_entry_is_translated_and_none_is_fuzzy(language, domain):
    entries = _entries(language, domain)
    untranslated = [m.id[:60] for m in entries if not m.string]
    fuzzy = [m.id[:60] for m in entries if m.string and m.fuzzy]
    assert not untranslated, (
        f"{language}/{domain}.po: {len(untranslated)} untranslated: {untranslated[:3]}"
    )
    assert not fuzzy, (
        f"{language}/{domain}.po: {len(fuzzy)} fuzzy (the English changed): {fuzzy[:3]}"
    )


def kept_apart(english: str, translated: str) -> list[str]:
    """What a translation changes that must stay as in English: code spans (and their
    backticks: an unclosed span), link targets, math, {fields} (and the braces' syntax)."""
    found = []
    for name, pattern in (
        ("code spans", CODE_SPAN),
        ("link targets", LINK_TARGET),
        ("math", MATH),
        ("placeholders", FIELD),
    ):
        want = sorted(_spaced(m.group(0)) for m in pattern.finditer(english))
        have = sorted(_spaced(m.group(0)) for m in pattern.finditer(translated))
        if want != have:
            found.append(f"the {name}: English {want}, translation {have}")
    if problem := placeholder_problem(english, translated):
        found.append(problem)
    if english.count("`") != translated.count("`"):
        found.append("the number of backticks (an unclosed code span?)")
    return found


@pytest.mark.parametrize(("language", "domain"), CASES)
def test_translations_keep_code_links_math_and_placeholders(language, domain):
    """What must not be translated survives: code spans, link targets, math, {fields}."""
    for message in _entries(language, domain):
        if message.string:
            changed = kept_apart(message.id, message.string)
            assert not changed, (
                f"{language}/{domain}.po line {message.lineno} changes {changed} of "
                f"{message.id[:70]!r}"
            )


@pytest.mark.parametrize(
    ("english", "translated"),
    [
        ("cannot read {path}", "无法读取 {pth}"),
        ("cannot read {path}", "无法读取 {path"),
        ("cannot read {path}", "无法读取 {path} }"),
        ("run `a` then `b`", "先运行 `a` 再运行 `b` `"),
        ("run `a` then `b`", "先运行 `a` 再运行 `b"),
    ],
)
def test_the_completeness_check_sees_broken_placeholders_and_code_spans(english, translated):
    assert kept_apart(english, translated)
    assert not kept_apart(english, english)


def _spaced(text: str) -> str:
    """Whitespace runs as one space: a line end inside a code span renders as a space."""
    return " ".join(text.split())


def _is_code(text: str) -> bool:
    """A message that is a line of Python, such as a hint's last rung."""
    import ast

    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return "(" in text


@pytest.mark.parametrize(("language", "domain"), CASES)
def test_the_glossary_is_followed(language, domain):
    """Where the English uses a glossary term (outside code and placeholders), the translation
    uses its term."""
    terms = glossary(language, ROOT / "locales")
    assert terms, f"locales/{language}/glossary.md has no terms"
    for message in _entries(language, domain):
        if not message.string or _is_code(message.id):
            continue  # code (a hint's last rung) stays code
        prose = FIELD.sub(" ", DOTTED.sub(" ", CODE_SPAN.sub(" ", message.id)))
        for english, translated in terms:
            if re.search(rf"\b{re.escape(english)}(s|es)?\b", prose, re.IGNORECASE):
                assert translated in message.string, (
                    f"{language}/{domain}.po: {english!r} should read {translated!r} in "
                    f"{message.string[:80]!r}"
                )


# --- the translated notebooks ---------------------------------------------------------------


def _read(rel: str):
    path = ROOT / rel
    assert path.is_file(), f"{rel} is missing: run `torchcourse translate --build`"
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize(("language", "lesson"), EDITION, ids=lambda x: getattr(x, "id", x))
def test_translated_notebooks_are_generated_from_today_s_catalog(language, lesson):
    solution = translated_notebook(lesson, COURSE, ROOT, language)
    for rel, fresh in (
        (lesson.solution, solution),
        (lesson.notebook, student_version(solution, lesson)),
    ):
        stored = _read(translated_path(rel, language))
        assert sources_digest(stored) == sources_digest(fresh), (
            f"{translated_path(rel, language)} is stale: run `torchcourse translate --build "
            f"{lesson.id}`"
        )
        assert stored.metadata["torchcourse"]["lang"] == language


@pytest.mark.parametrize(("language", "lesson"), EDITION, ids=lambda x: getattr(x, "id", x))
def test_code_is_identical_and_outputs_differ_only_in_the_checks_lines(language, lesson):
    for rel in (lesson.solution, lesson.notebook):
        english, translated = _read(rel), _read(translated_path(rel, language))
        pairs = list(zip(english.cells, translated.cells, strict=True))
        for mine, theirs in pairs:
            assert mine.cell_type == theirs.cell_type
            if mine.cell_type != "code":
                continue
            if is_setup_cell(mine):
                assert theirs.source == setup_source(COURSE, language), (
                    f"{translated_path(rel, language)}: the setup cell must name {language}"
                )
                assert not theirs.get("outputs"), "the setup cell printed something"
                continue
            assert theirs.source == mine.source, f"{rel}: a code cell differs"
            if ignored(mine):
                continue
            ours, others = _text_lines(mine), _text_lines(theirs)
            plain = [line for line in ours if not VERDICT.match(line)]
            plain_there = [line for line in others if not VERDICT.match(line)]
            assert len(plain) == len(plain_there) and all(
                line == there or _translated(line, language) == there
                for line, there in zip(plain, plain_there)
            ), f"{translated_path(rel, language)}: outputs differ from English:\n{mine.source}"
            verdicts = [line for line in others if VERDICT.match(line)]
            assert len(verdicts) == sum(bool(VERDICT.match(line)) for line in ours)
            assert all(CJK.search(line) for line in verdicts), (
                f"{translated_path(rel, language)}: the checks did not speak {language}: "
                f"{verdicts[:2]}"
            )


NAMED_FIELD = re.compile(r"{(\w+)(?:[!:][^}]*)?}")


def _translated(line: str, language: str) -> str | None:
    """The line in the language when it is a message of the package printed by a cell (such as
    the error of a failed run_ranks), filled with the same values; None otherwise."""
    for message in _entries(language, DOMAIN):
        if message.string and not message.fuzzy and "\n" not in message.id:
            values = _fields(message.id, line)
            if values is not None:
                return _filled(message.string, values)
    return None


def _filled(template: str, values: dict[str, str]) -> str:
    return NAMED_FIELD.sub(lambda field: values[field.group(1)], template)


def _fields(template: str, line: str) -> dict[str, str] | None:
    """The values of template's {fields} if line is template filled in, else None."""
    pattern, names, start = "", [], 0
    for field in NAMED_FIELD.finditer(template):
        pattern += re.escape(template[start : field.start()]) + "(.+?)"
        names.append(field.group(1))
        start = field.end()
    found = re.fullmatch(pattern + re.escape(template[start:]), line)
    return dict(zip(names, found.groups())) if found else None


def _text_lines(cell) -> list[str]:
    """The cell's text output, line by line; consecutive stream outputs of one stream are one
    text (the kernel may flush a printed line and its newline as two outputs)."""
    texts: list[str] = []
    previous = None
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            if previous == output.name:
                texts[-1] += output.text
            else:
                texts.append(output.text)
            previous = output.name
        elif "data" in output and "image/png" not in output.data:
            texts.append(output.data.get("text/plain", ""))
            previous = None
    return [line for text in texts for line in sanitize(text).splitlines()]


@pytest.mark.parametrize(("language", "lesson"), EDITION, ids=lambda x: getattr(x, "id", x))
def test_translated_header_states_title_and_objectives(language, lesson):
    words = {m.id: m.string for m in _entries(language, lesson.name)}
    for rel in (lesson.solution, lesson.notebook):
        header = _read(translated_path(rel, language)).cells[0].source
        assert header.startswith(f"# {lesson.id} · {words[lesson.title]}\n"), rel
        for objective in lesson.objectives:
            assert words[objective] in header, f"{rel}: objective missing: {words[objective]}"


def test_the_package_catalog_is_named_for_its_domain():
    assert DOMAIN in TEMPLATES


# --- the update command ---------------------------------------------------------------------


def test_update_marks_a_changed_cell_fuzzy_adds_new_ones_and_drops_old_ones(tmp_path):
    import shutil

    from torchcourse.translate import update_catalogs, write_catalog

    for rel in ("lessons.yml", "site/templates", *(lesson.solution for lesson in LESSONS)):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / rel).is_dir() else shutil.copy)(ROOT / rel, target)
    lesson = LESSONS[0]
    update_catalogs(COURSE, tmp_path, "zh_CN")
    path = catalog_file("zh_CN", lesson.name, tmp_path / "locales")
    catalog = read_catalog(path, "zh_CN")
    nb = nbformat.read(tmp_path / lesson.solution, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "markdown" and len(c.source) > 40]
    changed, removed = cells[1], cells[2]
    catalog[changed.source].string = "旧的译文"
    catalog[removed.source].string = "被删掉的"
    write_catalog(catalog, path)

    changed.source = changed.source.replace(" ", "  ", 1) + " One more sentence."
    nb.cells.remove(removed)
    nb.cells.append(nbformat.v4.new_markdown_cell("A brand new cell."))
    nbformat.write(nb, tmp_path / lesson.solution)
    update_catalogs(COURSE, tmp_path, "zh_CN")
    catalog = read_catalog(path, "zh_CN")
    entry = catalog[changed.source]
    assert entry.fuzzy and entry.string == "旧的译文", (
        "a changed cell keeps its old translation, fuzzy"
    )
    assert catalog["A brand new cell."].string == ""
    assert catalog.get(removed.source) is None, "a removed cell leaves the catalog"
    assert "被删掉的" not in path.read_text(encoding="utf-8")


# --- damaged catalogs are refused by the commands, in one line -------------------------------


def _course_copy(tmp_path: Path) -> Path:
    import shutil

    for rel in ("lessons.yml", "site/templates", "locales", *(x.solution for x in LESSONS)):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (ROOT / rel).is_dir() else shutil.copy)(ROOT / rel, target)
    return tmp_path


def test_update_leaves_the_babel_version_of_every_catalog_alone(tmp_path, monkeypatch):
    from torchcourse import translate

    root = _course_copy(tmp_path)
    path = catalog_file("zh_CN", LESSONS[0].name, root / "locales")
    text = path.read_text(encoding="utf-8")
    assert '"Generated-By: Babel ' in text
    text = re.sub(r'"Generated-By: Babel [^"]*"', r'"Generated-By: Babel 0.9.6\\n"', text)
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(translate, "__version__", "0.2.0")  # the catalogs' own version
    translate.update_catalogs(COURSE, root, "zh_CN")
    assert path.read_text(encoding="utf-8") == text, "an unchanged catalog is not rewritten"


def _broken_catalog(root: Path, damage: str) -> Path:
    path = catalog_file("zh_CN", DOMAIN, root / "locales")
    data = path.read_bytes()
    if damage == "bad bytes":
        data = data[:4000] + b"\xff" + data[4000:]
    elif damage == "cut off":
        data = data[: data.index(b'msgstr "', len(data) // 2) + 12]
    else:
        catalog = read_catalog(path, "zh_CN")
        entry = next(m for m in catalog if m.id and "{path}" in m.id and m.string)
        broken = entry.string.replace("{path}", "{pth}" if damage == "placeholder" else "{path", 1)
        data = data.replace(_po_string(entry.string), _po_string(broken), 1)
        assert data != path.read_bytes()
    path.write_bytes(data)
    return path


def _po_string(text: str) -> bytes:
    """How a short msgstr's first line looks in the file (enough to find and replace it)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').split("\n")[0][:30].encode()


@pytest.mark.parametrize("damage", ["bad bytes", "cut off", "placeholder", "unclosed brace"])
def test_update_refuses_a_damaged_catalog_in_one_line_naming_file_and_line(
    tmp_path, monkeypatch, capsys, damage
):
    from torchcourse.cli import main

    root = _course_copy(tmp_path)
    path = _broken_catalog(root, damage)
    before = path.read_bytes()
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    assert main(["translate", "--update"]) == 1
    out = capsys.readouterr()
    line = one_line(out.err)
    assert re.search(r"locales/zh_CN/LC_MESSAGES/torchcourse\.po line \d+: ", line), line
    assert "translated" not in out.out
    assert path.read_bytes() == before, "a damaged catalog is never rewritten"


def test_build_refuses_a_damaged_lesson_catalog(tmp_path):
    from torchcourse.translate import CatalogError

    root = _course_copy(tmp_path)
    lesson = LESSONS[1]
    path = catalog_file("zh_CN", lesson.name, root / "locales")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(CatalogError, match=rf"{lesson.name}\.po line \d+: "):
        translated_notebook(lesson, COURSE, root, "zh_CN")


def test_update_into_a_read_only_locales_folder_is_one_line(tmp_path, monkeypatch, capsys):
    from torchcourse.cli import main

    root = _course_copy(tmp_path)
    path = catalog_file("zh_CN", DOMAIN, root / "locales")
    catalog = read_catalog(path, "zh_CN")
    catalog.delete(next(m.id for m in catalog if m.id))  # so the update has something to write
    from torchcourse.translate import write_catalog

    write_catalog(catalog, path)
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(root))
    with read_only(path.parent):
        assert main(["translate", "--update"]) == 1
    assert "cannot write locales/zh_CN/LC_MESSAGES/" in one_line(capsys.readouterr().err)


def test_a_copy_left_by_a_killed_update_is_removed(tmp_path):
    import subprocess
    import sys

    from torchcourse.translate import update_catalogs

    root = _course_copy(tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    left = catalog_file("zh_CN", DOMAIN, root / "locales").with_name(
        f".{DOMAIN}.po.{dead}-0badcafe.tmp"
    )
    left.write_text("half a catalog")
    update_catalogs(COURSE, root, "zh_CN")
    assert not left.exists()
