"""Sphinx configuration of the course website.

`python -m torchcourse.site` copies this file into the generated source folder next to
course.json (written from lessons.yml), so nothing course-specific is typed here.
The site is built fully offline: notebooks are not executed (their stored, nbval-verified
outputs are shown) and MathJax is served from _static, never from a CDN.
"""

import json
from pathlib import Path

COURSE = json.loads((Path(__file__).parent / "course.json").read_text(encoding="utf-8"))

project = COURSE["title"]
author = "the torchcourse authors"
language = "en"

extensions = ["myst_nb"]
exclude_patterns = ["_notebooks", "**/.ipynb_checkpoints"]

# Notebooks: show the stored outputs, never run them.
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["colon_fence", "attrs_inline", "dollarmath", "amsmath"]
myst_heading_anchors = 3
smartquotes = False  # show quotes as the notebooks (and Jupyter) do

# Math renders with a vendored MathJax 3 (site/_static/mathjax), so the site works offline.
mathjax_path = "mathjax/tex-svg-full.js"

html_theme = "sphinx_book_theme"
html_title = COURSE["title"]
html_static_path = ["_static"]
html_favicon = "_static/favicon.svg"
html_css_files = ["torchcourse.css"]
html_copy_source = False
html_show_sourcelink = False
html_context = {"default_mode": "auto"}  # follow the system; the switch overrides it
html_theme_options = {
    "repository_url": COURSE["repository"],
    "repository_branch": COURSE["branch"],
    "use_repository_button": True,
    "use_download_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
