"""The course website: built from lessons.yml, then checked in a real browser (Chromium).

The session builds the site once into a temporary folder (Sphinx with -W: any warning, broken
internal links included, fails the build), serves it from 127.0.0.1 and drives Debian's Chromium
through Playwright. Every lesson of lessons.yml is covered; none is skipped. Screenshots of the
home page and of the first lesson land in screenshots/ (ignored by git).
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import zipfile
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from test_records import claimed_devices, recorded_devices

import torchcourse
from torchcourse.i18n import LANGUAGES, SOURCE_LANGUAGE, translations
from torchcourse.manifest import load_course
from torchcourse.records import DEVICE_NAMES, verification_badge
from torchcourse.release import bundle_name, edition_notebooks
from torchcourse.site import build_site, launch_urls, site_languages
from torchcourse.translate import edition_dir, languages

ROOT = Path(__file__).resolve().parents[1]
COURSE = load_course(ROOT / "lessons.yml")
LESSONS = COURSE.lessons
CHROMIUM = Path(os.environ.get("TORCHCOURSE_CHROMIUM", "/usr/bin/chromium"))
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "screenshots"
PHONE = {"width": 390, "height": 844}
MD_HINT = " (objectives are markdown: put code such as `__init__` in backticks in lessons.yml)"


# The text and link targets of what precedes an element in its section.
HEADER_JS = """el => {
    const parts = [], hrefs = [];
    for (let n = el.previousElementSibling; n; n = n.previousElementSibling) {
        parts.unshift(n.innerText);
        n.querySelectorAll("a[href]").forEach(a => hrefs.push(a.href));
    }
    return [parts.join(" "), hrefs];
}"""


def page_path(lesson) -> str:
    return f"{lesson.name}/{lesson.name}.html"


def plain(markdown: str) -> str:
    """What a line of lessons.yml markdown reads like once rendered."""
    return " ".join(markdown.replace("`", "").split())


# --- the build and the server ----------------------------------------------------------------


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The whole site, built once with warnings as errors (about 15-20 s on 2 cores)."""
    out = tmp_path_factory.mktemp("site") / "html"
    build_site(ROOT, out)
    return out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """The built HTML served on 127.0.0.1; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def require_chromium(path: Path, ci: bool) -> None:
    """Skip with the install command, or in CI fail, when Chromium is not installed."""
    if path.is_file() and os.access(path, os.X_OK):
        return
    message = f"Chromium not found at {path}: install it with `{INSTALL_CHROMIUM}`"
    if ci:
        pytest.fail(
            f"{message} (CI is set, so the browser tests may not be skipped)", pytrace=False
        )
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser():
    require_chromium(CHROMIUM, bool(os.environ.get("CI")))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _tab(browser, server, **options):
    """A light-mode tab in a new browser context (see _watch)."""
    return _watch(browser.new_context(color_scheme="light", **options).new_page(), server)


def _watch(tab, server):
    """tab.problems collects console errors, page errors, failed requests and requests outside
    the site (the site must work offline)."""
    problems: list[str] = []

    def outside(request):
        if not request.url.startswith((server, "data:")):
            problems.append(f"request outside the site: {request.url}")

    tab.on("request", outside)
    tab.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    tab.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    tab.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))
    tab.on("response", lambda r: r.status >= 400 and problems.append(f"{r.status}: {r.url}"))
    tab.problems = problems
    tab.base = server
    return tab


def _test_tab(tab):
    """The module's tab for one test: it starts with no problems, and the test's page is left
    (its late requests stopped) before the next test starts."""
    tab.problems.clear()
    yield tab
    tab.goto("about:blank")


@pytest.fixture(scope="module")
def desktop(browser, server):
    """One desktop tab for the whole module: a browser context per test cost about a second a
    test (a cold cache, every script compiled again). A test that stores a setting (the theme)
    takes fresh_page instead."""
    tab = _tab(browser, server, viewport={"width": 1280, "height": 900})
    yield tab
    tab.context.close()


@pytest.fixture
def page(desktop):
    yield from _test_tab(desktop)


@pytest.fixture(scope="module")
def reader(desktop):
    """A second desktop tab (same cache), used by lesson_page only."""
    tab = _watch(desktop.context.new_page(), desktop.base)
    yield tab
    tab.close()


@pytest.fixture(scope="module", params=LESSONS, ids=lambda lesson: lesson.id)
def lesson_page(request, reader):
    """A lesson's page, opened once (images loaded, network quiet) and shared by the tests that
    only read it (none may navigate it): one visit a lesson instead of four."""
    reader.problems.clear()
    reader.lesson = request.param
    visit(reader, page_path(reader.lesson))
    reader.wait_for_function("Array.from(document.images).every(img => img.complete)")
    yield reader
    reader.goto("about:blank")


@pytest.fixture
def fresh_page(browser, server):
    """A desktop tab in a browser context of its own (for a test that stores a setting)."""
    tab = _tab(browser, server, viewport={"width": 1280, "height": 900})
    yield tab
    tab.context.close()


@pytest.fixture(scope="module")
def phone_tab(browser, server):
    """A tab as a 390 px wide phone shows it (touch, mobile viewport), for the whole module."""
    tab = _tab(browser, server, viewport=PHONE, is_mobile=True, has_touch=True)
    yield tab
    tab.context.close()


@pytest.fixture
def phone(phone_tab):
    yield from _test_tab(phone_tab)


def visit(page, path: str = "", settle: bool = True):
    """Open a page of the site; with settle, also wait until the network is quiet."""
    page.goto(page.base + path, wait_until="load")
    if settle:
        page.wait_for_load_state("networkidle")
    return page


# --- the build (no browser needed) -----------------------------------------------------------


def test_every_lesson_has_a_page_and_no_solution_is_shown(site):
    for lesson in LESSONS:
        html = (site / page_path(lesson)).read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in html, f"{page_path(lesson)} shows solution code"
        assert "NotImplementedError" in html, f"{page_path(lesson)} is not the student notebook"
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert not any(p.startswith("solutions") or "solution" in Path(p).name for p in pages)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key) and not (tag == "link" and attrs.get("rel") == "preconnect"):
                self.links.append(attrs[key])


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_no_broken_internal_links(site):
    """Every relative href and src of every page names an existing file (and anchor)."""
    parsed: dict[Path, _Links] = {}

    def _parsed(path: Path) -> _Links:
        if path not in parsed:
            parsed[path] = _parse(path)
        return parsed[path]

    broken = []
    for page in sorted(site.rglob("*.html")):
        if "_static" in page.relative_to(site).parts:
            continue  # the themes' template fragments (in every language's tree), not pages
        links = _parsed(page)
        for link in links.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {link}")
            elif parts.fragment and target.suffix == ".html":
                ids = _parsed(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{page.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "broken internal links:\n" + "\n".join(broken)


class _Text(HTMLParser):
    """The visible text of a page (no scripts or styles)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def test_no_page_claims_a_device_without_a_passed_record(site):
    """A lesson page may name only its own recorded devices, any other page only recorded ones."""
    by_page = {page_path(lesson): [lesson] for lesson in LESSONS}
    for page in sorted(site.rglob("*.html")):
        rel = page.relative_to(site).as_posix()
        if "_static" in page.relative_to(site).parts:
            continue
        parser = _Text()
        parser.feed(page.read_text(encoding="utf-8"))
        claimed = claimed_devices("\n".join(parser.parts))
        extra = claimed - recorded_devices(by_page.get(rel, LESSONS))
        assert not extra, f"{rel} claims {sorted(extra)} without a passed verification record"


