"""Learner-facing messages in the learner's language, from gettext catalogs (English is the source).

`_("...")` translates a message when it is shown; `N_("...")` only marks a message for the
catalogs (text defined at import time, translated later with `_`). Placeholders are named and
filled after translation: `_("has shape {got}").format(got=...)`, never an f-string, so a
catalog holds the whole sentence.

The language is, in order: $TORCHCOURSE_LANG; the `torchcourse.lang` metadata of the notebook
this kernel runs (JupyterLab and VS Code say which notebook that is); English. A message
missing from the catalog, or whose translation is marked fuzzy, stays English.

A damaged catalog never breaks a message: a translation whose placeholders differ from the
English ones stays English, a catalog that cannot be read is skipped, and each problem is said
once, in one line on stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import string
import sys
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

LANG_ENV = "TORCHCOURSE_LANG"
SOURCE_LANGUAGE = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # gettext code -> name in that language
DOMAIN = "torchcourse"  # the catalog of the package's own messages
_forced: list[str] = []  # set by use_language, innermost last
_problems: list[tuple[str, dict]] = []  # (message, fields) found while loading, not said yet


def normalize(code: str) -> str | None:
    """'zh-CN', 'zh_cn', 'zh' -> 'zh_CN'; 'en_US' -> 'en'; None for a language we lack."""
    code = code.strip().replace("-", "_")
    if not code:
        return None
    language = code.split("_")[0].lower()
    for known in LANGUAGES:
        if known.split("_")[0] == language:
            return known
    return None


def locales_dir() -> Path:
    """The catalogs: inside the installed package (a wheel), else the checkout's locales/."""
    here = Path(__file__).resolve().parent
    packaged = here / "locales"
    return packaged if packaged.is_dir() else here.parents[1] / "locales"


def fields(text: str) -> set[str] | None:
    """The names of text's str.format fields ({path}, {seconds:.0f} -> path, seconds); None when
    text is not a valid format string (an unclosed { or a lone })."""
    try:
        return {name for _text, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        return None


def placeholder_problem(english: str, translated: str) -> str | None:
    """Why translated cannot stand for english in `.format(...)`; None when it can (or when
    english is no format string, such as a markdown cell)."""
    want = fields(english)
    if want is None:
        return None
    have = fields(translated)
    if have is None:
        return N_("the translation has an unclosed {{ or a lone }}")
    if have != want:
        return N_("the translation's placeholders {have} differ from the English {want}")
    return None


def _shown(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[-4:]) if len(parts) >= 4 else str(path)


@cache
def translations(language: str) -> dict[str, str]:
    """{English: translation} from all of the language's catalogs (the package's own and the
    lessons'), for the entries that are translated and not fuzzy.

    A catalog that cannot be read, and a translation whose placeholders do not match the
    English, are left out (those messages stay English); the problem is said once."""
    folder = locales_dir() / language / "LC_MESSAGES"
    if language == SOURCE_LANGUAGE or not folder.is_dir():
        return {}
    from babel.messages.pofile import read_po

    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.po")):
        try:
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=language)
        except Exception as err:  # bad bytes, a broken header: this catalog stays English
            _problems.append(
                (
                    N_("{path} cannot be read ({error}): its messages are shown in English"),
                    {"path": _shown(path), "error": " ".join(str(err).split())[:100]},
                )
            )
            continue
        for message, problem in translated_entries(catalog):
            if problem is not None:
                _problems.append(
                    (
                        N_("{path} line {line}: {problem}: shown in English"),
                        {
                            "path": _shown(path),
                            "line": message.lineno,
                            "problem": problem,
                            "have": sorted(fields(message.string) or ()),
                            "want": sorted(fields(message.id) or ()),
                        },
                    )
                )
                continue
            found[message.id] = message.string
    return found


def translated_entries(catalog) -> Iterator:
    """(message, problem) for each translated entry of a Babel catalog that is not fuzzy;
    problem is None, or what is wrong with its placeholders (placeholder_problem)."""
    for message in catalog:
        if message.id and isinstance(message.string, str) and message.string:
            if not message.fuzzy:
                yield message, placeholder_problem(message.id, message.string)


def _say_problems(table: dict[str, str]) -> None:
    """Print the catalog problems found while loading, once each, in one line each."""
    while _problems:
        message, values = _problems.pop(0)
        if "problem" in values:
            values = {**values, "problem": table.get(values["problem"], values["problem"])}
            values["problem"] = values["problem"].format(**values)
        print("torchcourse: " + table.get(message, message).format(**values), file=sys.stderr)


def _running_notebook() -> Path | None:
    """The notebook file this kernel runs, where the front end tells (JupyterLab, VS Code)."""
    if session := os.environ.get("JPY_SESSION_NAME"):
        path = Path(session)
        for candidate in (path, Path.cwd() / path.name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    vscode = shell.user_ns.get("__vsc_ipynb_file__") if shell is not None else None
    return Path(vscode) if vscode and Path(vscode).is_file() else None


@cache
def _notebook_language(path: Path, mtime: float) -> str | None:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError):
        return None
    return normalize(str(metadata.get("torchcourse", {}).get("lang", "")))


@contextlib.contextmanager
def use_language(code: str) -> Iterator[None]:
    """Translate into `code` inside the block, whatever the environment says (the site build)."""
    _forced.append(normalize(code) or SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _forced.pop()


def language() -> str:
    """The learner's language: $TORCHCOURSE_LANG, else the notebook's, else English."""
    if _forced:
        return _forced[-1]
    if chosen := normalize(os.environ.get(LANG_ENV, "")):
        return chosen
    notebook = _running_notebook()
    if notebook is not None:
        found = _notebook_language(notebook, notebook.stat().st_mtime)
        if found:
            return found
    return SOURCE_LANGUAGE


def _(message: str) -> str:
    """The message in the learner's language (English when it has no translation)."""
    table = translations(language())
    if _problems:
        _say_problems(table)
    return table.get(message, message)


def system_language() -> str:
    """The language of the system locale ($LC_ALL, else $LC_MESSAGES, else $LANG, as POSIX
    orders them): zh_CN.UTF-8 -> 'zh_CN'; English for C, POSIX or a language we lack."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if value := os.environ.get(variable, ""):
            return normalize(value.split(".")[0].split("@")[0]) or SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def width(text: str) -> int:
    """Columns text takes in a terminal: two for a wide (CJK) character, one otherwise."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    """text padded with spaces to `columns` terminal columns (on the left when right)."""
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill


FULL_WIDTH_PUNCTUATION = "，。、；：！？）」』】》…—“”‘’（「『【《"


def join(*parts: str) -> str:
    """Message parts joined by one space, with no space after or before full-width punctuation
    (Chinese sentences end in '。', and the next one follows without a space)."""
    text = ""
    for part in (p for p in parts if p):
        glue = "" if not text or text[-1] in FULL_WIDTH_PUNCTUATION else " "
        if part[0] in FULL_WIDTH_PUNCTUATION or text.endswith((" ", "\n")):
            glue = ""
        text += glue + part
    return text


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Mark message for translation without translating it yet."""
    return message
