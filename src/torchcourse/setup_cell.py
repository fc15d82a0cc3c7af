"""The setup cell every notebook opens with, generated from the course version and manifest.

Where `torchcourse` of this course version is importable (a checkout, Binder, a pip install)
it does nothing and prints nothing. Elsewhere (Colab, Kaggle, a fresh Jupyter) it runs
`pip install torchcourse==X.Y.Z` with whatever index pip is configured with (PIP_INDEX_URL,
pip.conf), so mirrors work. When that fails it says in a few lines what to do and stops the run
without a traceback (IPython shows an exception's `_render_traceback_` instead). The cell
cannot import torchcourse then, so its message is written into the cell in the edition's
language. A translated edition's cell also tells the checks its language, since Colab and
Kaggle do not say which notebook a kernel runs.
"""

from __future__ import annotations

import nbformat

import torchcourse
from torchcourse.i18n import LANG_ENV, SOURCE_LANGUAGE
from torchcourse.manifest import Course

TAG = "course-setup"
MIRROR = "https://pypi.tuna.tsinghua.edu.cn/simple"

TEMPLATE = """\
# {intro}
import importlib
import subprocess
import sys

COURSE_VERSION = "{version}"
try:
    from torchcourse import __version__ as found
except ImportError:
    found = None
if found != COURSE_VERSION:
    package = f"torchcourse=={{COURSE_VERSION}}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", package]
    done = subprocess.run(pip, capture_output=True, text=True)
    importlib.invalidate_caches()
    if done.returncode != 0:

        class SetupError(Exception):
            def _render_traceback_(self):  # Jupyter shows the message, not a traceback
                return [str(self)]

        reason = (done.stderr.strip().splitlines() or ["?"])[-1].removeprefix("ERROR: ")
        raise SetupError(
{failure}
        )
    if found is not None:
        print(f"{restart}")
"""

# The cell's words in each edition; the message lines are f-strings in the cell, so {package},
# {reason} and {COURSE_VERSION} are filled there. The Chinese one puts the mirror first.
WORDS = {
    "en": {
        "intro": "Setup for Colab, Kaggle or your own Jupyter: installs the course package,"
        " pinned\n# to this version of the course, if it is missing. Where it is installed it"
        " does nothing.",
        "failure": [
            "Could not install {package} ({reason}).",
            "- Kaggle: switch Internet on in the notebook's settings, then run this cell again.",
            "- Behind a firewall or in mainland China, install from a mirror:",
            "  pip install -i {mirror} {package}",
            "- Offline: pip install the wheel file (.whl) from this version's release page:",
            "  {releases}/tag/v{COURSE_VERSION}",
        ],
        "restart": "Installed {package}: restart the kernel to replace torchcourse {found}.",
    },
    "zh_CN": {
        "intro": "为 Colab、Kaggle 或你自己的 Jupyter 准备环境：如果缺少课程软件包，"
        "就安装与本课程\n# 版本一致的那一版；已经安装时，这个单元什么也不做。",
        "failure": [
            "无法安装 {package}（{reason}）。",
            "- 在中国大陆或防火墙后，请通过镜像安装：",
            "  pip install -i {mirror} {package}",
            "- Kaggle：在笔记本的设置中打开 Internet，再重新运行这个单元。",
            "- 离线：从本版本的发布页下载 wheel 文件（.whl），再用 pip install 安装它：",
            "  {releases}/tag/v{COURSE_VERSION}",
        ],
        "restart": "已安装 {package}：请重启内核，以替换已加载的 torchcourse {found}。",
    },
}

LANGUAGE_LINES = """
# The checks answer in this edition's language, unless you set {env} yourself.
import os

if "{env}" not in os.environ:
    os.environ["{env}"] = "{language}"
"""


def _message(lines: list[str], **links: str) -> str:
    """The message's lines as the f-strings of the cell's `raise SetupError(...)`."""
    out = []
    for i, line in enumerate(lines):
        line = line.replace("{mirror}", links["mirror"]).replace("{releases}", links["releases"])
        end = "\\n" if i < len(lines) - 1 else ""
        prefix = "f" if "{" in line else ""
        out.append(f'            {prefix}"{line}{end}"')
    return "\n".join(out)


def setup_source(course: Course, language: str = SOURCE_LANGUAGE) -> str:
    """The setup cell's code for this course version, in the edition of `language`."""
    words = WORDS.get(language, WORDS[SOURCE_LANGUAGE])
    releases = course.course.repository.rstrip("/") + "/releases"
    failure = _message(words["failure"], mirror=MIRROR, releases=releases)
    source = TEMPLATE.format(
        version=torchcourse.__version__,
        intro=words["intro"],
        failure=failure,
        restart=words["restart"],
    )
    if language != SOURCE_LANGUAGE:
        source += LANGUAGE_LINES.format(env=LANG_ENV, language=language)
    return source


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def first_code_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode | None:
    return next((cell for cell in nb.cells if cell.cell_type == "code"), None)


def sync_setup_cell(
    nb: nbformat.NotebookNode, course: Course, language: str = SOURCE_LANGUAGE
) -> str:
    """Make nb's first code cell the current setup cell (of `language`'s edition).

    Returns "" when it already was, "updated" when only its text changed (its stored output,
    none, stays valid) and "inserted" when it was missing (the notebook must run again).
    """
    source = setup_source(course, language)
    cell = first_code_cell(nb)
    if cell is not None and is_setup_cell(cell):
        if cell.source == source:
            return ""
        cell.source = source
        return "updated"
    new = nbformat.v4.new_code_cell(source, metadata={"tags": [TAG]})
    index = nb.cells.index(cell) if cell is not None else len(nb.cells)
    nb.cells.insert(index, new)
    return "inserted"
