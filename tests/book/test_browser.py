"""Open every page of the built book in headless Chromium and check what a reader sees.

Needs the book built (``make book``) and a Chromium (``tools/browser.py`` finds it,
``python3 -m tools.sysdeps`` installs Debian's); Playwright drives it. The site is
served from ``_build/html`` on 127.0.0.1 and every request to any other host is
aborted and recorded, so the checks run with the network off.

For each page of the table of contents:

* no console error and no uncaught page error, no local request answered >= 400;
* every ``<img>`` loaded (``naturalWidth > 0``), after scrolling to the bottom;
* where the page has math: MathJax (served by the site) typeset all of it, and no
  raw ``\\(``, ``\\[`` or ``$...$`` is left in the text;
* on chapter (notebook) pages: the Binder and Colab buttons open that chapter's
  notebook on branch ``main`` of ``repository.url``;
* every same-site link points at a file that exists;
* no request went to a host other than the local server.

A page that fails leaves a full-page screenshot in ``tests/artifacts/screenshots/``
(CI keeps them when a test fails); a page that passes takes none (a second each).

Accessibility and reading comfort, on every page (the TOC's, plus Sphinx's search
and index pages for the audit):

* **axe-core** (4.12, shipped by axe-playwright-python, so offline) in light mode
  (in ``test_page``) and in dark mode (in ``test_dark_mode``): no critical or
  serious violation, except those listed in ``THEME_VIOLATIONS`` with the reason
  they belong to the theme. Each page's result goes to ``tests/artifacts/axe/``.
* **Keyboard**: Tab alone reaches the skip link, the sidebar's chapters, the
  launch, download and colour-mode buttons and the previous/next links, each with
  a visible focus ring; Enter opens the launch and download menus and Tab reaches
  their links (Binder, Colab, the notebook, the whole book's PDF).
* **Dark mode** (screenshot of a failing page in
  ``tests/artifacts/screenshots/dark/``): every image of the content is opaque
  (no transparent background that would show the dark page through it) and, as
  drawn on screen, has a contrast of at least 3:1 between its background and its
  ink.
* **Figures**, read from the built HTML: every image of the content has alt text
  that describes it (not a file name) and a caption.
* **Animations** (matplotlib ``to_jshtml``): stepping one changes its frame, and
  it plays, without the network.
* **Search**, offline: "stride" finds chapter 1 first, and the result opens it.
* **Quiz** (jupyterquiz, one per chapter): a numeric and a multiple-choice
  question, answered with the keyboard, show the right answer's feedback.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from bs4 import BeautifulSoup
from PIL import Image
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tools.browser import CHROMIUM_ARGS, find_chromium
from tools.pdf import PDF_NAME

from book_helpers import english_left, repository_url, toc_docnames
from helpers import ROOT, serving

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
#: Hosts, other than the local server, that a page may request. Empty: the theme,
#: its fonts and icons and MathJax are all served by the book itself.
ALLOWED_REMOTE_HOSTS: frozenset[str] = frozenset()
#: Pages of ``_build/html`` that are not tested, and why: Sphinx's generated index
#: and search pages hold none of the book's content, and ``index.html`` is only a
#: redirect to the landing page (checked by ``test_index_redirects_to_landing_page``).
#: Folders ``_static``, ``_sources``, ``_images`` and ``_downloads`` hold assets;
#: ``fr`` is the French edition, tested in its own section at the end.
EXCLUDED_PAGES = frozenset({"index.html", "genindex.html", "search.html"})
EXCLUDED_DIRS = frozenset({"_static", "_sources", "_images", "_downloads", "fr"})
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
    """Headless Chromium (``tools.browser``) driven by Playwright."""
    chromium_path = find_chromium()
    if chromium_path is None:
        message = "no Chromium: `python3 -m tools.sysdeps` finds or installs one"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: the browser tests must run)")
        pytest.skip(message)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True
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


@contextlib.contextmanager
def open_tab(
    browser: Browser, server: str, mode: str = "light"
) -> Iterator[tuple[Page, Visit]]:
    """A fresh browser tab that may only reach the local server.

    ``mode`` is the theme's colour mode ("light" or "dark"), as if the reader had
    chosen it with the header's button (pydata-sphinx-theme keeps it in
    ``localStorage``); the browser's own preference is set to match.
    """
    context = browser.new_context(viewport=VIEWPORT, color_scheme=mode)
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(
        f"localStorage.setItem('mode', '{mode}');"
        f"localStorage.setItem('theme', '{mode}');"
    )
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


@pytest.fixture
def tab(browser: Browser, server: str) -> Iterator[tuple[Page, Visit]]:
    """A fresh light-mode tab that may only reach the local server."""
    with open_tab(browser, server) as opened:
        yield opened


@pytest.fixture
def dark_tab(browser: Browser, server: str) -> Iterator[tuple[Page, Visit]]:
    """A fresh dark-mode tab that may only reach the local server."""
    with open_tab(browser, server, "dark") as opened:
        yield opened


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


def screenshot(page: Page, folder: Path, docname: str) -> None:
    """Keep what the failing page looked like: a full-page screenshot."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{docname.replace('/', '__')}.png"
    page.screenshot(path=str(path), full_page=True)


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
            hint = " (made by `make pdf`)" if target.name == PDF_NAME else ""
            problems.append(f"broken link: {path}{hint}")

    problems += [f"console error: {text}" for text in visit.console_errors]
    problems += [f"page error: {text}" for text in visit.page_errors]
    problems += [f"HTTP {text}" for text in visit.failed]
    problems += [f"request to another host: {url}" for url in visit.blocked]
    problems += accessibility_audit(page, "light", f"{docname}.html")
    seconds = time.perf_counter() - started
    if problems:
        screenshot(page, SCREENSHOTS, docname)
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


