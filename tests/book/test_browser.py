"""Open every page of the built book in headless Chromium and check what a reader sees.

Needs the book built (``make book``) and Debian's Chromium at /usr/bin/chromium
(``apt-get install chromium chromium-driver``); Playwright drives it, nothing is
downloaded. The site is served from ``_build/html`` on 127.0.0.1 and every request
to any other host is aborted and recorded, so the checks run with the network off.

For each page of the table of contents:

* no console error and no uncaught page error, no local request answered >= 400;
* every ``<img>`` loaded (``naturalWidth > 0``), after scrolling to the bottom;
* where the page has math: MathJax (served by the site) typeset all of it, and no
  raw ``\\(``, ``\\[`` or ``$...$`` is left in the text;
* on chapter (notebook) pages: the Binder and Colab buttons open that chapter's
  notebook on branch ``main`` of ``repository.url``;
* every same-site link points at a file that exists;
* no request went to a host other than the local server.

A full-page screenshot of each page goes to ``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from book_helpers import repository_url, toc_docnames
from helpers import ROOT, serving

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Hosts, other than the local server, that a page may request. Empty: the theme,
#: its fonts and icons and MathJax are all served by the book itself.
ALLOWED_REMOTE_HOSTS: frozenset[str] = frozenset()
#: Pages of ``_build/html`` that are not tested, and why: Sphinx's generated index
#: and search pages hold none of the book's content, and ``index.html`` is only a
#: redirect to the landing page (checked by ``test_index_redirects_to_landing_page``).
#: Folders ``_static``, ``_sources``, ``_images`` and ``_downloads`` hold assets.
EXCLUDED_PAGES = frozenset({"index.html", "genindex.html", "search.html"})
EXCLUDED_DIRS = frozenset({"_static", "_sources", "_images", "_downloads"})
#: The branch that the Binder and Colab buttons must open.
BRANCH = "main"
VIEWPORT = {"width": 1280, "height": 900}
TIMEOUT_MS = 30_000


def built_pages() -> set[str]:
    """Return the HTML pages under ``_build/html`` that are tested (see above)."""
    pages = set()
    for path in HTML.rglob("*.html"):
        relative = path.relative_to(HTML)
        if relative.parts[0] in EXCLUDED_DIRS or relative.as_posix() in EXCLUDED_PAGES:
            continue
        pages.add(relative.as_posix())
    return pages


def is_notebook(docname: str) -> bool:
    """Whether a document of the TOC is a notebook (and so has launch buttons)."""
    return (ROOT / f"{docname}.ipynb").is_file()


# ---------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def site() -> Path:
    """The built book; fails (it never skips) if ``make book`` has not run."""
    if not (HTML / "index.html").is_file():
        pytest.fail(f"{HTML / 'index.html'} is missing: run `make book` first")
    return HTML


@pytest.fixture(scope="session")
def server(site: Path) -> Iterator[str]:
    """Serve the built book on 127.0.0.1, on a free port; yield its base URL."""
    with serving(site) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright (never ``playwright install``)."""
    if not CHROMIUM.is_file():
        message = (
            f"{CHROMIUM} is missing: `apt-get install chromium chromium-driver` "
            "enables the browser tests"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """What happened while one page was open."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@pytest.fixture
def tab(browser: Browser, server: str) -> Iterator[tuple[Page, Visit]]:
    """A fresh browser tab that may only reach the local server."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    visit = Visit()

    def on_request(route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        local = url.startswith(server + "/") or parts.scheme in ("data", "blob")
        if local or (parts.hostname or "") in ALLOWED_REMOTE_HOSTS:
            route.continue_()
        else:
            visit.blocked.append(url)
            route.abort()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            visit.console_errors.append(f"{message.text} ({message.location})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            visit.failed.append(f"{response.status} {response.url}")

    context.route("**/*", on_request)
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    page.on("response", on_response)
    try:
        yield page, visit
    finally:
        context.close()


# ------------------------------------------------------------------- page checks

#: In the page's prose (not in code, not in typeset math): TeX that MathJax missed.
_RAW_MATH_JS = r"""
() => {
  const skip = "pre, code, script, style, textarea, .MathJax, .MathJax_Display,"
    + " .MathJax_Preview, .MJX_Assistive_MathML, .highlight";
  const walker = document.createTreeWalker(
    document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement && node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    const delimiters = /\\\(|\\\[|\$\$/;  // \( \[ $$
    const dollars = /\$[^$\n]*[\\^_][^$\n]*\$/;  // $x_i$, $\alpha$, $a^2$
    if (delimiters.test(text) || dollars.test(text)) {
      found.push(text.trim().slice(0, 80));
    }
  }
  return found;
}
"""

#: Sphinx writes math as <span class="math notranslate nohighlight">\(..\)</span>
#: (and <div ...>\[..\]</div>); MathJax's own output also uses the class "math".
MATH_SELECTOR = "main .math.notranslate"

_MATH_STATE_JS = """
(selector) => Array.from(document.querySelectorAll(selector)).map((el) => ({
  html: el.outerHTML.slice(0, 100),
  rendered: el.querySelectorAll(".MathJax, .MathJax_Display, .MathJax_SVG").length,
  errors: el.querySelectorAll(".MathJax_Error, merror, .noError").length,
  raw: Array.from(el.childNodes)
    .filter((n) => n.nodeType === Node.TEXT_NODE)
    .map((n) => n.textContent).join("").trim(),
}))
"""

_IMAGES_JS = """
() => Array.from(document.images).map((img) => ({
  src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,
}))
"""


def scroll_to_bottom(page: Page) -> None:
    """Scroll down a screen at a time, so that lazy images start loading."""
    height = page.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + VIEWPORT["height"], VIEWPORT["height"]):
        page.evaluate(f"window.scrollTo(0, {y})")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_function("Array.from(document.images).every((img) => img.complete)")


def typeset_math(page: Page) -> tuple[int, str | None]:
    """Wait until MathJax has typeset the page.

    Returns the number of math elements and, if MathJax never became ready (not
    loaded, a script error), a description of the problem.
    """
    count = page.locator(MATH_SELECTOR).count()
    if count == 0:
        return 0, None
    try:
        page.wait_for_function(
            "window.MathJax !== undefined && window.MathJax.Hub !== undefined"
            " && window.MathJax.isReady === true",
            timeout=15_000,
        )
    except PlaywrightTimeoutError:
        return count, f"MathJax never got ready on a page with {count} formulas"
    page.evaluate("() => new Promise((done) => MathJax.Hub.Queue(() => done(true)))")
    return count, None


def internal_links(page: Page, server: str) -> list[str]:
    """Return the same-site links of the page as paths, without #anchors or queries."""
    hrefs = page.evaluate(
        "() => Array.from(document.querySelectorAll('a[href]'), (a) => a.href)"
    )
    paths = set()
    for href in hrefs:
        if not href.startswith(server + "/"):
            continue
        path = unquote(urlsplit(href).path)
        paths.add(path + "index.html" if path.endswith("/") else path)
    return sorted(paths)


@pytest.mark.parametrize("docname", toc_docnames())
def test_page(docname: str, site: Path, server: str, tab: tuple[Page, Visit]) -> None:
    page, visit = tab
    started = time.perf_counter()
    page.goto(f"{server}/{docname}.html", wait_until="load")
    scroll_to_bottom(page)
    math_count, math_problem = typeset_math(page)

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(SCREENSHOTS / f"{docname.replace('/', '__')}.png"), full_page=True
    )
    problems: list[str] = []

    images = page.evaluate(_IMAGES_JS)
    problems += [
        f"image not loaded: {img['src']}" for img in images if img["width"] == 0
    ]

    if math_problem:
        problems.append(math_problem)
    elif math_count:
        for math in page.evaluate(_MATH_STATE_JS, MATH_SELECTOR):
            if not math["rendered"] or math["errors"] or math["raw"]:
                problems.append(f"math not typeset: {math['html']}")
    problems += [
        f"raw TeX left in the text: {text!r}" for text in page.evaluate(_RAW_MATH_JS)
    ]

    if is_notebook(docname):
        owner_repo = urlsplit(repository_url()).path.strip("/")
        expected = {
            "Binder": f"https://mybinder.org/v2/gh/{owner_repo}/{BRANCH}"
            f"?urlpath=tree/{docname}.ipynb",
            "Colab": f"https://colab.research.google.com/github/{owner_repo}"
            f"/blob/{BRANCH}/{docname}.ipynb",
        }
        for name, href in expected.items():
            links = page.locator(f'a[href="{href}"]')
            if links.count() == 0:
                problems.append(f"no {name} launch button to {href}")

    for path in internal_links(page, server):
        target = site / path.lstrip("/")
        if not target.is_file():
            problems.append(f"broken link: {path}")

    problems += [f"console error: {text}" for text in visit.console_errors]
    problems += [f"page error: {text}" for text in visit.page_errors]
    problems += [f"HTTP {text}" for text in visit.failed]
    problems += [f"request to another host: {url}" for url in visit.blocked]
    seconds = time.perf_counter() - started
    assert not problems, f"{docname} ({seconds:.1f} s):\n" + "\n".join(problems)


def test_every_built_page_is_tested(site: Path) -> None:
    """The pages of ``_build/html`` are those of the TOC, plus the exclusions."""
    assert built_pages() == {f"{docname}.html" for docname in toc_docnames()}


def test_index_redirects_to_landing_page(server: str, tab: tuple[Page, Visit]) -> None:
    page, visit = tab
    root = toc_docnames()[0]
    page.goto(f"{server}/index.html")
    page.wait_for_url(f"{server}/{root}.html")
    assert not visit.blocked and not visit.console_errors and not visit.page_errors


def test_no_asset_from_another_host(site: Path) -> None:
    """No page loads a script, style sheet, image or frame from the network.

    MathJax, in particular, is served by the site (``_static/mathjax``), not a CDN.
    Links (``<a href>``) to other sites are fine: they load nothing by themselves.
    """
    assert (site / "_static" / "mathjax" / "MathJax.js").is_file()
    remote = re.compile(
        r"<(?:script|img|iframe|source|video|audio)\b[^>]*\ssrc=\"(?:https?:)?//"
        r"|<link\b[^>]*\shref=\"(?:https?:)?//"
    )
    offenders = {
        path.relative_to(site).as_posix(): match.group(0)
        for path in site.rglob("*.html")
        if (match := remote.search(path.read_text(encoding="utf-8")))
    }
    assert not offenders, f"pages that load from another host: {offenders}"
