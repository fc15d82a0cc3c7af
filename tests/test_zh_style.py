"""The Chinese edition's copy-edit, kept (issue 26): hints' code runs in every language, one
spacing rule, the same English always gets the same Chinese, and the Chinese README's chapter
table follows lessons.yml."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from torchcourse.checks.core import REGISTRY
from torchcourse.i18n import join, translations, use_language
from torchcourse.manifest import load_course
from torchcourse.translate import translated_path

ROOT = Path(__file__).resolve().parents[1]
CATALOGS = sorted((ROOT / "locales" / "zh_CN" / "LC_MESSAGES").glob("*.po"))
HAN = r"\u4e00-\u9fff"
FULL_WIDTH = "。，、：；！？（）「」《》“”‘’—…"
# kept as they are: fenced and inline code, math, link targets, addresses, html tags
CODE = re.compile(
    r"```.*?```|\$\$.*?\$\$|(`+).+?\1|\$[^$\n]+\$|\]\([^)]*\)|https?://\S+|<[^>\n]+>", re.S
)


def _entries(path: Path):
    with path.open("rb") as handle:
        return [m for m in read_po(handle, locale="zh_CN") if m.id and m.string]


def _parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def _code_spans(text: str) -> list[str]:
    return [m.group(2) for m in re.finditer(r"(`+)(.+?)\1", text)]


def _exercises():
    for number in range(9):
        importlib.import_module(f"torchcourse.checks.ch{number:02d}")
    return sorted(REGISTRY.values(), key=lambda ex: ex.id)


@pytest.mark.parametrize("exercise", _exercises(), ids=lambda ex: ex.id)
def test_the_code_in_a_last_hint_runs_in_every_language(exercise):
    """Code a learner copies from the last rung parses in Chinese wherever it does in English
    (05's train_step hint once had `（计算损失）` inside the code)."""
    english = exercise.hints[-1]
    chinese = translations("zh_CN").get(english, english)
    if _parses(english):
        assert _parses(chinese) or english in chinese, f"{exercise.id}: {chinese!r} is no Python"
    for span in _code_spans(chinese):
        if span in _code_spans(english) or _parses(span):
            continue
        if any(_parses(s) for s in _code_spans(english)):
            raise AssertionError(f"{exercise.id}: the code span {span!r} does not parse")


def spacing_problems(text: str) -> list[str]:
    """Where text breaks the spacing rule: Chinese glued to Latin letters, digits, code or a
    placeholder, or an ASCII space beside full-width punctuation (a table's ' | ' and the
    header's ' · ' aside)."""

    def opaque(m: re.Match) -> str:
        code = m.group(0)
        if code.startswith(("```", "$$", "](")):
            return ""
        return "`x`" if code.startswith(("`", "$")) else "x"

    prose = CODE.sub(opaque, text)
    rules = [
        rf"[{HAN}][A-Za-z0-9`{{]",
        rf"[A-Za-z0-9`}}%][{HAN}]",
        rf"[^\s|·] +[{FULL_WIDTH}]",
        rf"[{FULL_WIDTH}] +[^\s|·]",
    ]
    return [m.group(0) for rule in rules for m in re.finditer(rule, prose)]


def test_spacing_problems_sees_both_mistakes_and_spares_code():
    assert spacing_problems("fahrenheit([...])的值不对") == []  # not in backticks: a letter?
    assert spacing_problems("`fahrenheit([...])`的值不对") == ["`的"]
    assert spacing_problems("对了。 运行 `hint()`") == ["。 运"]
    assert spacing_problems("得到 32（这是") == ["2（"] or spacing_problems("得到 32 （这是")
    assert spacing_problems("用 `x` 和 $a+b$ 计算，见 [文档](https://x.org/a_b)。") == []


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: p.stem)
def test_every_chinese_message_follows_the_spacing_rule(path):
    bad = [(m.string[:60], spacing_problems(m.string)) for m in _entries(path)]
    bad = [(text, found) for text, found in bad if found]
    assert not bad, f"{path.name}: {bad[:5]} (run /work/helpers/zh_copyedit.py)"


def test_a_type_name_reads_as_a_type():
    """{kind} is filled with a Python type name (int, function, None): the Chinese says it is a
    type, or "而不是 function" reads as an English word in the sentence."""
    bare = re.compile(r"(得到的是|得到的却是|返回的是|返回了|而不是) \{kind\}(?! 类型)")
    found = [m.string for path in CATALOGS for m in _entries(path) if bare.search(m.string)]
    assert not found, found[:3]