# ------------------------------------------------------------------ accessibility

#: axe-core impacts that fail the audit. "moderate" and "minor" are recorded in
#: tests/artifacts/axe/ but do not fail it. (The one moderate violation on every
#: page, rule "region", is the theme's logo link in the primary sidebar, which
#: sphinx-book-theme 1.3 places outside any landmark.)
BLOCKING_IMPACTS = frozenset({"critical", "serious"})
#: Critical or serious violations that belong to the theme, not to the book, by
#: axe rule id, with the reason. Empty: every page passes in both modes.
THEME_VIOLATIONS: dict[str, str] = {}
AXE_ARTIFACTS = ROOT / "tests" / "artifacts" / "axe"
#: Pages audited besides the TOC's (which test_page and test_dark_mode audit):
#: Sphinx's search page, with results, and its index page.
OTHER_AUDITED_PAGES = ["search.html?q=stride", "genindex.html"]

_axe = Axe()

#: Where most of a chapter's elements are: code blocks (one <span> per Pygments
#: token) and typeset math (MathJax draws each symbol in a <span>). Checking the
#: colour contrast of each one takes most of axe's time, yet it depends only on
#: the element's colour, weight, size and opacity and on the background. So one
#: element of each such kind, marked here, stands for the others.
DENSE = ".highlight, .MathJax, .MathJax_Display"
_SAMPLE_DENSE_JS = """
(dense) => {
  const kinds = new Set();
  let samples = 0;
  document.querySelectorAll(dense.split(",").map((s) => s + " span").join(","))
    .forEach((span) => {
      if (!span.textContent.trim()) return;
      const style = getComputedStyle(span);
      const block = getComputedStyle(span.closest(dense));
      const kind = [style.color, style.fontWeight, style.fontSize, style.opacity,
                    style.backgroundColor, block.backgroundColor].join("|");
      if (!kinds.has(kind)) {
        kinds.add(kind);
        span.setAttribute("data-axe-sample", "");
        samples++;
      }
    });
  return samples;
}
"""
_DENSE = [[selector.strip()] for selector in DENSE.split(",")]
#: axe-core runs (context, options): everything outside code and math; code and
#: math with every rule but colour contrast; colour contrast of the samples.
_AXE_RUNS = [
    ({"exclude": _DENSE}, {}),
    ({"include": _DENSE}, {"rules": {"color-contrast": {"enabled": False}}}),
    ({"include": [["[data-axe-sample]"]]}, {"runOnly": ["color-contrast"]}),
]