# --- badges and launch links (no browser needed) ---------------------------------------------


def _record(
    folder: Path, lesson_id: str, device: str, passed: bool, torch="2.14.1+cu130", date="2026-11-23"
):
    record = {
        "lesson": lesson_id,
        "device": device,
        "device_name": "x",
        "torch": torch,
        "date": date,
        "passed": passed,
        "notebooks": {},
    }
    (folder / f"{lesson_id}-{device}.json").write_text(json.dumps(record))


def test_badge_comes_only_from_passed_records(tmp_path):
    lesson = LESSONS[0]
    assert verification_badge(lesson, tmp_path) is None
    _record(tmp_path, lesson.id, "cuda", passed=False)
    assert verification_badge(lesson, tmp_path) is None
    _record(tmp_path, lesson.id, "cpu", passed=True)
    assert verification_badge(lesson, tmp_path) == "verified with torch 2.14 on CPU, 2026-11-23"
    _record(tmp_path, lesson.id, "cuda", passed=True, date="2026-11-24")
    assert verification_badge(lesson, tmp_path) == (
        "verified with torch 2.14 on CPU and CUDA, 2026-11-24"
    )
    _record(tmp_path, lesson.id, "cuda", passed=True, torch="2.15.0")
    assert verification_badge(lesson, tmp_path) == (
        "verified with torch 2.14 on CPU and torch 2.15 on CUDA, 2026-11-23"
    )