def test_joined_message_parts_follow_the_spacing_rule():
    assert join("对了。", "运行 `hint()`。") == "对了。运行 `hint()`。"
    assert join("Right.", "Run `hint()`.") == "Right. Run `hint()`."
    assert join("提示 1/3：看形状", '（`hint("01.ex1")` 给出下一条。）') == (
        '提示 1/3：看形状（`hint("01.ex1")` 给出下一条。）'
    )
    assert join("", "a") == "a"


def test_the_same_english_gets_the_same_chinese_everywhere():
    seen: dict[str, tuple[str, str]] = {}
    differ = []
    for path in CATALOGS:
        for message in _entries(path):
            if message.id in seen and seen[message.id][1] != message.string:
                differ.append((message.id[:50], seen[message.id][0], path.name))
            seen.setdefault(message.id, (path.name, message.string))
    assert not differ, differ[:5]


SETUP_EN = "## Setup\n\nThe first code cell installs the course package when this notebook runs on"
SETUP_ZH = "## 准备工作\n\n在 Colab 或 Kaggle 上运行本笔记本时，第一个代码单元格会安装课程软件包；"
SHARED = {  # text every lesson shows, by what it must render as in Chinese
    SETUP_EN: SETUP_ZH,
    "**Objectives.** By the end of this lesson you can:": "**学习目标**。学完本课，你将能够：",
    "**Prerequisites:**": "**先修要求**：",
    "**Time:** about": "**用时**：约",
    "**Designed for:**": "**面向设备**：",
    "**You will see this in older code**": "**你会在旧代码中见到这些写法**",
    "> | Older code | Today | Why |": "> | 旧代码 | 现在的写法 | 原因 |",
}


@pytest.mark.parametrize(("english", "chinese"), SHARED.items())
def test_the_shared_lesson_text_reads_the_same_in_every_lesson(english, chinese):
    """The setup paragraph, the header labels and the legacy box are the same words in every
    chapter (each chapter's catalog holds its own copy of these cells)."""
    found = 0
    for path in CATALOGS:
        for message in _entries(path):
            if english in message.id:
                found += 1
                assert chinese in message.string, (path.name, message.string[:80])
    assert found, f"no lesson has {english!r}: update SHARED"


def test_the_chinese_readme_lists_the_chapters_of_lessons_yml():
    readme = (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
    with use_language("zh_CN"):
        from torchcourse.i18n import _

        rows = [
            f"| {x.id} | [{_(x.title)}]({translated_path(x.notebook, 'zh_CN')}) | {x.minutes} |"
            for x in load_course().lessons
        ]
    table = [line for line in readme.splitlines() if re.match(r"\| \d\d \|", line)]
    assert table == rows


def test_the_lenet_notebook_says_which_network_trains_in_the_learners_language(capsys):
    from torch import nn

    from torchcourse import lenet
    from torchcourse.checks import yours_or_reference

    class Stub(nn.Module):
        def __init__(self):
            super().__init__()
            raise NotImplementedError

    with use_language("zh_CN"):
        model, yours = yours_or_reference("07.ex3", Stub, lenet.LeNet5)
    assert (model, yours) == (lenet.LeNet5, False)
    assert capsys.readouterr().out == "训练参考实现 lenet.LeNet5：练习 3 还没有通过。\n"
    with use_language("zh_CN"):
        assert yours_or_reference("07.ex3", lenet.LeNet5, lenet.LeNet5)[1]
    assert capsys.readouterr().out == "训练你在练习 3 中写的 LeNet5。\n"


def test_chapter_00_shows_the_doctor_a_chinese_learner_sees():
    """00's sample of `torchcourse doctor` is in the words doctor prints in Chinese."""
    message = next(
        m
        for m in _entries(ROOT / "locales" / "zh_CN" / "LC_MESSAGES" / "00-welcome.po")
        if m.id.startswith("**`torchcourse doctor`**")
    )
    sample = re.search(r"doctor\n(.*?)\n```", message.string, re.S).group(1).splitlines()
    with use_language("zh_CN"):
        from torchcourse.i18n import _

        labels = ["python", "torch", "torchvision", _("accelerator"), _("course"), "mnist"]
        assert [line.split()[0] for line in sample[:-1]] == labels
        assert sample[-1] == _("all good")
        assert _("none usable: the lessons run on the CPU") in sample[3]
    english = re.search(r"doctor\n(.*?)\n```", message.id, re.S).group(1)
    assert "matches" in english and not re.search(
        r"matches|usable|files|all good", "\n".join(sample)
    )
