"""The whole book as one PDF (``make pdf``), and the site's link to it.

1. **Making the PDF** (``python -m tools.pdf``). Jupyter Book's own ``pdfhtml``
   builder downloads a browser, which cannot work offline. Instead:

   * the book is built once more with Sphinx's ``singlehtml`` builder (every page
     in one HTML file, same configuration and flags as ``make book``) into
     ``_build/pdf/singlehtml/``;
   * that page is served on 127.0.0.1 and opened in Chromium (the one
     :func:`tools.browser.find_chromium` finds) through Playwright, with every
     request to another host refused; MathJax (served by the book) typesets
     the math, every image loads, solutions and other dropdowns are opened;
   * Chromium prints it (``page.pdf``: A4, page numbers, bookmarks from the
     headings, tagged for screen readers) to ``_build/pdf/conv-from-scratch.pdf``;
   * the PDF is copied to the root of the HTML site, ``_build/html/``, where every
     page's download menu links to it (point 2).

   The page count is printed. ``tests/book/test_pdf.py`` checks the result.

2. **The link** (Sphinx extension, registered in ``_config.yml`` under
   ``sphinx: local_extensions:``). sphinx-book-theme's download menu (the arrow
   in each page's header) gets one more entry, "Whole book (.pdf)", pointing at
   ``conv-from-scratch.pdf`` at the root of the site, with a path relative to the
   page (so it works on a web server, under a sub-path, or from ``file://``).
   The extension also lets the ``singlehtml`` builder render every node the
   ``html`` builder renders (see ``_inherit_html_handlers``).

3. **The French edition** (``--book fr``): the same from ``fr/`` (made by
   ``make i18n``), into ``_build/pdf/fr/conv-from-scratch.pdf``, copied to the root
   of the French site, ``_build/html/fr/``, whose pages link it the same way.

Usage: ``python -m tools.pdf [--book en|fr] [--no-build] [--site _build/html]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
#: File name of the PDF, in ``_build/pdf/`` and at the root of the HTML site.
PDF_NAME = "conv-from-scratch.pdf"
PDF_DIR = ROOT / "_build" / "pdf"
PDF_PATH = PDF_DIR / PDF_NAME
#: ``jupyter-book build --path-output`` writes into ``<path>/_build/<builder>``.
SINGLEHTML_OUTPUT = PDF_DIR / "src"
SINGLEHTML = SINGLEHTML_OUTPUT / "_build" / "singlehtml"
SITE = ROOT / "_build" / "html"
#: The editions: the folder of the book (its _config.yml and _toc.yml), relative to
#: the repository, and where its PDF and its site go, relative to _build/pdf and
#: _build/html ("" for the English book).
EDITIONS = {"en": "", "fr": "fr"}
TIMEOUT_MS = 120_000

#: Styles added for the printout only (the site keeps its own look):
#: code and outputs wrap instead of being cut at the right margin, and each chapter
#: (a document that singlehtml marks with an ``id="document-..."`` anchor) starts
#: on a new page.
PRINT_CSS = """
@media print {
  pre, .output pre, .cell_output pre { white-space: pre-wrap !important;
    overflow-wrap: anywhere; overflow: visible !important; }
  .highlight, .cell_output, .output { overflow: visible !important; }
  table { page-break-inside: avoid; }
  figure, img { page-break-inside: avoid; break-inside: avoid; }
  /* The theme keeps a code block on one page (div.highlight); keep its cell's
     frame with it, or the frame's top stays behind as an empty box. */
  div.cell_input, div.cell_output { break-inside: avoid; }
  span[id^="document-"] + section { break-before: page; }
}
"""

#: Opens what a reader of the PDF cannot click open: solutions (sphinx-exercise
#: ``:class: dropdown``, shown by sphinx-togglebutton) and other dropdowns. The
#: plotting code behind a figure (``hide-input`` cells) stays folded, as on the site.
_OPEN_DROPDOWNS_JS = """
() => {
  document.querySelectorAll(".toggle-hidden").forEach(
    (el) => el.classList.remove("toggle-hidden"));
  document.querySelectorAll("details.dropdown, details.sd-dropdown, "
    + "details.toggle-details").forEach((el) => { el.open = true; });
  document.querySelectorAll("img[loading=lazy]").forEach(
    (img) => { img.loading = "eager"; });
}
"""


# --------------------------------------------------------------- the site's link


def _add_download_entry(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Add "Whole book (.pdf)" to the page's download menu (sphinx-book-theme)."""
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](PDF_NAME, 1),
                    "text": _label(app, "Whole book (.pdf)"),
                    "tooltip": _label(app, "Download the whole book as one PDF"),
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def _label(app: Any, english: str) -> str:
    """A label in the build's language (``book_strings``, tools/language_switch.py)."""
    return (getattr(app.config, "book_strings", None) or {}).get(english, english)


