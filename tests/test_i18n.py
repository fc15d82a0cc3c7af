"""The learner's language: chosen by $TORCHCOURSE_LANG or the notebook, English as the fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from babel.messages import Catalog
from babel.messages.pofile import write_po

from torchcourse import i18n
from torchcourse.i18n import _, language, normalize, use_language


@pytest.fixture
def catalogs(tmp_path, monkeypatch):
    """A zh_CN catalog with one translated, one fuzzy and one untranslated entry."""
    catalog = Catalog(locale="zh_CN", domain=i18n.DOMAIN)
    catalog.add("passed", "通过")
    catalog.add("the result has shape {got}", "结果的形状是 {got}")
    catalog.add("changed", "改了", flags=["fuzzy"])
    catalog.add("untranslated")
    folder = tmp_path / "zh_CN" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / f"{i18n.DOMAIN}.po").open("wb") as handle:
        write_po(handle, catalog)
    lesson = Catalog(locale="zh_CN", domain="03-autograd")
    lesson.add("Autograd", "自动求导")
    with (folder / "03-autograd.po").open("wb") as handle:
        write_po(handle, lesson)
    monkeypatch.setattr(i18n, "locales_dir", lambda: tmp_path)
    i18n.translations.cache_clear()
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    yield tmp_path
    i18n.translations.cache_clear()


@pytest.mark.parametrize(
    ("code", "want"),
    [
        ("zh-CN", "zh_CN"),
        ("zh_cn", "zh_CN"),
        ("zh", "zh_CN"),
        ("en_US", "en"),
        ("fr", None),
        ("", None),
    ],
)
def test_normalize(code, want):
    assert normalize(code) == want


def test_english_without_a_choice(catalogs, monkeypatch):
    monkeypatch.delenv(i18n.LANG_ENV, raising=False)
    assert language() == "en" and _("passed") == "passed"


def test_the_environment_chooses_and_fuzzy_or_missing_stays_english(catalogs, monkeypatch):
    monkeypatch.setenv(i18n.LANG_ENV, "zh-CN")
    assert _("passed") == "通过"
    assert _("the result has shape {got}").format(got=(2, 3)) == "结果的形状是 (2, 3)"
    assert _("changed") == "changed", "a fuzzy translation is not used"
    assert _("untranslated") == "untranslated"
    assert _("never heard of") == "never heard of"
    assert _("Autograd") == "自动求导", "every catalog of the language counts"


def test_an_unknown_language_falls_back_to_english(catalogs, monkeypatch):
    monkeypatch.setenv(i18n.LANG_ENV, "klingon")
    assert language() == "en" and _("passed") == "passed"


def test_use_language_wins_over_the_environment(catalogs, monkeypatch):
    monkeypatch.setenv(i18n.LANG_ENV, "zh_CN")
    with use_language("en"):
        assert _("passed") == "passed"
    assert _("passed") == "通过"


def test_the_notebook_s_metadata_chooses_in_jupyterlab(catalogs, monkeypatch, tmp_path):
    """JupyterLab tells the kernel which notebook it runs (JPY_SESSION_NAME)."""
    monkeypatch.delenv(i18n.LANG_ENV, raising=False)
    notebook = tmp_path / "03-autograd.ipynb"
    notebook.write_text(json.dumps({"metadata": {"torchcourse": {"lang": "zh_CN"}}, "cells": []}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", "workspace/03-autograd/03-autograd.ipynb")
    assert language() == "zh_CN" and _("passed") == "通过"
    notebook.write_text(json.dumps({"metadata": {}, "cells": []}))
    Path(notebook).touch()
    assert language() == "en"


# --- damaged catalogs: the learner still gets every message ---------------------------------


def _damage(catalogs: Path, old: str, new: str) -> None:
    path = catalogs / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    i18n.translations.cache_clear()


@pytest.mark.parametrize(
    "broken", ["结果的形状是 {gott}", "结果的形状是 {got", "结果的形状是 {got} }"]
)
def test_a_translation_with_broken_placeholders_stays_english_and_is_said_once(
    catalogs, monkeypatch, capsys, broken
):
    monkeypatch.setenv(i18n.LANG_ENV, "zh_CN")
    _damage(catalogs, "结果的形状是 {got}", broken)
    shape = "the result has shape {got}"
    assert _(shape).format(got=(2, 3)) == "the result has shape (2, 3)"
    assert _("passed") == "通过", "the catalog's other messages are still used"
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "torchcourse.po line" in warning
    _(shape)
    assert capsys.readouterr().err == "", "said once"


def test_a_catalog_with_bad_bytes_falls_back_to_english_alone(catalogs, monkeypatch, capsys):
    monkeypatch.setenv(i18n.LANG_ENV, "zh_CN")
    path = catalogs / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    path.write_bytes(path.read_bytes().replace("通过".encode(), b"\xff\xfe\xfd"))
    i18n.translations.cache_clear()
    assert _("passed") == "passed"
    assert _("Autograd") == "自动求导", "the lesson's catalog is still read"
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "torchcourse.po cannot be read" in warning
    _("passed")
    assert capsys.readouterr().err == ""
