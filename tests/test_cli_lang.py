"""The learner's language on the command line: `start --lang`, `lab` and `progress` in it, and
the command line's own messages in it (from the catalogs, English as the fallback)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from babel.messages import Catalog
from babel.messages.pofile import write_po
from fake_course import edit, make_course
from faults import one_line

import torchcourse.lab
from torchcourse import cli, i18n
from torchcourse.i18n import LANG_ENV
from torchcourse.manifest import load_course
from torchcourse.progress import progress
from torchcourse.translate import package_template
from torchcourse.workspace import RESERVED, SETTINGS, start, workspace_language

ROOT = Path(__file__).resolve().parents[1]
LESSONS = [("01", "alpha", 1), ("02", "beta", 1)]


def make_edition(root: Path) -> None:
    """A fake zh-CN edition: the student notebooks with Chinese markdown and metadata."""
    for chapter in sorted((root / "chapters").iterdir()):
        target = root / "zh-CN" / "chapters" / chapter.name
        target.mkdir(parents=True)
        nb = nbformat.read(chapter / f"{chapter.name}.ipynb", as_version=4)
        nb.cells[0].source += "\n\n中文版。"
        nb.metadata["torchcourse"]["lang"] = "zh_CN"
        nbformat.write(nb, target / f"{chapter.name}.ipynb")


@pytest.fixture
def root(tmp_path, monkeypatch):
    make_course(tmp_path, LESSONS)
    make_edition(tmp_path)
    monkeypatch.setenv("TORCHCOURSE_ROOT", str(tmp_path))
    monkeypatch.delenv(LANG_ENV, raising=False)
    return tmp_path


@pytest.fixture
def chinese(tmp_path_factory, monkeypatch):
    """A zh_CN catalog with a few command-line messages translated."""
    folder = tmp_path_factory.mktemp("locales")
    catalog = Catalog(locale="zh_CN", domain=i18n.DOMAIN)
    catalog.add("Chapter", "章节")
    catalog.add("Passed", "通过")
    catalog.add("To fix:", "需要修正：")
    catalog.add(
        "Checking {count} chapter(s) in {folder}/ ...", "正在检查 {folder}/ 中的 {count} 章……"
    )
    catalog.add("{workspace}/ is up to date.", "{workspace}/ 已是最新。")
    (folder / "zh_CN" / "LC_MESSAGES").mkdir(parents=True)
    with (folder / "zh_CN" / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("wb") as handle:
        write_po(handle, catalog)
    monkeypatch.setattr(i18n, "locales_dir", lambda: folder)
    i18n.translations.cache_clear()
    yield
    i18n.translations.cache_clear()


def zh(root: Path, name: str) -> Path:
    return root / "workspace" / name / f"{name}.ipynb"


def test_start_lang_fills_the_workspace_with_the_edition_and_remembers_it(root, capsys):
    assert cli.main(["start", "--lang", "zh-CN"]) == 0
    for name in ("01-alpha", "02-beta"):
        nb = nbformat.read(zh(root, name), as_version=4)
        assert "中文版" in nb.cells[0].source and nb.metadata["torchcourse"]["lang"] == "zh_CN"
    assert workspace_language(root / "workspace") == "zh_CN"
    assert json.loads((root / "workspace" / SETTINGS).read_text()) == {"lang": "zh_CN"}
    assert cli.main(["start", "--update"]) == 0, "the recorded language is kept"
    assert "中文版" in nbformat.read(zh(root, "01-alpha"), as_version=4).cells[0].source


@pytest.mark.parametrize("spelling", ["zh-CN", "zh_CN", "zh", "ZH-cn"])
def test_every_spelling_of_the_language_works(root, spelling):
    assert cli.main(["start", "--lang", spelling]) == 0
    assert workspace_language(root / "workspace") == "zh_CN"


def test_another_language_than_the_recorded_one_is_one_line(root, capsys):
    assert cli.main(["start", "--lang", "zh-CN"]) == 0
    capsys.readouterr()
    assert cli.main(["start", "--lang", "en"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "holds the zh-CN notebooks" in err and "--workspace DIR" in err
    assert "中文版" in nbformat.read(zh(root, "01-alpha"), as_version=4).cells[0].source


def test_a_language_without_an_edition_is_one_line(root, capsys):
    shutil.rmtree(root / "zh-CN")
    assert cli.main(["start", "--lang", "zh-CN"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "translate --build" in err and "zh-CN" in err, "in Chinese: the learner asked for it"
    assert not (root / "workspace").exists()


def test_a_language_the_course_lacks_is_one_line(root, capsys):
    assert cli.main(["start", "--lang", "fr"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "no 'fr' edition" in err and "zh-CN" in err


def test_the_edition_folder_is_not_a_workspace(root, capsys):
    assert "zh-CN" in RESERVED
    assert cli.main(["start", "--workspace", str(root / "zh-CN" / "mine")]) == 1
    assert "course's own folder" in one_line(capsys.readouterr().err)


def test_lab_opens_jupyterlab_speaking_the_workspace_language(root, monkeypatch):
    launched = []
    monkeypatch.setattr(torchcourse.lab, "launch", lambda command: launched.append(command) or 0)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # lab sets the variable for Jupyter
    assert cli.main(["lab", "--lang", "zh-CN"]) == 0
    assert launched and os.environ[LANG_ENV] == "zh_CN"
    assert "中文版" in nbformat.read(zh(root, "01-alpha"), as_version=4).cells[0].source


def test_progress_runs_the_kernels_and_prints_its_table_in_the_workspace_language(
    root, capsys, chinese
):
    start(load_course(root / "lessons.yml"), root=root, language="zh-CN")
    edit(zh(root, "01-alpha"), 1, "return 2 * x")
    edit(zh(root, "02-beta"), 1, "return x + x + 1")
    capsys.readouterr()
    assert progress(load_course(root / "lessons.yml"), root=root) == 0
    out = capsys.readouterr().out
    assert "正在检查 workspace/ 中的 2 章" in out
    assert "章节" in out and "通过" in out and "需要修正：" in out
    assert LANG_ENV not in os.environ, "the kernels' language does not leak into this process"


def test_start_speaks_the_language_it_is_given(root, capsys, chinese, monkeypatch):
    assert cli.main(["start", "--lang", "zh-CN"]) == 0
    monkeypatch.setenv(LANG_ENV, "zh_CN")
    capsys.readouterr()
    assert cli.main(["start", "--update"]) == 0
    assert "workspace/ 已是最新。" in capsys.readouterr().out


def test_every_marked_command_line_message_is_in_the_package_catalog():
    """The catalog the translators fill holds the messages of start, progress, lab, doctor,
    the data loader and the device errors."""
    template = package_template(load_course(ROOT / "lessons.yml"), ROOT)
    files = {location for message in template for location, _ in message.locations}
    for module in ("workspace", "progress", "lab", "doctor", "data", "device", "cli"):
        assert f"src/torchcourse/{module}.py" in files, f"{module}.py has no marked message"
    ids = {message.id for message in template}
    assert "Checking {count} chapter(s) in {folder}/ ..." in ids
    assert (
        "{path} is corrupt (its SHA256 does not match SHA256SUMS: truncated or altered): {fix}."
        in ids
    )


# The command line in the learner's language, without English (issue 26)

ALLOWED = {  # names that stay as they are in any language: commands, packages, devices
    "torchcourse",
    "python",
    "torch",
    "torchvision",
    "mnist",
    "cpu",
    "cuda",
    "pytorch",
    "numpy",
    "lenet",
    "jupyterlab",
    "ctrl",
    "git",
    "pip",
    "nbval",
}
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def english_words(text: str) -> list[str]:
    """ASCII words of 3+ letters outside code spans, paths, options, versions, all-capital
    names (GPU, DIR) and the ALLOWED names: what a learner who reads no English would have to
    read."""
    import re

    text = re.sub(r"`[^`]*`|torchcourse [a-z]+", " ", text)  # code, and `torchcourse CMD: `
    words = []
    for token in text.split():
        if re.search(r"[/\\._=<>@+-]|\d", token) or token.startswith("-"):
            continue  # a path, an option, a file name, a version, an address
        words += [
            w
            for w in re.findall(r"[A-Za-z]{3,}", token)
            if w.lower() not in ALLOWED and not w.isupper()  # GPU, MNIST, metavars: DIR
        ]
    return words


def test_english_words_finds_english_and_skips_code():
    assert english_words("Checking 2 chapter(s) in workspace/ ...") == ["Checking", "chapter"]
    assert english_words('运行 `hint("01.1")`，见 workspace/01-alpha/x.ipynb 和 --lang zh-CN') == []
    assert english_words("torch 2.14.1+cu130（CUDA 版本：13.0）") == []


def use_locale(monkeypatch, value: str | None) -> None:
    for variable in LOCALE_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    if value:
        monkeypatch.setenv("LANG", value)


def with_real_titles(root: Path) -> None:
    """Give the fake lessons titles of real ones, which the catalogs translate."""
    import yaml

    real = {lesson.id: lesson.title for lesson in load_course(ROOT / "lessons.yml").lessons}
    data = yaml.safe_load((root / "lessons.yml").read_text())
    for entry, title in zip(data["lessons"], (real["01"], real["03"])):
        entry["title"] = title
    (root / "lessons.yml").write_text(yaml.safe_dump(data, sort_keys=False))


def outputs(root: Path, capsys, argvs: list[list[str]]) -> dict[str, str]:
    """What each command prints (stdout and stderr), by command line."""
    said = {}
    for argv in argvs:
        capsys.readouterr()
        with contextlib.suppress(SystemExit):  # argparse's errors exit
            cli.main(argv)
        captured = capsys.readouterr()
        said[" ".join(argv)] = captured.out + captured.err
    return said


@pytest.mark.parametrize("how", ["locale", "--lang", "workspace"])
def test_a_chinese_learner_reads_no_english(root, capsys, monkeypatch, how):
    with_real_titles(root)
    use_locale(monkeypatch, "zh_CN.UTF-8" if how == "locale" else "C.UTF-8")
    lang = ["--lang", "zh-CN"] if how == "--lang" else []
    i18n.translations.cache_clear()
    argvs = [
        ["start", *lang],
        ["start", "--update", *lang],
        ["list"],
        ["doctor"],
        ["progress"],
        ["progress", "--timeout", "soon"],  # argparse's error
        ["progress", "99"],  # a CourseError
        ["lab", "--port", "1"],  # cli's own error
    ]
    if how != "workspace":  # another folder than the zh workspace: its language is not known
        argvs.append(["start", *lang, "--workspace", str(root / "zh-CN" / "mine")])
    if how == "workspace":
        start(load_course(root / "lessons.yml"), root=root, language="zh-CN")
    said = outputs(root, capsys, argvs)
    for command, text in said.items():
        assert text.strip(), command
        assert not english_words(text), f"{command}: {english_words(text)} in {text!r}"
    assert "张量" in said["list"] and "自动求导" in said["progress"] and "合计" in said["progress"]


def test_the_same_commands_in_english_are_english(root, capsys, monkeypatch):
    """The check above is not vacuous: in English, each command's output has English words."""
    with_real_titles(root)
    use_locale(monkeypatch, "C.UTF-8")
    said = outputs(root, capsys, [["start"], ["list"], ["doctor"], ["progress", "--timeout", "x"]])
    for command, text in said.items():
        assert english_words(text), command