def run_axe(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (see ``_AXE_RUNS``)."""
    page.evaluate(_axe.axe_script)
    samples = page.evaluate(_SAMPLE_DENSE_JS, DENSE)
    dense = page.locator(DENSE).count() > 0
    # axe fails on a context that matches nothing: skip the runs without one.
    runs = _AXE_RUNS[: 1 + dense + (samples > 0)]
    merged: dict[str, dict] = {}
    for context, options in runs:
        options = {"resultTypes": ["violations"], **options}
        result = page.evaluate(
            "([context, options]) => axe.run(context, options)", [context, options]
        )
        for violation in result["violations"]:
            if violation["id"] in merged:
                merged[violation["id"]]["nodes"] += violation["nodes"]
            else:
                merged[violation["id"]] = violation
    return list(merged.values())


def accessibility_audit(page: Page, mode: str, page_name: str) -> list[str]:
    """Run axe-core on the page as it is now; return its blocking violations.

    Every violation, blocking or not, is written to ``tests/artifacts/axe/``.
    """
    theme = page.evaluate("document.documentElement.dataset.theme")
    if theme != mode:
        return [f"the page is in {theme} mode, not {mode}: audit not run"]
    violations = run_axe(page)
    AXE_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    record = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [node["target"] for node in v["nodes"]],
        }
        for v in violations
    ]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{mode}__{page_name}")
    (AXE_ARTIFACTS / f"{name}.json").write_text(json.dumps(record, indent=1))
    return [
        f"axe {v['id']} ({v['impact']}, {mode} mode): {v['help']} "
        f"[{v['helpUrl']}]\n    "
        + "\n    ".join(
            f"{node['target']}: {node.get('failureSummary', '')}".replace("\n", " ")
            for node in v["nodes"][:5]
        )
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS and v["id"] not in THEME_VIOLATIONS
    ]


@pytest.mark.parametrize("page_name", OTHER_AUDITED_PAGES)
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_accessibility_of_search_and_index(
    mode: str, page_name: str, browser: Browser, server: str
) -> None:
    with open_tab(browser, server, mode) as (page, _):
        page.goto(f"{server}/{page_name}", wait_until="load")
        if page_name.startswith("search.html"):
            page.wait_for_selector("#search-results .search-summary")
        problems = accessibility_audit(page, mode, page_name)
    assert not problems, "\n".join(problems)


#: What a keyboard user must reach on a chapter page, as CSS selectors.
KEYBOARD_TARGETS = {
    "skip link": "#pst-skip-link a",
    "chapter 2 in the sidebar": 'nav.bd-docs-nav a[href="02_pooling.html"]',
    "launch menu": 'button[aria-label="Launch interactive content"]',
    "download menu": 'button[aria-label="Download this page"]',
    "colour mode": "button.theme-switch-button",
    "previous page": "a.left-prev",
    "next page": "a.right-next",
}
#: The focused element and whether it shows a focus indicator (outline or ring).
_FOCUS_JS = """
(targets) => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const ring = style.boxShadow !== "none";
  const hits = Object.entries(targets)
    .filter(([, selector]) => el.matches(selector)).map(([name]) => name);
  return {hits, visible: outline || ring,
          text: (el.getAttribute("aria-label") || el.textContent || "").trim()
                  .slice(0, 40),
          href: el.getAttribute("href")};
}
"""
MAX_TABS = 400


def press_tab_until(page: Page, selector: str) -> bool:
    """Press Tab until ``selector`` has the focus (at most ``MAX_TABS`` times)."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return True
    return False


def menu_links(page: Page, toggle: str, count: int) -> list[str]:
    """Open a header menu with Enter; the ``href``s that Tab then focuses."""
    page.goto(page.url, wait_until="load")
    assert press_tab_until(page, toggle), f"Tab never reached {toggle}"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(s) => document.querySelector(s).getAttribute('aria-expanded') === 'true'",
        arg=toggle,
    )
    reached = []
    for _ in range(count):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.getAttribute('href')"))
    return reached