def _inherit_html_handlers(app: Any) -> None:
    """Give the ``singlehtml`` builder every node handler of the ``html`` format.

    Sphinx looks a translator's handlers up by builder name first and falls back
    to the format only when that name has none (``SphinxComponentRegistry.
    create_translator``). sphinx-exercise registers its nodes for ``singlehtml``
    by name, so that builder then loses all the others, MyST-NB's
    ``HideCodeCellNode`` first, and fails ("unknown node type"; the same bug as
    jupyter-book/jupyter-book#2322 with ``pdfhtml``).
    """
    handlers = app.registry.translation_handlers
    if app.builder.format == "html" and app.builder.name in handlers:
        for node, visitors in handlers.get("html", {}).items():
            handlers[app.builder.name].setdefault(node, visitors)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx extension: link every page's download menu to the book's PDF."""
    # After sphinx-book-theme's add_header_buttons (priority 501) made the menu.
    app.connect("html-page-context", _add_download_entry, priority=600)
    app.connect("builder-inited", _inherit_html_handlers)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}


# ------------------------------------------------------------------ making the PDF


def build_singlehtml(book: Path = ROOT, output: Path = SINGLEHTML_OUTPUT) -> Path:
    """Build the book into one HTML page, with the flags of ``make book``.

    Returns the page. Raises ``subprocess.CalledProcessError`` if the build fails.
    """
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [
        str(jupyter_book),
        "build",
        str(book),
        "--builder",
        "singlehtml",
        "--path-output",
        str(output),
        "--warningiserror",
        "--nitpick",
        "--keep-going",
        "--quiet",
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    return root_page(output / "_build" / "singlehtml", book)


def root_page(singlehtml: Path = SINGLEHTML, book: Path = ROOT) -> Path:
    """The single HTML page, copied to ``SINGLEHTML/book.html``; returns that copy.

    Sphinx names the page after the root document of ``_toc.yml``
    (``chapters/intro.html``) but writes its links to ``_static/`` and
    ``_images/`` relative to the output folder itself, so it only works from there.
    """
    sys.path.insert(0, str(ROOT))
    from tools.sphinx_ext import read_toc

    built = singlehtml / f"{read_toc(book / '_toc.yml')[0]}.html"
    page = singlehtml / "book.html"
    shutil.copyfile(built, page)
    return page


def print_pdf(page_path: Path, pdf_path: Path, folder: Path = SINGLEHTML) -> list[str]:
    """Print ``page_path`` (under ``folder``) to ``pdf_path`` with Chromium.

    Returns the requests to other hosts that were refused (there should be none).
    """
    from playwright.sync_api import sync_playwright

    # Imported here: Sphinx loads this file as the local extension `pdf`, where
    # the repository root (and so the `tools` package) is not on sys.path.
    from tools.browser import CHROMIUM_ARGS, find_chromium
    from tools.serve import serving

    chromium = find_chromium()
    if chromium is None:
        raise SystemExit("no Chromium: run `python3 -m tools.sysdeps` (make test does)")
    blocked: list[str] = []
    relative = page_path.relative_to(folder).as_posix()
    with serving(folder) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = browser.new_context(viewport={"width": 1000, "height": 1400})
            context.set_default_timeout(TIMEOUT_MS)

            def route(route: Any) -> None:
                request_url = route.request.url
                if request_url.startswith(url + "/") or urlsplit(
                    request_url
                ).scheme in ("data", "blob"):
                    route.continue_()
                else:
                    blocked.append(request_url)
                    route.abort()

            context.route("**/*", route)
            page = context.new_page()
            page.goto(f"{url}/{relative}", wait_until="load")
            page.evaluate(_OPEN_DROPDOWNS_JS)
            page.add_style_tag(content=PRINT_CSS)
            page.wait_for_function(
                "Array.from(document.images).every((img) => img.complete)"
            )
            if page.locator(".math").count():
                page.wait_for_function(
                    "window.MathJax !== undefined && MathJax.isReady === true"
                )
                page.evaluate(
                    "() => new Promise((done) => MathJax.Hub.Queue(() => done(true)))"
                )
            pdf_path.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(pdf_path),
                format="A4",
                print_background=True,
                margin={
                    "top": "16mm",
                    "bottom": "16mm",
                    "left": "14mm",
                    "right": "14mm",
                },
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=(
                    '<div style="font-size:8px;width:100%;text-align:center">'
                    '<span class="pageNumber"></span> / '
                    '<span class="totalPages"></span>'
                    "</div>"
                ),
                outline=True,
                tagged=True,
            )
        finally:
            browser.close()
    return blocked


def page_count(pdf_path: Path) -> int:
    """Number of pages of the PDF (read with PDFium)."""
    import pypdfium2

    return len(pypdfium2.PdfDocument(pdf_path))


def main(argv: list[str] | None = None) -> int:
    """Build, print, copy to the site; print the page count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="print the existing singlehtml build instead of rebuilding it",
    )
    parser.add_argument(
        "--site",
        type=Path,
        default=SITE,
        help="HTML site to copy the PDF into (skipped if it does not exist)",
    )
    parser.add_argument(
        "--book",
        choices=sorted(EDITIONS),
        default="en",
        help="which edition: en (the book at the root) or fr (fr/, see make i18n)",
    )
    args = parser.parse_args(argv)
    folder = EDITIONS[args.book]
    book, pdf_path = ROOT / folder, PDF_DIR / folder / PDF_NAME
    output = PDF_DIR / folder / "src"
    singlehtml = output / "_build" / "singlehtml"
    site = args.site / folder

    started = time.perf_counter()
    if args.no_build:
        page_path = root_page(singlehtml, book)
    else:
        page_path = build_singlehtml(book, output)
    built = time.perf_counter()
    blocked = print_pdf(page_path, pdf_path, singlehtml)
    if blocked:
        print("requests to other hosts were refused:", *blocked, sep="\n  ")
        return 1
    pages = page_count(pdf_path)
    print(
        f"{pdf_path.relative_to(ROOT)}: {pages} pages, "
        f"{pdf_path.stat().st_size / 1e6:.1f} MB "
        f"(singlehtml build {built - started:.0f} s, "
        f"printing {time.perf_counter() - built:.0f} s)"
    )
    if site.is_dir():
        shutil.copy2(pdf_path, site / PDF_NAME)
        print(f"copied to {site / PDF_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