def test_a_broken_record_fails_the_build_clearly(tmp_path):
    from torchcourse.errors import CourseError

    lesson = LESSONS[0]
    (tmp_path / f"{lesson.id}-cpu.json").write_text("{not json")
    with pytest.raises(CourseError, match=r"not a verification record.*--record"):
        verification_badge(lesson, tmp_path)


def test_launch_links_come_from_the_repository_setting():
    course = COURSE.model_copy(deep=True)
    course.course.repository = "https://github.com/someone/fork"
    course.course.branch = "dev"
    lesson = LESSONS[0]
    urls = launch_urls(course, lesson)
    assert urls["colab"] == (
        f"https://colab.research.google.com/github/someone/fork/blob/dev/{lesson.notebook}"
    )
    # Binder opens the learner's copy, in the workspace binder/postBuild made.
    copy = f"lab/tree/workspace/{lesson.name}/{lesson.name}.ipynb"
    assert (
        urls["binder"]
        == f"https://mybinder.org/v2/gh/someone/fork/dev?urlpath={quote(copy, safe='')}"
    )
    zh = launch_urls(course, lesson, "zh_CN")
    assert zh["colab"].endswith(f"/dev/zh-CN/{lesson.notebook}")
    assert unquote(zh["binder"]).endswith(
        f"=lab/tree/workspace-zh-CN/{lesson.name}/{lesson.name}.ipynb"
    )


def test_the_generator_never_prunes_a_folder_it_did_not_make(tmp_path):
    from torchcourse.errors import CourseError
    from torchcourse.site import generate

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(CourseError, match="not generated by torchcourse.site"):
        generate(ROOT, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_chromium_skips_locally_and_fails_in_ci(tmp_path):
    missing = tmp_path / "no-chromium"
    with pytest.raises(pytest.skip.Exception, match=re.escape(INSTALL_CHROMIUM)):
        require_chromium(missing, ci=False)
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_chromium(missing, ci=True)


# --- in the browser --------------------------------------------------------------------------


def test_a_request_outside_the_site_is_a_problem(page):
    """The offline check itself: a page that loads an image from elsewhere is reported."""
    outside = "http://example.invalid/plot.png"
    with page.expect_request(outside):
        page.set_content(f'<img src="{outside}">', wait_until="commit")
    assert f"request outside the site: {outside}" in page.problems


def test_home_page(page):
    visit(page)
    article = page.locator("article.bd-article")
    assert plain(COURSE.course.title) in article.locator("h1").first.inner_text()
    text = " ".join(article.inner_text().split())
    assert "make lab" in text
    for lesson in LESSONS:
        assert f"{lesson.id} · {lesson.title}" in text
        assert f"{lesson.minutes} minutes" in text
        for objective in lesson.objectives:
            assert plain(objective) in text, f"home page: objective missing: {objective}{MD_HINT}"
    assert not page.problems, "\n".join(page.problems)


def test_nav_order_equals_lessons_yml(page):
    visit(page, settle=False)
    links = page.locator("nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link) > li > a")
    texts = [" ".join(t.split()) for t in links.all_inner_texts()]
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert texts == [f"{lesson.id} · {lesson.title}" for lesson in LESSONS]
    assert hrefs == [page_path(lesson) for lesson in LESSONS]


def test_lesson_page_loads_without_console_errors(lesson_page):
    page, lesson = lesson_page, lesson_page.lesson
    assert not page.problems, f"{page_path(lesson)}:\n" + "\n".join(page.problems)


def test_every_image_rendered(lesson_page):
    page, lesson = lesson_page, lesson_page.lesson
    images = page.evaluate(
        "Array.from(document.images).map(img => [img.getAttribute('src'), img.naturalWidth])"
    )
    broken = [src for src, width in images if width == 0]
    assert not broken, f"{page_path(lesson)}: images that did not render: {broken}"


def test_lesson_page_shows_its_facts(lesson_page):
    page, lesson = lesson_page, lesson_page.lesson
    article = page.locator("article.bd-article")
    h1 = article.locator("h1").first.evaluate("h => h.firstChild.textContent")
    assert h1.strip() == f"{lesson.id} · {lesson.title}"
    # The notebook's header cell, above the facts box: objectives, prerequisites, time, devices.
    text, hrefs = article.locator(".tc-facts").evaluate(HEADER_JS)
    text = " ".join(text.split())
    for objective in lesson.objectives:
        assert plain(objective) in text, f"objective missing: {objective}{MD_HINT}"
    assert f"{lesson.minutes} minutes" in text, f"the header does not say {lesson.minutes} minutes"
    for device in lesson.devices:
        assert DEVICE_NAMES[device] in text, f"the header does not name {DEVICE_NAMES[device]}"
    for prereq in lesson.prerequisites:
        target = page.base + page_path(COURSE.lesson(prereq))
        assert target in hrefs, f"the header does not link prerequisite {prereq}"
    badge = verification_badge(lesson, ROOT / "verification")
    badges = article.locator(".tc-badge")
    if badge:
        assert badge in badges.inner_text()
    else:
        assert badges.count() == 0, "a badge without a passed verification record"
    designed = article.locator(".tc-facts .tc-designed").last.inner_text()
    assert designed == ", ".join(DEVICE_NAMES[d] for d in lesson.devices), designed
    assert "verif" not in designed.lower(), "'designed for' never reads as a verification"
    urls = launch_urls(COURSE, lesson)
    assert article.locator("a.tc-colab").get_attribute("href") == urls["colab"]
    assert article.locator("a.tc-binder").get_attribute("href") == urls["binder"]


def test_download_links_resolve_to_the_notebooks(lesson_page):
    page, lesson = lesson_page, lesson_page.lesson
    downloads = page.locator(".tc-facts a.download")
    assert downloads.count() == 2
    for i, rel in enumerate((lesson.notebook, lesson.solution)):
        link = downloads.nth(i)
        response = page.request.get(urljoin(page.url, link.get_attribute("href")))
        assert response.status == 200, f"{link.get_attribute('href')}: HTTP {response.status}"
        assert response.body() == (ROOT / rel).read_bytes(), f"the download is not {rel}"
    assert "student" in downloads.nth(0).inner_text()
    assert "solution" in downloads.nth(1).inner_text()


def test_screenshots_of_home_and_a_lesson(page):
    """screenshots/: the home page, a lesson's top, its first plot (look at them)."""
    SCREENSHOTS.mkdir(exist_ok=True)
    visit(page).screenshot(path=SCREENSHOTS / "home.png")
    lesson = next((lesson for lesson in LESSONS if lesson.id == "01"), LESSONS[0])
    visit(page, page_path(lesson)).screenshot(path=SCREENSHOTS / f"{lesson.name}.png")
    images = page.locator("article.bd-article img")
    if images.count():
        images.first.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"{lesson.name}-plot.png")
    assert not page.problems, "\n".join(page.problems)


