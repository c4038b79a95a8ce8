"""What the book's tests share: the configuration, the table of contents, and the
check that a French page has no English left."""

from __future__ import annotations

import copy
import posixpath
import re
from typing import Any
from urllib.parse import urlsplit

import yaml
from bs4 import BeautifulSoup

from tools.sphinx_ext import read_toc

from helpers import ROOT


def load_config() -> dict[str, Any]:
    """Return ``_config.yml`` as a dictionary."""
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def repository_url() -> str:
    """Return ``repository.url`` from ``_config.yml``, without a trailing slash."""
    return load_config()["repository"]["url"].rstrip("/")


def toc_docnames() -> list[str]:
    """Return the documents of ``_toc.yml`` in reading order (root first)."""
    return read_toc(ROOT / "_toc.yml")


# ------------------------------------------------------------ the French edition

#: Words that mark a text as English: common English words that French never uses
#: (``on``, ``a``, ``as``, ``or``, ``main``, ``type`` are French too) and the words
#: of the English labels of the book's tools and theme.
ENGLISH_WORDS = frozenset(
    "the and is are of to with this that which for from by be it its we you your "
    "our each every what how when where there their they has have was were will "
    "can does than then into only also but these those here more most all any why "
    "who not toggle hidden search launch download issue repository previous next "
    "exercise exercises chapter frame frames play backwards speed repetition once "
    "reflect whole book cells recorded hardware executed answer try again contents "
    "summary yourself check timed over now in at one two three same other between "
    "about after before because while through under so if no do would should could "
    "must may first new just like makes made gives takes see shows uses used gets "
    "runs".split()
)
#: Words that mark a text as French.
FRENCH_WORDS = frozenset(
    "le la les de des du et est un une que qui dans pour sur avec par ce cette ces "
    "son sa ses au aux ne pas plus il elle on nous vous se en sont chaque leur mais "
    "ou où donc si à l d".split()
)
_WORD = re.compile(r"[a-zà-öø-ÿœ]+", re.IGNORECASE)
#: What is not prose: code, math, and the notebooks' outputs (except what a reader
#: reads there: the quiz and the animation player, see ``READ_IN_OUTPUTS``).
NOT_PROSE = (
    "script, style, pre, code, kbd, samp, .math, .MathJax, .MathJax_Display, "
    ".MathJax_Preview, .MJX_Assistive_MathML, .highlight"
)
READ_IN_OUTPUTS = ".Quiz, .animation"
LABEL_ATTRIBUTES = ("alt", "title", "aria-label", "placeholder")


#: Names that are not English prose ("CC BY 4.0" is a licence).
NAMES = ("CC BY",)


def is_english(text: str) -> bool:
    """Whether a sentence or a label reads as English rather than French."""
    for name in NAMES:
        text = text.replace(name, " ")
    words = [w.lower() for w in _WORD.findall(text)]
    english = sum(w in ENGLISH_WORDS for w in words)
    french = sum(w in FRENCH_WORDS for w in words)
    if len(words) <= 4:
        return english >= 1 and french == 0
    return english >= 2 and english > french


def english_left(html: str, page: str, pending: set[str]) -> list[str]:
    """The English sentences and labels a reader of a French page meets.

    ``page`` is the page's path in the French site (``chapters/intro.html``).
    Not read: code, math, outputs (but the quiz and the animation player), any
    element that declares another language (the switch to English), and links to
    the pages of ``pending`` (docnames not translated yet), whose titles are English.
    """
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.select(NOT_PROSE):
        element.decompose()
    for output in soup.select(".cell_output, .output"):
        kept = [copy.copy(x) for x in output.select(READ_IN_OUTPUTS)]
        output.clear()
        for element in kept:
            output.append(element)
    for element in soup.select("[lang]"):
        if element.name != "html" and not element["lang"].startswith("fr"):
            element.decompose()
    folder = posixpath.dirname(page)
    for link in soup.select("a[href], link[href]"):
        target = urlsplit(link["href"]).path
        if target and "://" not in link["href"]:
            docname = posixpath.normpath(posixpath.join(folder, target))
            if docname.removesuffix(".html") in pending:
                link.decompose()
    found = []
    for element in soup.find_all(True):
        for attribute in LABEL_ATTRIBUTES:
            value = element.get(attribute)
            if isinstance(value, str) and is_english(value):
                found.append(f"{attribute}={value!r}")
    text = soup.get_text("\n")
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        for sentence in re.split(r"(?<=[.!?:;])\s+", block):
            if sentence and is_english(sentence):
                found.append(sentence[:160])
    return list(dict.fromkeys(found))