def test_help_is_in_chinese(monkeypatch, capsys):
    use_locale(monkeypatch, "zh_CN.UTF-8")
    monkeypatch.delenv(LANG_ENV, raising=False)
    for argv in (["--help"], ["progress", "--help"], ["start", "--help"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        out = capsys.readouterr().out
        assert out.startswith("用法：") and "选项" in out and "显示此帮助信息并退出" in out
        commands = set(cli.parser()._subparsers._group_actions[0].choices)
        words = [w for w in english_words(out.split("\n", 1)[1]) if w not in commands]
        assert not words, (argv, words)


@pytest.mark.parametrize(
    ("argv", "variable", "recorded", "locale", "expected"),
    [
        (["start", "--lang", "en"], "zh_CN", "zh_CN", "zh_CN.UTF-8", "en"),
        (["list"], "en", "zh_CN", "zh_CN.UTF-8", "en"),
        (["list"], None, "zh_CN", "C.UTF-8", "zh_CN"),
        (["list"], None, None, "zh_CN.UTF-8", "zh_CN"),
        (["list"], None, None, "en_US.UTF-8", "en"),
        (["list"], None, None, None, "en"),
    ],
)
def test_the_command_line_language_order(
    root, monkeypatch, argv, variable, recorded, locale, expected
):
    """--lang, then $TORCHCOURSE_LANG (a choice), then the workspace's edition (a default), then
    the system locale."""
    use_locale(monkeypatch, locale)
    if variable:
        monkeypatch.setenv(LANG_ENV, variable)
    if recorded:
        start(load_course(root / "lessons.yml"), root=root, language=recorded)
    assert cli.cli_language(argv) == expected


def test_lc_all_comes_before_lang(monkeypatch):
    use_locale(monkeypatch, "zh_CN.UTF-8")
    monkeypatch.setenv("LC_ALL", "C")
    assert i18n.system_language() == "en"


def test_the_progress_table_lines_up_in_terminal_columns():
    from torchcourse.i18n import pad, width

    assert width("张量") == 4 and width("ab") == 2
    rows = [pad("01 张量", 20) + "|", pad("02 NumPy 互操作", 20) + "|", pad("Total", 20) + "|"]
    assert {width(row) for row in rows} == {21}