def test_search_lists_the_autograd_chapter(page):
    lesson = next(lesson for lesson in LESSONS if lesson.slug == "autograd")
    visit(page)
    page.locator("button.search-button-field").first.click()
    field = page.locator("input[name=q]:visible").first
    field.fill("autograd")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=autograd*")
    page.locator("#search-results .search-summary").wait_for()
    page.wait_for_function(
        "document.querySelector('#search-results .search-summary').textContent.includes('found')"
    )
    hits = [
        urljoin(page.url, h)
        for h in page.locator("#search-results a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    assert any(hit.split("#")[0].split("?")[0] == page.base + page_path(lesson) for hit in hits), (
        f"searching 'autograd' does not list {page_path(lesson)}: {hits}"
    )
    assert not page.problems, "\n".join(page.problems)


def test_dark_mode_switch_changes_the_theme(fresh_page):
    page = fresh_page  # the choice of theme is stored: not in the module's tab
    visit(page, page_path(LESSONS[0]))

    def theme():
        return page.evaluate(
            "[document.documentElement.dataset.theme,"
            " getComputedStyle(document.body).backgroundColor]"
        )

    light_mode, light_background = theme()
    assert light_mode == "light"
    switch = page.locator("button.theme-switch-button:visible").first
    switch.click()
    page.locator(".theme-change-button[data-mode=dark]:visible").first.click()
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
    dark_mode, dark_background = theme()
    assert dark_background != light_background, "dark mode did not change the page's colours"
    page.reload(wait_until="load")  # the choice is remembered (and the menu is closed)
    assert theme() == [dark_mode, dark_background]
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{LESSONS[0].name}-dark.png")
    assert not page.problems, "\n".join(page.problems)


# --- the translated editions -------------------------------------------------------------------

EDITIONS = [code for code in site_languages(ROOT) if code != SOURCE_LANGUAGE]


def edition_page(language: str, lesson=None) -> str:
    """A page's path in a language's site: '' for the home page."""
    prefix = "" if language == SOURCE_LANGUAGE else f"{edition_dir(language)}/"
    return prefix + (page_path(lesson) if lesson else "index.html")


def test_every_translated_language_has_an_edition():
    """The site shows every language the course has (translate --build makes the edition)."""
    assert EDITIONS == languages(), f"missing editions: {set(languages()) - set(EDITIONS)}"


@pytest.mark.parametrize("language", [SOURCE_LANGUAGE, *EDITIONS] if EDITIONS else [])
@pytest.mark.parametrize("lesson", [None, *LESSONS], ids=lambda x: x.id if x else "home")
def test_every_page_links_to_itself_in_the_other_languages(page, language, lesson):
    visit(page, edition_page(language, lesson), settle=False)
    assert page.evaluate("document.documentElement.lang") == language.replace("_", "-")
    switch = page.locator(".tc-language-switch")
    assert switch.locator(".tc-lang-current").inner_text() == LANGUAGES[language]
    links = switch.locator("a.tc-lang")
    others = [code for code in [SOURCE_LANGUAGE, *EDITIONS] if code != language]
    assert links.count() == len(others)
    for i, other in enumerate(others):
        href = urljoin(page.url, links.nth(i).get_attribute("href"))
        assert href == page.base + edition_page(other, lesson), f"{href} is not its counterpart"
        assert links.nth(i).inner_text() == LANGUAGES[other]
    links.first.click()  # the page it opens is checked (problems too) as its own case
    page.wait_for_url(page.base + edition_page(others[0], lesson), wait_until="commit")
    assert not page.problems, "\n".join(page.problems)


@pytest.mark.parametrize("language", EDITIONS)
def test_translated_home_page_names_every_lesson_in_its_language(page, language):
    visit(page, edition_page(language))
    text = " ".join(page.locator("article.bd-article").inner_text().split())
    for lesson in LESSONS:
        title = translations(language)[lesson.title]
        assert f"{lesson.id} · {title}" in text
        for objective in lesson.objectives:
            assert plain(translations(language)[objective]) in text
    nav = page.locator(
        "nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link) > li > a:not([href*=glossary])"
    )
    assert [" ".join(t.split()) for t in nav.all_inner_texts()] == [
        f"{lesson.id} · {translations(language)[lesson.title]}" for lesson in LESSONS
    ]
    assert not page.problems, "\n".join(page.problems)


@pytest.mark.parametrize("language", EDITIONS)
def test_search_finds_words_of_the_translation(page, language):
    """Chinese has no spaces: the search index splits it into words (jieba + the glossary)."""
    lesson = next(lesson for lesson in LESSONS if lesson.slug == "autograd")
    word = translations(language)[lesson.title]
    visit(page, edition_page(language).replace("index.html", f"search.html?q={quote(word)}"))
    page.wait_for_function(
        "document.querySelector('#search-results .search-summary')?.textContent.length > 0"
    )
    hits = [
        urljoin(page.url, h).split("#")[0].split("?")[0]
        for h in page.locator("#search-results a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
    ]
    assert page.base + edition_page(language, lesson) in hits, f"{word!r} found {hits}"
    assert not page.problems, "\n".join(page.problems)


@pytest.mark.parametrize("language", EDITIONS)
def test_screenshot_of_a_translated_lesson(page, language):
    SCREENSHOTS.mkdir(exist_ok=True)
    lesson = next((lesson for lesson in LESSONS if lesson.id == "03"), LESSONS[0])
    visit(page, edition_page(language, lesson))
    page.screenshot(path=SCREENSHOTS / f"{edition_dir(language)}-{lesson.name}.png")
    assert not page.problems, "\n".join(page.problems)


# --- the offline bundle ----------------------------------------------------------------------


@pytest.mark.parametrize("language", [SOURCE_LANGUAGE, *EDITIONS])
def test_home_page_offers_the_edition_s_notebooks_as_one_zip(page, language):
    visit(page, edition_page(language), settle=False)
    links = page.locator("article.bd-article a.download[href$='.zip']")
    assert links.count() == 1, "one download of the edition's student notebooks"
    href = urljoin(page.url, links.first.get_attribute("href"))
    assert href.endswith(bundle_name(language, torchcourse.__version__))
    response = page.request.get(href)
    assert response.status == 200, href
    archive = zipfile.ZipFile(io.BytesIO(response.body()))
    folder = bundle_name(language, torchcourse.__version__).removesuffix(".zip")
    expected = {
        f"{folder}/{lesson.name}/{lesson.name}.ipynb": ROOT / rel
        for lesson, rel in zip(LESSONS, edition_notebooks(COURSE, language, student_only=True))
    }
    assert sorted(archive.namelist()) == sorted(expected)
    for name, path in expected.items():
        assert archive.read(name) == path.read_bytes(), f"{name} is not {path.relative_to(ROOT)}"


# --- on a phone (390 px) ---------------------------------------------------------------------

OVERFLOW_JS = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.mark.parametrize("language", [SOURCE_LANGUAGE, *EDITIONS])
def test_on_a_phone_nothing_overflows_sideways(phone, language):
    for lesson in [None, *LESSONS]:
        visit(phone, edition_page(language, lesson), settle=False)
        width, viewport = phone.evaluate(OVERFLOW_JS)
        where = edition_page(language, lesson)
        assert width <= viewport, f"{where}: {width} px wide on a {viewport} px screen"
        for box in phone.locator(".tc-badge").all():
            right = box.evaluate("b => b.getBoundingClientRect().right")
            assert right <= viewport, f"{where}: the badge ends at {right} px"
    assert not phone.problems, "\n".join(phone.problems)


@pytest.mark.parametrize("language", [SOURCE_LANGUAGE, *EDITIONS])
def test_on_a_phone_the_chapter_list_and_the_language_switch_are_reachable(phone, language):
    lesson = next((lesson for lesson in LESSONS if lesson.id == "01"), LESSONS[0])
    visit(phone, edition_page(language, lesson))
    SCREENSHOTS.mkdir(exist_ok=True)
    name = f"phone-{edition_dir(language)}-{lesson.name}"
    phone.screenshot(path=SCREENSHOTS / f"{name}.png")
    # The ☰ button opens the drawer with every chapter; a tap on one opens it.
    phone.locator(".primary-toggle:visible").first.tap()
    drawer = phone.locator("#pst-primary-sidebar-modal[open]")
    drawer.wait_for()
    entries = drawer.locator("nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link) > li > a")
    # every chapter, then (in a translated edition) the glossary
    glossary = language != SOURCE_LANGUAGE
    assert entries.count() == len(LESSONS) + glossary
    chapters = drawer.locator(
        "nav.bd-docs-nav ul.bd-sidenav:not(.bd-sidenav__home-link) > li > a:not([href*=glossary])"
    )
    assert chapters.count() == len(LESSONS)
    assert all(chapters.nth(i).is_visible() for i in range(chapters.count()))
    phone.screenshot(path=SCREENSHOTS / f"{name}-chapters.png")
    chapters.last.tap()
    phone.wait_for_url(phone.base + edition_page(language, LESSONS[-1]))
    # The language switch is in the header, on screen without opening anything.
    others = [code for code in [SOURCE_LANGUAGE, *EDITIONS] if code != language]
    switch = phone.locator(".tc-language-switch a.tc-lang")
    assert switch.count() == len(others)
    assert switch.first.is_visible() and switch.first.inner_text() == LANGUAGES[others[0]]
    box = switch.first.bounding_box()
    assert box["y"] + box["height"] <= PHONE["height"] and box["x"] + box["width"] <= PHONE["width"]
    switch.first.tap()
    phone.wait_for_url(phone.base + edition_page(others[0], LESSONS[-1]))
    assert not phone.problems, "\n".join(phone.problems)


def test_a_translated_edition_shows_its_glossary_on_every_chapter_and_links_its_readme(site):
    """The Chinese site has the glossary as a page, every chapter links it, and the home page
    links the Chinese README (installing from mainland China)."""
    for language in site_languages(ROOT)[1:]:
        edition = site / edition_dir(language)
        glossary_page = edition / "glossary.html"
        assert glossary_page.is_file(), f"{language}: no glossary page"
        assert "d2l" in glossary_page.read_text(encoding="utf-8").lower()
        for lesson in COURSE.lessons:
            page = (edition / lesson.name / f"{lesson.name}.html").read_text(encoding="utf-8")
            assert 'href="../glossary.html"' in page, f"{language}/{lesson.name}: no glossary link"
        home = (edition / "index.html").read_text(encoding="utf-8")
        assert f"README.{edition_dir(language)}.md" in home and "glossary.html" in home
    english = (site / "index.html").read_text(encoding="utf-8")
    assert "glossary.html" not in english and "README.zh-CN.md" not in english
