"""Learner-facing messages in the learner's language, from gettext catalogs (English is the source).

`_("...")` translates a message when it is shown; `N_("...")` only marks a message for the
catalogs (text defined at import time, translated later with `_`). Placeholders are named and
filled after translation: `_("has shape {got}").format(got=...)`, never an f-string, so a
catalog holds the whole sentence.

The language is, in order: $TORCHCOURSE_LANG; the `torchcourse.lang` metadata of the notebook
this kernel runs (JupyterLab and VS Code say which notebook that is); English. A message
missing from the catalog, or whose translation is marked fuzzy, stays English.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

LANG_ENV = "TORCHCOURSE_LANG"
SOURCE_LANGUAGE = "en"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}  # gettext code -> name in that language
DOMAIN = "torchcourse"  # the catalog of the package's own messages
_forced: list[str] = []  # set by use_language, innermost last


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


@cache
def translations(language: str) -> dict[str, str]:
    """{English: translation} from all of the language's catalogs (the package's own and the
    lessons'), for the entries that are translated and not fuzzy."""
    folder = locales_dir() / language / "LC_MESSAGES"
    if language == SOURCE_LANGUAGE or not folder.is_dir():
        return {}
    from babel.messages.pofile import read_po

    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if message.id and isinstance(message.string, str) and message.string:
                if not message.fuzzy:
                    found[message.id] = message.string
    return found


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
    return translations(language()).get(message, message)


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a marker)
    """Mark message for translation without translating it yet."""
    return message
