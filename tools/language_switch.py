"""Sphinx extension: every page links to the same page in the book's other language.

Registered in ``_config.yml`` (and in ``fr/_config.yml``, which ``make i18n``
generates) under ``sphinx: local_extensions:``. The English book is built into
``_build/html`` and the French one into ``_build/html/fr`` (``make book``), so the
French page of ``chapters/intro.html`` is ``fr/chapters/intro.html`` and back.

* In the article's header, before the launch and download buttons, a link named in
  the other language ("Français" on an English page, "English" on a French one),
  with ``hreflang`` and ``lang``, to the same page in that language.
* In the page's ``<head>``, ``<link rel="alternate" hreflang="...">`` to both.
* The setting ``book_strings`` (English label -> translation) that the book's own
  extensions read their labels from (see :func:`label`); ``fr/_config.yml`` fills
  it from the catalog ``locales/fr/LC_MESSAGES/book.po``.
* The setting ``book_html_labels``: labels of the theme that its own translations
  lack (the sidebar's "Main", the launch menu's "Launch on Binder", the toggle
  buttons' "Toggle hidden content"...). Once the build is done, each one that is a
  whole attribute value or a whole text node of a page (or of a script of
  ``_static`` that writes it) is replaced by its translation; ``fr/_config.yml``
  fills it from ``book.po`` too.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

#: Each edition: where its pages are, relative to the English site's root, its
#: name in its own language and the switch's tooltip, in that language too.
EDITIONS = {
    "en": {"prefix": "", "label": "English", "title": "Read this page in English"},
    "fr": {
        "prefix": "fr/",
        "label": "Français",
        "title": "Lire cette page en français",
    },
}
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "language-switch.html"


def language(config: Any) -> str:
    """The edition a build makes: ``en`` or ``fr`` (from Sphinx's ``language``)."""
    value = (getattr(config, "language", None) or "en").split("_")[0]
    return value if value in EDITIONS else "en"


def other_language(config: Any) -> str:
    """The language the switch leads to."""
    return "en" if language(config) == "fr" else "fr"


def label(app: Any, english: str) -> str:
    """The label ``english`` in the language of the build (``book_strings``).

    The book's extensions call this for every label they write, so that the
    French build shows the translations held by the catalog ``book.po``.
    """
    strings = getattr(app.config, "book_strings", None) or {}
    return strings.get(english, english)


def counterpart(pagename: str, source: str, target: str) -> str:
    """The path of the same page in the other edition.

    Relative to the root of the site of ``source``: ``fr/chapters/intro.html``
    from the English site, ``../chapters/intro.html`` from the French one.
    """
    up = "../" * EDITIONS[source]["prefix"].count("/")
    return f"{up}{EDITIONS[target]['prefix']}{pagename}.html"


def _configure(app: Any, config: Any) -> None:
    """Add the template folder and put the switch first in the article header."""
    config.templates_path = [*config.templates_path, str(TEMPLATES)]
    options = config.html_theme_options
    items = options.get("article_header_end", ["article-header-buttons.html"])
    if isinstance(items, str):
        items = [item.strip() for item in items.split(",") if item.strip()]
    if TEMPLATE not in items:
        options["article_header_end"] = [TEMPLATE, *items]


def _add_switch(
    app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Put the other edition's page into the template's context (and the head)."""
    source, target = language(app.config), other_language(app.config)
    pathto = context["pathto"]
    url = pathto(counterpart(pagename, source, target), 1)
    context["language_switch"] = {
        "url": url,
        "lang": target,
        "label": EDITIONS[target]["label"],
        "title": EDITIONS[target]["title"],
    }
    here = f"{posixpath.basename(pagename)}.html"
    alternates = [
        f'<link rel="alternate" hreflang="{source}" href="{here}">',
        f'<link rel="alternate" hreflang="{target}" href="{url}">',
    ]
    context["metatags"] = context.get("metatags", "") + "\n".join(alternates) + "\n"


def replace_labels(text: str, labels: dict[str, str]) -> str:
    """Translate every label that is a whole attribute value or a whole text node.

    ``aria-label="Main"`` and ``<span>Main</span>`` change; ``Main menu`` does not.
    """
    if not labels:
        return text
    pattern = re.compile(
        r'(?P<open>="|>)(?P<label>'
        + "|".join(re.escape(english) for english in sorted(labels, key=len)[::-1])
        + r')(?P<close>"|<)'
    )

    def swap(match: re.Match[str]) -> str:
        if (match["open"] == '="') != (match["close"] == '"'):
            return match.group(0)
        return match["open"] + labels[match["label"]] + match["close"]

    return pattern.sub(swap, text)


def _translate_theme_labels(app: Any, exception: Exception | None) -> None:
    """Replace the theme's untranslated labels in the built pages and scripts."""
    labels = getattr(app.config, "book_html_labels", None) or {}
    if exception is not None or not labels or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    files = [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]
    for path in files:
        if "mathjax" in path.relative_to(outdir).parts:
            continue
        text = path.read_text(encoding="utf-8")
        translated = replace_labels(text, labels)
        if translated != text:
            path.write_text(translated, encoding="utf-8")


def setup(app: Any) -> dict[str, Any]:
    """Register the switch and the ``book_strings`` setting."""
    app.add_config_value("book_strings", {}, "env", [dict])
    app.add_config_value("book_html_labels", {}, "html", [dict])
    app.connect("build-finished", _translate_theme_labels)
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _add_switch)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
