"""Check the whole-book PDF that ``make pdf`` writes (``tools/pdf.py``).

Reads the PDF with pypdfium2 (PDFium, from PyPI): no system tool. The PDF must exist
and be newer than the book's sources: these tests fail (they never skip) when it is
missing or stale, so ``make test`` makes it first.

* its page count is printed;
* every document of the table of contents is in it, under its title;
* its math was typeset: no TeX source such as ``\\frac`` or ``$$`` in the text,
  and the typeset symbols (mathematical italic letters) are there;
* every figure of the book is embedded, at its own pixel size;
* the site has the same file at its root, where every page's download menu links.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from tools.pdf import PDF_NAME, PDF_PATH, SINGLEHTML

from book_helpers import toc_docnames
from helpers import ROOT

# The PDF is printed by Chromium: `make unit` (-m "not browser") leaves it out.
pytestmark = pytest.mark.browser

SITE_COPY = ROOT / "_build" / "html" / PDF_NAME
#: TeX that MathJax would have replaced: delimiters and common commands.
RAW_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\(?:frac|begin|end|lfloor|rfloor|mathbb|mathrm"
    r"|times|sum|cdot|left|right|operatorname|text)\b"
)
#: MathJax sets letters in math italic, which PDFium gives back as the Unicode
#: "Mathematical Alphanumeric Symbols" (U+1D400 to U+1D7FF), e.g. 𝐿, 𝑘.
MATH_LETTER = re.compile("[\U0001d400-\U0001d7ff]")


def sources() -> list[Path]:
    """The files the PDF is made from: TOC documents, configuration, TOC."""
    files = [ROOT / "_config.yml", ROOT / "_toc.yml"]
    for docname in toc_docnames():
        files += [p for p in ROOT.glob(f"{docname}.*") if p.suffix in (".md", ".ipynb")]
    return files


def title(docname: str) -> str:
    """The first ``# `` heading of a TOC document (notebook or Markdown)."""
    path = next(p for p in ROOT.glob(f"{docname}.*") if p.suffix in (".md", ".ipynb"))
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        lines = [
            line
            for cell in cells
            if cell["cell_type"] == "markdown"
            for line in "".join(cell["source"]).splitlines()
        ]
    else:
        lines = path.read_text(encoding="utf-8").splitlines()
    heading = next(line for line in lines if line.startswith("# "))
    return heading[2:].strip()


def normalize(text: str) -> str:
    """Compatibility forms (ligatures, math letters) and single spaces."""
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\u2019", "'").replace("`", "")
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def pdf() -> Path:
    if not PDF_PATH.is_file():
        pytest.fail(f"{PDF_PATH} is missing: run `make pdf`")
    stale = [
        str(p.relative_to(ROOT))
        for p in sources()
        if p.stat().st_mtime > PDF_PATH.stat().st_mtime
    ]
    assert not stale, f"the PDF is older than {stale}: run `make pdf`"
    return PDF_PATH


@pytest.fixture(scope="module")
def document(pdf: Path) -> pdfium.PdfDocument:
    return pdfium.PdfDocument(pdf)


@pytest.fixture(scope="module")
def text(document: pdfium.PdfDocument) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in document)


def test_page_count(
    pdf: Path, document: pdfium.PdfDocument, capsys: pytest.CaptureFixture[str]
) -> None:
    pages = len(document)
    size_mb = pdf.stat().st_size / 1e6
    with capsys.disabled():
        print(f"\n{pdf.relative_to(ROOT)}: {pages} pages, {size_mb:.1f} MB")
    assert pages >= len(toc_docnames())
    assert pdfium_c.FPDFCatalog_IsTagged(document.raw), "the PDF has no structure"


@pytest.mark.parametrize("docname", toc_docnames())
def test_every_chapter_is_in_it(docname: str, text: str) -> None:
    # Markdown in a heading (`Conv1D`) is code in the PDF: compare words only.
    words = normalize(title(docname)).replace("*", "")
    assert words in normalize(text), f"{docname}: title {words!r} not in the PDF"


def test_math_is_typeset(text: str) -> None:
    raw = sorted({match.group(0) for match in RAW_TEX.finditer(text)})
    assert not raw, f"TeX source left in the PDF: {raw}"
    assert len(MATH_LETTER.findall(text)) >= 20, "no typeset math in the PDF"


def test_figures_are_embedded(document: pdfium.PdfDocument) -> None:
    page = (SINGLEHTML / "book.html").read_text(encoding="utf-8")
    figures = sorted(set(re.findall(r'<img[^>]*\ssrc="(_images/[^"]+)"', page)))
    assert figures, "the single-page book has no figure: was it built?"
    # Every image object, also those nested in forms, by its size in pixels.
    embedded = {
        tuple(image.get_px_size())
        for pdf_page in document
        for image in pdf_page.get_objects(
            filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=8
        )
    }
    missing = []
    for figure in figures:
        path = SINGLEHTML / figure
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".gif"):
            continue  # vector figures are drawn, not embedded as images
        with Image.open(path) as image:
            if image.size not in embedded:
                missing.append(f"{figure} {image.size}")
    assert not missing, f"figures not embedded in the PDF: {missing}"


def test_site_links_to_the_same_file(pdf: Path) -> None:
    assert SITE_COPY.is_file(), f"{SITE_COPY} is missing: run `make pdf`"
    assert SITE_COPY.read_bytes() == pdf.read_bytes(), "the site's PDF is stale"
    chapter = (ROOT / "_build" / "html" / f"{toc_docnames()[1]}.html").read_text(
        encoding="utf-8"
    )
    assert f'href="../{PDF_NAME}"' in chapter, "no link to the PDF in the site"


# ------------------------------------------------------------ the French edition

FR_PDF = PDF_PATH.parent / "fr" / PDF_NAME


@pytest.fixture(scope="module")
def fr_pdf() -> Path:
    if not FR_PDF.is_file():
        pytest.fail(f"{FR_PDF} is missing: run `make pdf`")
    stale = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "fr").rglob("*")
        if p.is_file() and p.stat().st_mtime > FR_PDF.stat().st_mtime
    ]
    assert not stale, f"the French PDF is older than {stale}: run `make pdf`"
    return FR_PDF


def test_french_pdf_has_every_page(fr_pdf: Path) -> None:
    document = pdfium.PdfDocument(fr_pdf)
    assert len(document) >= len(toc_docnames())
    assert pdfium_c.FPDFCatalog_IsTagged(document.raw), "the PDF has no structure"
    raw_text = "\n".join(page.get_textpage().get_text_range() for page in document)
    assert not RAW_TEX.search(raw_text), "TeX source left in the French PDF"
    text = normalize(raw_text)
    for docname in toc_docnames():
        words = normalize(title(f"fr/{docname}")).replace("*", "")
        assert words in text, f"fr/{docname}: title {words!r} not in the French PDF"


def test_french_site_links_the_french_pdf(fr_pdf: Path) -> None:
    site = ROOT / "_build" / "html" / "fr"
    assert (site / PDF_NAME).read_bytes() == fr_pdf.read_bytes()
    landing = (site / f"{toc_docnames()[0]}.html").read_text(encoding="utf-8")
    assert f'href="../{PDF_NAME}"' in landing, "the French landing page links its PDF"
