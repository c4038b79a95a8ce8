"""Sphinx extension: the ``{exercise-list}`` directive of ``chapters/exercises.md``.

Registered in ``_config.yml`` under ``sphinx: local_extensions:``. The directive
lists every exercise of the book (sphinx-exercise's ``exercise`` and
``exercise-start``), grouped by chapter in reading order, each one a link to the
exercise with its number and title: "Exercise 1.2: Write the 1D convolution". The
list is made from what sphinx-exercise recorded while reading the chapters, so it
can be neither incomplete nor stale: the page is re-read whenever a document of the
book changes, and filled in once every document has been read and numbered.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.docutils import SphinxDirective
from sphinx_exercise.nodes import exercise_subtitle

#: Environment attribute: the documents that hold an ``{exercise-list}``.
_PAGES = "exercise_list_pages"


class exercise_list(nodes.General, nodes.Element):
    """Placeholder for the list, replaced at ``doctree-resolved``."""


class ExerciseList(SphinxDirective):
    """``{exercise-list}``: every exercise of the book, by chapter, with links."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        """Return a placeholder, and remember that this page holds a list."""
        pages = getattr(self.env, _PAGES, set())
        pages.add(self.env.docname)
        setattr(self.env, _PAGES, pages)
        return [exercise_list()]


def exercises(env: BuildEnvironment) -> list[dict[str, Any]]:
    """Every visible exercise sphinx-exercise recorded, in the book's order.

    Each is a dict with ``docname``, ``label``, ``number`` (a tuple such as
    ``(1, 2)``, empty for an unnumbered exercise) and ``title`` (the subtitle's
    nodes, possibly empty). Numbered exercises come in the order of their numbers,
    which follow the table of contents; unnumbered ones after the numbered ones of
    their page.
    """
    found = []
    registry = getattr(env, "sphinx_exercise_registry", {})
    for label, info in registry.items():
        node = info["node"]
        if not info["type"].startswith("exercise") or node.get("hidden"):
            continue
        docname = info["docname"]
        numbers = env.toc_fignumbers.get(docname, {}).get("exercise", {})
        subtitle = next(iter(node.findall(exercise_subtitle)), None)
        found.append(
            {
                "docname": docname,
                "label": label,
                "number": tuple(numbers.get(label, ())),
                "title": [] if subtitle is None else list(subtitle.children),
                "serial": node.get("serial_number", 0),
            }
        )
    chapter = {}
    for entry in found:  # a page sorts where its first numbered exercise does
        if entry["number"]:
            key = entry["number"][:-1]
            chapter[entry["docname"]] = min(chapter.get(entry["docname"], key), key)
    return sorted(
        found,
        key=lambda e: (
            chapter.get(e["docname"], (math.inf,)),
            e["docname"],
            e["number"] == (),
            e["number"],
            e["serial"],
        ),
    )


def _chapter_title(env: BuildEnvironment, docname: str) -> str:
    number = env.toc_secnumbers.get(docname, {}).get("", ())
    title = env.titles[docname].astext() if docname in env.titles else docname
    return f"{'.'.join(map(str, number))}. {title}" if number else title


def _link(uri: str, children: Iterable[nodes.Node]) -> nodes.paragraph:
    reference = nodes.reference("", "", internal=True, refuri=uri)
    reference += list(children)
    return nodes.paragraph("", "", reference)


def _label(app: Sphinx, english: str) -> str:
    """A label in the build's language (``book_strings``, tools/language_switch.py)."""
    return (getattr(app.config, "book_strings", None) or {}).get(english, english)


def _fill(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace each placeholder with the list (``doctree-resolved``)."""
    placeholders = list(doctree.findall(exercise_list))
    if not placeholders:
        return
    env = app.env
    chapters = nodes.bullet_list()
    current: str | None = None
    items = nodes.bullet_list()
    for entry in exercises(env):
        page = app.builder.get_relative_uri(docname, entry["docname"])
        if entry["docname"] != current:
            current = entry["docname"]
            item = nodes.list_item()
            item += _link(page, [nodes.Text(_chapter_title(env, current))])
            items = nodes.bullet_list()
            item += items
            chapters += item
        number = ".".join(map(str, entry["number"]))
        text = [
            nodes.Text(_label(app, "Exercise {number}").format(number=number).strip())
        ]
        if entry["title"]:
            text += [
                nodes.Text(_label(app, ": ")),
                *(n.deepcopy() for n in entry["title"]),
            ]
        items += nodes.list_item("", _link(f"{page}#{entry['label']}", text))
    content = (
        chapters
        if len(chapters)
        else nodes.paragraph("", _label(app, "No exercises yet."))
    )
    for placeholder in placeholders:
        placeholder.replace_self(content.deepcopy())


def _reread_pages(
    app: Sphinx,
    env: BuildEnvironment,
    added: set[str],
    changed: set[str],
    removed: set[str],
) -> list[str]:
    """Re-read the list's pages whenever any other document changes."""
    pages = getattr(env, _PAGES, set())
    if added | changed | removed:
        return sorted(pages - removed)
    return []


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, _PAGES, set()).discard(docname)


def _merge(
    app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment
) -> None:
    pages = getattr(env, _PAGES, set())
    pages |= getattr(other, _PAGES, set())
    setattr(env, _PAGES, pages)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive and its event handlers."""
    app.setup_extension("sphinx_exercise")
    app.add_node(exercise_list)
    app.add_directive("exercise-list", ExerciseList)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-outdated", _reread_pages)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