def test_keyboard_reaches_the_buttons(tab: tuple[Page, Visit], server: str) -> None:
    """A chapter's buttons and links, reached and operated with the keyboard only."""
    page, _ = tab
    chapter = next(d for d in toc_docnames() if is_notebook(d))
    page.goto(f"{server}/{chapter}.html", wait_until="load")
    reached: dict[str, bool] = {}
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUS_JS, KEYBOARD_TARGETS)
        for name in (focused or {}).get("hits", []):
            reached.setdefault(name, focused["visible"])
        if len(reached) == len(KEYBOARD_TARGETS):
            break
    missing = sorted(set(KEYBOARD_TARGETS) - set(reached))
    unseen = sorted(name for name, visible in reached.items() if not visible)
    assert not missing, f"Tab never reaches: {missing}"
    assert not unseen, f"no visible focus indicator on: {unseen}"

    launch = menu_links(page, KEYBOARD_TARGETS["launch menu"], 2)
    assert any(h and h.startswith("https://mybinder.org/") for h in launch), launch
    assert any(h and h.startswith("https://colab.research.google.com/") for h in launch)
    download = menu_links(page, KEYBOARD_TARGETS["download menu"], 4)
    assert any(h and h.endswith(".ipynb") for h in download), download
    assert f"../{PDF_NAME}" in download, download


# ---------------------------------------------------------------------- dark mode

