"""Sphinx configuration of the course website.

`python -m torchcourse.site` copies this file into each generated source folder next to
course.json (written from lessons.yml and the catalogs: title, language, the languages the
switch links to), so nothing course-specific is typed here.
The site is built fully offline: notebooks are not executed (their stored, nbval-verified
outputs are shown) and MathJax is served from _static, never from a CDN.
"""

import json
from pathlib import Path

HERE = Path(__file__).parent
COURSE = json.loads((HERE / "course.json").read_text(encoding="utf-8"))

project = COURSE["title"]
author = "the torchcourse authors"
language = COURSE["language"]

extensions = ["myst_nb"]
exclude_patterns = ["_notebooks", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

# Notebooks: show the stored outputs, never run them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "attrs_inline", "dollarmath", "amsmath"]
myst_heading_anchors = 3
smartquotes = False  # show quotes as the notebooks (and Jupyter) do

# Math renders with a vendored MathJax 3 (site/_static/mathjax), so the site works offline.
mathjax_path = "mathjax/tex-svg-full.js"

# Chinese search splits text into words with jieba; the glossary's terms stay whole words.
if COURSE["search_words"]:
    html_search_options = {"dict": str(HERE / COURSE["search_words"])}

    from sphinx import search
    from sphinx.search.zh import SearchChinese

    class _ChineseSearch(SearchChinese):
        """Sphinx 9.0 ships the English stemmer for Latin words in Chinese pages but names a
        ChineseStemmer that does not exist, which breaks every Chinese page's search box."""

        if SearchChinese.js_stemmer_rawcode == "english-stemmer.js":
            language_name = "English"

    search.languages["zh"] = _ChineseSearch

html_theme = "sphinx_book_theme"
html_title = COURSE["title"]
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_css_files = ["torchcourse.css"]
html_js_files = ["torchcourse.js"]
html_copy_source = False
html_show_sourcelink = False
html_context = {
    "default_mode": "auto",  # follow the system; the switch overrides it
    "tc_language": COURSE["language"],
    "tc_languages": COURSE["languages"],
}
html_theme_options = {
    "repository_url": COURSE["repository"],
    "repository_branch": COURSE["branch"],
    "use_repository_button": True,
    "use_download_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    # The language switch sits in the header, before the buttons, on every page and at every
    # width: on a phone the sidebar is a drawer, and the header is what stays on screen.
    "article_header_end": ["language-switch.html", "article-header-buttons.html"],
}
html_sidebars = {
    "**": [
        "navbar-logo.html",
        "icon-links.html",
        "search-button-field.html",
        "sbt-sidebar-nav.html",
    ]
}