#: Pixels of an image, drawn on a canvas: the share that is not fully opaque.
_TRANSPARENCY_JS = """
(img) => {
  const width = Math.min(img.naturalWidth, 600);
  const height = Math.max(1, Math.round(img.naturalHeight * width / img.naturalWidth));
  const canvas = document.createElement("canvas");
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0, width, height);
  const data = context.getImageData(0, 0, width, height).data;
  let seeThrough = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] < 250) seeThrough++;
  return seeThrough / (width * height);
}
"""
#: The content's images: figures, animation frames (not the theme's icons).
CONTENT_IMAGES = "article.bd-article img"
MAX_TRANSPARENT = 0.01
MIN_CONTRAST = 3.0  # WCAG 2.1 SC 1.4.11, non-text contrast


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def linear(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def drawn_contrast(png: bytes) -> float:
    """Contrast between an image's background (its most common colour) and its ink.

    The ink is the colour farthest from the background in luminance, ignoring
    the farthest 0.5 % of the pixels (anti-aliasing, a stray dot).
    """
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        rgb.thumbnail((400, 400))
        colors = rgb.getcolors(maxcolors=400 * 400)
    background = luminance(max(colors)[1])
    by_distance = sorted(
        (abs(luminance(color) - background), count, luminance(color))
        for count, color in colors
    )
    total = sum(count for _, count, _ in by_distance)
    seen, ink = 0, background
    for _, count, value in by_distance:
        seen += count
        ink = value
        if seen >= total * 0.995:
            break
    light, dark = max(background, ink), min(background, ink)
    return (light + 0.05) / (dark + 0.05)


def dark_mode_image_problems(page: Page) -> list[str]:
    """The content's images that a dark page would make hard to read."""
    problems = []
    images = page.locator(CONTENT_IMAGES)
    for index in range(images.count()):
        image = images.nth(index)
        if not image.is_visible():
            continue  # in a folded dropdown: checked where it is shown
        name = (image.get_attribute("alt") or image.get_attribute("src") or "")[:60]
        see_through = image.evaluate(_TRANSPARENCY_JS)
        if see_through > MAX_TRANSPARENT:
            problems.append(
                f"image {index} ({name}): {see_through:.0%} of it is transparent"
            )
        contrast = drawn_contrast(image.screenshot())
        if contrast < MIN_CONTRAST:
            problems.append(
                f"image {index} ({name}): contrast {contrast:.1f}:1 as drawn in "
                f"dark mode, below {MIN_CONTRAST}:1"
            )
    return problems


@pytest.mark.parametrize("docname", toc_docnames())
def test_dark_mode(docname: str, server: str, dark_tab: tuple[Page, Visit]) -> None:
    page, _ = dark_tab
    page.goto(f"{server}/{docname}.html", wait_until="load")
    scroll_to_bottom(page)
    typeset_math(page)
    problems = accessibility_audit(page, "dark", f"{docname}.html")
    problems += dark_mode_image_problems(page)
    if problems:
        screenshot(page, SCREENSHOTS / "dark", docname)
    assert not problems, f"{docname}, dark mode:\n" + "\n".join(problems)


def test_dark_mode_check_sees_a_transparent_plot(
    browser: Browser, tmp_path: Path
) -> None:
    """The check above is not blind: a plot saved with a transparent background
    fails it on a dark page, the same plot on white passes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    for name, transparent in (("clear", True), ("white", False)):
        figure = Figure(figsize=(3, 2), dpi=72)
        figure.add_subplot().plot([0, 1, 0, 2], color="black")
        figure.savefig(tmp_path / f"{name}.png", transparent=transparent)
    (tmp_path / "index.html").write_text(
        '<html data-theme="dark"><body style="background:#121212">'
        '<article class="bd-article"><img src="clear.png" alt="clear">'
        '<img src="white.png" alt="white"></article></body></html>'
    )
    with serving(tmp_path) as url, open_tab(browser, url, "dark") as (page, _):
        page.goto(f"{url}/index.html", wait_until="load")
        problems = dark_mode_image_problems(page)
    assert any("(clear)" in p and "transparent" in p for p in problems), problems
    assert any("(clear)" in p and "contrast" in p for p in problems), problems
    assert not any("(white)" in p for p in problems), problems


# ------------------------------------------------------------------------ figures

#: Alt text that names a file or says nothing: what Sphinx falls back to.
_NOT_A_DESCRIPTION = re.compile(
    r"^(?:[0-9a-f]{16,}|.*\.(?:png|jpe?g|gif|svg)|image|figure|plot|png|none)$",
    re.IGNORECASE,
)


def figure_problems(html: str) -> list[str]:
    """What is missing from the figures of one built page.

    Every ``<img>`` of the article (figures and animation frames) needs alt text
    of a few words that is not a file name, and must sit in a ``<figure>`` with a
    non-empty ``<figcaption>`` (MyST-NB's ``mystnb.figure.caption`` for an output,
    ``book_src.animations.to_html(..., caption=...)`` for an animation).
    """
    article = BeautifulSoup(html, "html.parser").select_one("article.bd-article")
    problems = []
    for index, img in enumerate(article.find_all("img") if article else []):
        src = img.get("src", "")
        name = src[:50] if not src.startswith("data:") else f"image {index}"
        alt = (img.get("alt") or "").strip()
        if not alt or _NOT_A_DESCRIPTION.match(alt) or len(alt.split()) < 3:
            problems.append(f"{name}: no alt text that describes it (alt={alt!r})")
        figure = img.find_parent("figure")
        caption = figure.find("figcaption") if figure else None
        if caption is None or not caption.get_text(strip=True):
            problems.append(f"{name}: no caption")
    return problems


@pytest.mark.parametrize("docname", toc_docnames())
def test_figures_have_alt_text_and_caption(docname: str, site: Path) -> None:
    html = (site / f"{docname}.html").read_text(encoding="utf-8")
    problems = figure_problems(html)
    assert not problems, f"{docname}:\n" + "\n".join(problems)


# --------------------------------------------------------------------- animations

#: Chapters with an animation (matplotlib to_jshtml, via book_src.animations).
ANIMATED_CHAPTERS = [
    "chapters/01_conv1d_loop",
    "chapters/04_conv2d",
    "chapters/05_conv3d_video",
    "chapters/07_backward_loops",
]
ANIMATION = "div.animation"


@pytest.mark.parametrize("docname", ANIMATED_CHAPTERS)
def test_animation_steps_and_plays(
    docname: str, server: str, tab: tuple[Page, Visit]
) -> None:
    page, visit = tab
    assert docname in toc_docnames()
    page.goto(f"{server}/{docname}.html", wait_until="load")
    assert page.locator(ANIMATION).count() >= 1, f"{docname} has no animation"
    animation = page.locator(ANIMATION).first
    animation.scroll_into_view_if_needed()
    image = animation.locator("img").first
    slider = animation.locator("input[type=range]")

    def button(label: str) -> Locator:
        return animation.locator(f'button[aria-label="{label}"]')

    first = image.get_attribute("src") or ""
    assert first.startswith("data:image/"), "the first frame is not in the page"

    button("Next frame").click()
    assert image.get_attribute("src") != first, "Next frame did not change it"
    assert slider.input_value() == "1"

    button("First frame").click()
    assert image.get_attribute("src") == first
    slider.focus()
    page.keyboard.press("ArrowRight")  # the slider, from the keyboard
    assert image.get_attribute("src") != first, "the slider did not change it"

    button("First frame").click()
    button("Play").click()
    page.wait_for_function(
        "(slider) => slider.value !== '0'", arg=slider.element_handle(), timeout=10_000
    )
    button("Pause").click()
    assert not visit.blocked, visit.blocked
    assert not visit.page_errors, visit.page_errors


# ------------------------------------------------------------------------- search


def test_search_finds_stride_in_chapter_1(tab: tuple[Page, Visit], server: str) -> None:
    """Search, offline, from the landing page: type, Enter, open the first result."""
    page, visit = tab
    chapter_1 = next(d for d in toc_docnames() if is_notebook(d))
    page.goto(f"{server}/{toc_docnames()[0]}.html", wait_until="load")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    field.fill("stride")
    field.press("Enter")
    page.wait_for_url("**/search.html?q=stride*")
    page.wait_for_selector("#search-results .search-summary")
    results = page.locator("#search-results ul.search li a")
    assert results.count() >= 1, page.locator("#search-results").inner_text()
    # The glossary's entry may come first; chapter 1, which teaches it, is found too.
    hrefs = [link.get_attribute("href") for link in results.all()]
    assert any(h.startswith(f"{chapter_1}.html") for h in hrefs), hrefs
    results.nth(next(i for i, h in enumerate(hrefs) if h.startswith(chapter_1))).click()
    page.wait_for_url(f"{server}/{chapter_1}.html*")
    assert "stride" in page.locator("article").inner_text().lower()
    assert not visit.blocked and not visit.console_errors, (
        visit.blocked,
        visit.console_errors,
    )


# -------------------------------------------------------------------------- quiz

_QUIZ_CALL = re.compile(r"display_quiz\(\s*[\"']([^\"']+\.json)[\"']")


def quiz_file(docname: str) -> Path | None:
    """The quiz JSON that the chapter's ``display_quiz(...)`` cell shows, if any."""
    notebook = json.loads((ROOT / f"{docname}.ipynb").read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and (match := _QUIZ_CALL.search(source)):
            return (ROOT / docname).parent / match.group(1)
    return None


def normalized(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("docname", [d for d in toc_docnames() if is_notebook(d)])
def test_quiz_gives_feedback(
    docname: str, server: str, tab: tuple[Page, Visit]
) -> None:
    """One numeric and one multiple-choice question, answered with the keyboard."""
    page, visit = tab
    path = quiz_file(docname)
    assert path is not None, f"{docname} has no display_quiz(...) cell"
    questions = json.loads(path.read_text(encoding="utf-8"))
    page.goto(f"{server}/{docname}.html", wait_until="load")
    wrappers = page.locator(".Quiz[data-qnum]")
    assert wrappers.count() == len(questions), "the quiz is not drawn in the page"

    answered = set()
    for number, question in enumerate(questions):
        if question["type"] in answered:
            continue
        answered.add(question["type"])
        right = next(a for a in question["answers"] if a.get("correct"))
        wrapper = page.locator(f'.Quiz[data-qnum="{number}"]')
        wrapper.scroll_into_view_if_needed()
        if question["type"] == "numeric":
            field = wrapper.locator("input.Input-text")
            field.focus()
            page.keyboard.type(str(right["value"]))
            page.keyboard.press("Enter")
        else:
            choice = wrapper.locator("label.MCButton").filter(
                has_text=normalized(right["answer"])
            )
            choice.locator("input[type=radio]").focus()
            page.keyboard.press("Space")
        feedback = wrapper.locator(".Feedback")
        expected = normalized(right.get("feedback", "Correct!"))
        page.wait_for_function(
            "(el) => el.textContent.trim().length > 0", arg=feedback.element_handle()
        )
        assert normalized(feedback.inner_text()) == expected, question["question"]
    assert not visit.page_errors and not visit.blocked, (
        visit.page_errors,
        visit.blocked,
    )


# ------------------------------------------------------------ the French edition
#
# The French book (fr/, made by `make i18n`) is built into _build/html/fr by `make
# book`. Its pages get the checks of the English ones (test_page: images, math,
# launch buttons to the French notebooks, links, console, network, axe-core in
# light mode), plus the language switch both ways, the French quiz, French search,
# and no English sentence left in what a reader sees once the page has run.

FRENCH = "fr"
#: Pages not translated yet (locales/fr/PENDING): English is expected there.
FRENCH_PENDING = {
    line.split("#", 1)[0].strip()
    for line in (ROOT / "locales" / FRENCH / "PENDING").read_text().splitlines()
} - {""}


def _french_param(docname: str) -> object:
    pending = docname in FRENCH_PENDING
    marks = [pytest.mark.xfail(strict=True, reason="translation pending")] * pending
    return pytest.param(docname, marks=marks, id=docname)


def test_every_french_page_is_tested(site: Path) -> None:
    french = {
        p.relative_to(site / FRENCH).as_posix()
        for p in (site / FRENCH).rglob("*.html")
        if p.relative_to(site / FRENCH).parts[0] not in EXCLUDED_DIRS
    }
    assert french == {f"{docname}.html" for docname in toc_docnames()} | EXCLUDED_PAGES


@pytest.mark.parametrize("docname", toc_docnames())
def test_french_page(
    docname: str, site: Path, server: str, tab: tuple[Page, Visit]
) -> None:
    """Every check of ``test_page``, on the French page."""
    test_page(f"{FRENCH}/{docname}", site, server, tab)


@pytest.mark.parametrize("docname", toc_docnames())
def test_language_switch_both_ways(
    docname: str, server: str, tab: tuple[Page, Visit]
) -> None:
    """The switch leads to the same page in the other language, and back."""
    page, visit = tab
    switch = page.locator("a.language-switch")
    page.goto(f"{server}/{docname}.html", wait_until="load")
    assert switch.get_attribute("hreflang") == FRENCH
    switch.click()
    page.wait_for_url(f"{server}/{FRENCH}/{docname}.html")
    assert page.evaluate("document.documentElement.lang") == FRENCH
    assert switch.get_attribute("hreflang") == "en"
    switch.click()
    page.wait_for_url(f"{server}/{docname}.html")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert not visit.blocked and not visit.page_errors, (
        visit.blocked,
        visit.page_errors,
    )


@pytest.mark.parametrize(
    "docname", [_french_param(d) for d in toc_docnames()] + ["search", "genindex"]
)
def test_no_english_left_on_the_french_page(
    docname: str, server: str, tab: tuple[Page, Visit]
) -> None:
    """No English sentence or label in the page as a reader gets it, quiz drawn."""
    page, _ = tab
    page.goto(f"{server}/{FRENCH}/{docname}.html", wait_until="load")
    if is_notebook(docname):
        page.wait_for_selector(".Quiz[data-qnum] .Feedback", state="attached")
    left = english_left(page.content(), f"{docname}.html", FRENCH_PENDING)
    assert not left, f"fr/{docname}: English left:\n  " + "\n  ".join(left[:40])


@pytest.mark.parametrize(
    "docname",
    [d for d in toc_docnames() if is_notebook(d) and d not in FRENCH_PENDING],
)
def test_french_quiz_gives_feedback(
    docname: str, server: str, tab: tuple[Page, Visit]
) -> None:
    """``test_quiz_gives_feedback`` on the French page, with the French quiz."""
    test_quiz_gives_feedback(f"{FRENCH}/{docname}", server, tab)


def test_french_search_finds_french_words(tab: tuple[Page, Visit], server: str) -> None:
    """French search, offline: "séquence" (the page says "séquences", the French
    stemmer finds it) opens chapter 5 in French."""
    page, visit = tab
    chapter = "chapters/05_conv3d_video"
    assert chapter not in FRENCH_PENDING
    page.goto(f"{server}/{FRENCH}/{toc_docnames()[0]}.html", wait_until="load")
    page.keyboard.press("Control+k")
    field = page.locator("#pst-search-dialog input[name=q]")
    field.fill("séquence")
    field.press("Enter")
    page.wait_for_url(f"{server}/{FRENCH}/search.html?q=*")
    page.wait_for_selector("#search-results .search-summary")
    results = page.locator("#search-results ul.search li a")
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any(h.startswith(f"{chapter}.html") for h in hrefs), hrefs
    page.locator(f'#search-results a[href^="{chapter}.html"]').first.click()
    page.wait_for_url(f"{server}/{FRENCH}/{chapter}.html*")
    assert "séquences" in page.locator("article").inner_text()
    assert not visit.blocked and not visit.console_errors, (
        visit.blocked,
        visit.console_errors,
    )
