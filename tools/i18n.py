"""The French edition: gettext catalogs keyed by the English text, and the French book.

The English book is the source. Its prose is cut into *units* (a paragraph, a heading,
a list item, an exercise's title, a figure's caption or alt text, a quiz question, an
answer, a feedback) and each unit is one entry of a gettext catalog whose ``msgid`` is
the English text itself, one catalog per page of the table of contents::

    locales/fr/LC_MESSAGES/chapters/05_conv3d_video.po  # page, figures, quiz
    locales/fr/LC_MESSAGES/book.po  # _config.yml, _toc.yml, the tools' labels

Translators edit the ``msgstr`` of these files, and nothing else. Because an entry is
keyed by the English text, an English paragraph that changes no longer has a
translation: ``update`` turns the entry *fuzzy* (the old translation kept, with the old
English as ``#| msgid``) and a translation only counts once a translator has checked
it and removed the ``fuzzy`` flag. ``check`` (and ``tests/book/test_i18n.py``) fails on
any missing, fuzzy or obsolete entry and names the page and the paragraph.

The French book, ``fr/``, is generated from the English files and the catalogs, never
edited: ``fr/_config.yml``, ``fr/_toc.yml``, ``fr/chapters/*.ipynb`` and ``*.md`` and
``fr/chapters/quizzes/*.json``. A French notebook is its English notebook with the
markdown cells, the figure captions and alt text translated: every code cell, every
output and all other metadata are copied byte for byte (nothing is executed), with
exactly three exceptions, each tested by ``tests/book/test_i18n.py``:

1. the Colab cell moves into ``/content/course/fr/chapters`` instead of
   ``/content/course/chapters`` (so that the quiz it shows is the French one);
2. the quiz cell's output is made by jupyterquiz's own ``display_quiz`` from the French
   quiz file, with the English output's element id, and jupyterquiz's few interface
   strings translated;
3. in an animation's HTML output (``book_src.animations.to_html``) the image's alt
   text and the player's button labels are translated.

An untranslated or fuzzy unit is left in English in the French book (as gettext does):
the French book always builds, and the tests say what is left to translate.

Commands (``make i18n`` runs ``update``)::

    python -m tools.i18n update             # catalogs from the English, then fr/
    python -m tools.i18n status [PAGE ...]  # counts per page, then every unit to do
    python -m tools.i18n check              # exit status 1 if anything is left to do
    python -m tools.i18n generate --out DIR # the French book into DIR (default fr/)

French typography is applied to every translation by ``update``: the spaces before
``: ; ! ? %`` and ``»``, after ``«`` and between a number and its unit become
no-break spaces (U+00A0), outside code and math. Translators may type plain spaces.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import html
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polib
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: The translated edition: its language, the folder of its book and of its catalogs.
LANGUAGE = "fr"
BOOK_DIR = LANGUAGE  # fr/, relative to the repository root
LOCALE_DIR = Path("locales") / LANGUAGE / "LC_MESSAGES"
#: The catalog of everything that is not a page: _config.yml, _toc.yml, tool labels.
BOOK_CATALOG = "book"
#: Pages whose translation is not written yet, one docname a line (# comments).
PENDING_FILE = Path("locales") / LANGUAGE / "PENDING"
NBSP = "\u00a0"
NNBSP = "\u202f"

#: The header comment of every catalog: how to translate, and the terms.
CATALOG_HEADER = """\
French translation of "Convolution from scratch": {source}
Generated and updated by `make i18n` (tools/i18n.py) from the English source:
translate the msgstr lines only, then run `make i18n` again. A "fuzzy" entry is one
whose English changed: check the translation against the new msgid, fix it, and
remove the `#, fuzzy` line. See locales/fr/README.md.

Terms, used the same way in every catalog:
  accuracy = exactitude (never « précision », which is precision, another metric);
  convolution layer = couche de convolution; kernel = noyau; stride = pas;
  padding = remplissage (padding); channel = canal; feature map = carte de
  caractéristiques; receptive field = champ récepteur; backward pass /
  backpropagation = rétropropagation; pooling = sous-échantillonnage (pooling);
  input / output = entrée / sortie; weights = poids; bias = biais; epoch = époque;
  batch = lot (batch); training / validation / test set = jeu d'entraînement / de
  validation / de test; loss = perte; learning rate = taux d'apprentissage;
  clip (video) = séquence; frame = image (trame); quiz = quiz; exercise = exercice.
Typography: `make i18n` puts a no-break space (U+00A0) before : ; ! ? % » and
after «, and between a number and its unit; decimal comma (96,40 %); code in
backticks, math in $...$ and links stay as in the English."""


# ----------------------------------------------------------------- markdown units


@dataclass
class Piece:
    """A slice of a markdown text: verbatim, or a unit to translate.

    ``text`` is the slice as it is in the source, so that joining the pieces gives
    the source back. A unit also has its ``msgid`` (the text without the
    indentation of its continuation lines), that indentation, and its ``kind``.
    """

    text: str
    msgid: str | None = None
    indent: str = ""
    kind: str = ""
    line: int = 0  # 1-based line of the source where the unit starts

    def render(self, translation: str | None) -> str:
        """The piece as it appears in the translated text."""
        if self.msgid is None or translation is None:
            return self.text
        lines = translation.split("\n")
        return "\n".join([lines[0], *(self.indent + line for line in lines[1:])])


FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
HEADING = re.compile(r"^(?P<marks>#{1,6}[ \t]+)(?P<title>.*?)(?P<end>[ \t#]*)$")
LIST_ITEM = re.compile(r"^(?P<marker>(?:[-*+]|\d{1,3}[.)])[ \t]+)\S")
TARGET = re.compile(r"^\([\w.:-]+\)=\s*$")
OPTION = re.compile(r"^\s*:[\w-]+:")
#: Directives whose content is prose (translated); any other directive is verbatim.
PROSE_DIRECTIVES = frozenset(
    {
        "exercise",
        "admonition",
        "note",
        "tip",
        "hint",
        "important",
        "warning",
        "caution",
        "attention",
        "danger",
        "error",
        "seealso",
        "figure",
        "glossary",  # each term with its definition is one unit
    }
)
#: Prose directives whose argument is a title (translated).
TITLED_DIRECTIVES = frozenset({"exercise", "admonition"})
#: Code, math, tags, roles and link targets: what a paragraph holds that is not prose.
_NOT_WORDS = re.compile(r"`[^`]*`|\$[^$]*\$|<[^>]*>|\{[\w-]+\}|\]\([^)]*\)")


def has_words(text: str) -> bool:
    """Whether ``text`` has a word to translate outside code, math and markup."""
    return re.search(r"[A-Za-z]{2,}", _NOT_WORDS.sub(" ", text)) is not None


def _closing_fence(lines: list[str], start: int, fence: str) -> int:
    """Index of the line that closes the fence opened at ``start`` (or the last)."""
    char = fence[0]
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped and set(stripped) == {char} and len(stripped) >= len(fence):
            return index
    return len(lines) - 1


def _line_end(line: str) -> str:
    return line[len(line.rstrip("\r\n")) :]


def split_markdown(text: str, first_line: int = 1) -> list[Piece]:
    """Cut markdown (MyST) into verbatim pieces and units to translate.

    Units: each paragraph, heading title, list item, title of an exercise or
    admonition, and, recursively, the prose inside such a directive. Verbatim: code
    and other directives (``literalinclude``, ``solution-start``...), their options,
    display math, comments, targets and blank lines. ``"".join(p.text for p in
    split_markdown(text)) == text`` always holds.
    """
    lines = text.splitlines(keepends=True)
    pieces: list[Piece] = []

    def verbatim(chunk: str) -> None:
        if chunk:
            pieces.append(Piece(chunk))

    def unit(raw: str, msgid: str, indent: str, kind: str, line: int) -> None:
        if has_words(msgid):
            pieces.append(Piece(raw, msgid, indent, kind, first_line + line))
        else:
            verbatim(raw)

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.rstrip("\r\n")
        if not stripped.strip():
            verbatim(line)
            index += 1
            continue
        if index == 0 and stripped == "---":  # front matter
            end = next(
                (i for i in range(1, len(lines)) if lines[i].rstrip() == "---"),
                len(lines) - 1,
            )
            verbatim("".join(lines[: end + 1]))
            index = end + 1
            continue
        fence = FENCE.match(stripped)
        if fence:
            end = _closing_fence(lines, index, fence["fence"])
            info = fence["info"]
            directive = re.match(
                r"^\{(?P<name>[\w-]+)\}(?P<space>\s*)(?P<arg>.*)$", info
            )
            name = directive["name"] if directive else ""
            if name in PROSE_DIRECTIVES and end > index:
                argument = directive["arg"].rstrip() if directive else ""
                if argument and name in TITLED_DIRECTIVES:
                    head = stripped[: len(stripped) - len(directive["arg"])]
                    verbatim(head)
                    tail = directive["arg"][len(argument) :] + _line_end(line)
                    unit(argument, argument, "", "title", index)
                    verbatim(tail)
                else:
                    verbatim(line)
                body = index + 1
                while body < end and OPTION.match(lines[body]):
                    verbatim(lines[body])
                    body += 1
                pieces += split_markdown("".join(lines[body:end]), first_line + body)
                verbatim(lines[end])
            else:
                verbatim("".join(lines[index : end + 1]))
            index = end + 1
            continue
        if stripped.startswith("$$"):
            end = index
            if stripped.strip() == "$$" or not stripped.rstrip().endswith("$$"):
                end = next(
                    (
                        i
                        for i in range(index + 1, len(lines))
                        if lines[i].rstrip().endswith("$$")
                    ),
                    len(lines) - 1,
                )
            verbatim("".join(lines[index : end + 1]))
            index = end + 1
            continue
        if stripped.lstrip().startswith("<!--"):
            end = next(
                (i for i in range(index, len(lines)) if "-->" in lines[i]),
                len(lines) - 1,
            )
            verbatim("".join(lines[index : end + 1]))
            index = end + 1
            continue
        if TARGET.match(stripped):
            verbatim(line)
            index += 1
            continue
        heading = HEADING.match(stripped)
        if heading and heading["title"]:
            verbatim(heading["marks"])
            unit(heading["title"], heading["title"], "", "heading", index)
            verbatim(heading["end"] + _line_end(line))
            index += 1
            continue
        # A paragraph or a list: up to a blank line, a fence or a heading.
        end = index + 1
        while (
            end < len(lines)
            and lines[end].strip()
            and not FENCE.match(lines[end])
            and not HEADING.match(lines[end])
        ):
            end += 1
        _paragraph(lines[index:end], index, unit, verbatim)
        index = end
    return pieces


def _dedent(lines: list[str]) -> tuple[str, str]:
    """Common indentation of ``lines`` and the lines without it, joined."""
    indents = [len(x) - len(x.lstrip(" \t")) for x in lines if x.strip()]
    width = min(indents) if indents else 0
    indent = lines[0][:width] if lines else ""
    return indent, "\n".join(x[width:] for x in lines)


def _paragraph(block: list[str], start: int, unit: Any, verbatim: Any) -> None:
    """Emit the units of a block of consecutive non-blank lines."""
    newline = _line_end(block[-1])
    block = [x.rstrip("\r\n") for x in block]
    item = LIST_ITEM.match(block[0])
    if not item:
        indent, msgid = _dedent(block)
        verbatim(indent)
        raw = "\n".join(block)[len(indent) :]
        unit(raw, msgid, indent, "paragraph", start)
        verbatim(newline)
        return
    # A list: one unit per item; its continuation lines keep their indentation.
    starts = [
        i
        for i, x in enumerate(block)
        if LIST_ITEM.match(x) and len(x) - len(x.lstrip()) == 0
    ]
    for number, first in enumerate(starts):
        last = starts[number + 1] if number + 1 < len(starts) else len(block)
        marker = LIST_ITEM.match(block[first])["marker"]
        lines = [block[first][len(marker) :], *block[first + 1 : last]]
        if len(lines) > 1:
            indent, rest = _dedent(lines[1:])
            msgid = lines[0] + "\n" + rest
        else:
            indent, msgid = "", lines[0]
        verbatim(marker)
        unit("\n".join(lines), msgid, indent, "list item", start + first)
        verbatim("\n" if last < len(block) else newline)


def translate_markdown(text: str, translations: dict[str, str]) -> str:
    """``text`` with every unit that has a translation replaced by it."""
    return "".join(
        piece.render(translations.get(piece.msgid) if piece.msgid else None)
        for piece in split_markdown(text)
    )


# ----------------------------------------------------------------- sources of a page


@dataclass(frozen=True)
class Unit:
    """One English text to translate, and where it is (for the reader of a report)."""

    msgid: str
    source: str  # file, relative to the repository root
    where: str  # "cell 6 (id 5e327489), line 2: paragraph", "question 1: feedback"
    context: str | None = None  # msgctxt (book catalog only)


def read_json(path: Path) -> Any:
    """Read a JSON file (UTF-8)."""
    return json.loads(path.read_text(encoding="utf-8"))


def cell_source(cell: dict[str, Any]) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def split_lines(text: str) -> list[str]:
    """A string as nbformat stores it: a list of lines, each with its newline."""
    return text.splitlines(keepends=True)


def toc_docnames(root: Path) -> list[str]:
    """The documents of ``root/_toc.yml``, in reading order."""
    from tools.sphinx_ext import read_toc

    return read_toc(root / "_toc.yml")


def page_file(root: Path, docname: str) -> Path:
    """The source file of a document: ``.ipynb`` or ``.md``."""
    for suffix in (".ipynb", ".md"):
        path = root / f"{docname}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"no .ipynb or .md file for {docname} in {root}")


_QUIZ_CALL = re.compile(r"display_quiz\(\s*[\"']([^\"']+\.json)[\"']")
_ANIMATION_ALT = re.compile(r'(<img id="_anim_img\w+" src="[^"]*" alt=")([^"]*)(")')
_ANIMATION_CAPTION = re.compile(r"(<figcaption>)(.*?)(</figcaption>)", re.S)


def quiz_path(notebook: dict[str, Any]) -> str | None:
    """The quiz file a notebook shows, relative to its folder (``quizzes/NN.json``)."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and (
            match := _QUIZ_CALL.search(cell_source(cell))
        ):
            return match.group(1)
    return None


def is_animation(html_text: str) -> bool:
    """Whether an HTML output is an animation made by ``book_src.animations``."""
    return 'class="animation"' in html_text and "_anim_img" in html_text


def markdown_units(text: str, source: str, where: str, line0: int = 1) -> list[Unit]:
    """The units of a markdown text."""
    return [
        Unit(piece.msgid, source, f"{where}line {piece.line}: {piece.kind}")
        for piece in split_markdown(text, line0)
        if piece.msgid is not None
    ]


def quiz_units(questions: list[dict[str, Any]], source: str) -> list[Unit]:
    """The question, answer and feedback texts of a jupyterquiz file."""
    units = []
    for q, question in enumerate(questions, 1):
        units.append(Unit(question["question"], source, f"question {q}"))
        for a, answer in enumerate(question.get("answers", []), 1):
            for key in ("answer", "feedback"):
                if isinstance(answer.get(key), str) and answer[key].strip():
                    units.append(
                        Unit(answer[key], source, f"question {q}, answer {a}: {key}")
                    )
    return units


def notebook_units(root: Path, path: Path) -> list[Unit]:
    """Every unit of a chapter notebook: prose, figures, animations, quiz."""
    source = path.relative_to(root).as_posix()
    notebook = read_json(path)
    units: list[Unit] = []
    for index, cell in enumerate(notebook["cells"]):
        where = f"cell {index} (id {cell.get('id', '?')}), "
        if cell["cell_type"] == "markdown":
            units += markdown_units(cell_source(cell), source, where)
            continue
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        caption = mystnb.get("figure", {}).get("caption")
        alt = mystnb.get("image", {}).get("alt")
        if caption:
            units.append(Unit(caption, source, where + "figure caption"))
        if alt:
            units.append(Unit(alt, source, where + "image alt text"))
        for output in cell.get("outputs", []):
            text = "".join(output.get("data", {}).get("text/html", ""))
            if text and is_animation(text):
                for match in _ANIMATION_ALT.finditer(text):
                    units.append(
                        Unit(
                            html.unescape(match.group(2)),
                            source,
                            where + "animation alt text",
                        )
                    )
                for match in _ANIMATION_CAPTION.finditer(text):
                    units.append(
                        Unit(
                            html.unescape(match.group(2)),
                            source,
                            where + "animation caption",
                        )
                    )
    quiz = quiz_path(notebook)
    if quiz:
        quiz_file = path.parent / quiz
        units += quiz_units(
            read_json(quiz_file), quiz_file.relative_to(root).as_posix()
        )
    return units


def page_units(root: Path, docname: str) -> list[Unit]:
    """Every unit of a page of the table of contents."""
    path = page_file(root, docname)
    if path.suffix == ".ipynb":
        return notebook_units(root, path)
    text = path.read_text(encoding="utf-8")
    return markdown_units(text, path.relative_to(root).as_posix(), "")


# The labels that the book's tooling and its output formats show, by where they are
# used. tools/sphinx_ext.py, tools/exercise_list.py and tools/pdf.py read their
# translation from the Sphinx setting `book_strings` that the French _config.yml
# holds; jupyterquiz's and the animation player's are replaced in those outputs.
TOOL_LABELS: dict[str, list[str]] = {
    "tools/pdf.py": ["Whole book (.pdf)", "Download the whole book as one PDF"],
    "tools/exercise_list.py": ["Exercise {number}", ": ", "No exercises yet."],
    "tools/sphinx_ext.py": [
        ".",
        "Chapter",
        "Code cells",
        "Run time",
        "Executed on",
        "Hardware",
        "Total",
        "not recorded",
        " ({timed} of {cells} timed)",
        "core",
        "thread",
        "No notebook is listed in the table of contents.",
    ],
    "myst-nb": ["Show code cell {type}", "Hide code cell {type}"],
    "jupyterquiz": [
        "Type numeric answer here:",
        "Type your answer here:",
        "Incorrect -- try again.",
        "Incorrect. Try again.",
        "Correct!",
    ],
    # The theme's labels that its own French catalogs lack (tools/language_switch.py
    # replaces them in the built French pages).
    "theme": [
        "Launch interactive content",
        "Launch on Binder",
        "Launch on Colab",
        "Binder logo",
        "Colab logo",
        "Main",
        "Page",
        "Source repositories",
        "Repository",
        "Open issue",
        "Search this book...",
        "Toggle primary sidebar",
        "Toggle secondary sidebar",
        "Toggle hidden content",
    ],
    "book_src/animations.py": [
        "Frame",
        "Decrease speed",
        "First frame",
        "Previous frame",
        "Play backwards",
        "Pause",
        "Play",
        "Next frame",
        "Last frame",
        "Increase speed",
        "Repetition mode",
        "Once",
        "Loop",
        "Reflect",
    ],
}


def book_units(root: Path) -> list[Unit]:
    """What is not a page: title, author, footer, the TOC's captions, labels."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    units = [
        Unit(config[key], "_config.yml", key, "_config.yml")
        for key in ("title", "author")
        if config.get(key)
    ]
    footer = config.get("html", {}).get("extra_footer")
    if footer:
        units.append(Unit(footer, "_config.yml", "html.extra_footer", "_config.yml"))
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for number, part in enumerate(toc.get("parts", []), 1):
        if part.get("caption"):
            units.append(
                Unit(part["caption"], "_toc.yml", f"part {number}: caption", "_toc.yml")
            )
    for where, labels in TOOL_LABELS.items():
        units += [Unit(label, where, "label", where) for label in labels]
    return units


# ----------------------------------------------------------------------- catalogs


def catalog_path(root: Path, name: str) -> Path:
    """The catalog of a page (its docname) or of the book (``BOOK_CATALOG``)."""
    return root / LOCALE_DIR / f"{name}.po"


def catalog_names(root: Path) -> list[str]:
    """Every catalog the book has: one per TOC page, then the book's."""
    return [*toc_docnames(root), BOOK_CATALOG]


def units_of(root: Path, name: str) -> list[Unit]:
    """The units of a catalog."""
    return book_units(root) if name == BOOK_CATALOG else page_units(root, name)


def pending_pages(root: Path = ROOT) -> set[str]:
    """The pages listed in ``locales/fr/PENDING``: not translated yet."""
    path = root / PENDING_FILE
    if not path.is_file():
        return set()
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line}


def load_catalog(path: Path) -> polib.POFile:
    """Read a catalog, or return an empty one if it does not exist."""
    if path.is_file():
        return polib.pofile(str(path), wrapwidth=78)
    return polib.POFile(wrapwidth=78)


def _key(entry: polib.POEntry | Unit) -> tuple[str | None, str]:
    context = entry.msgctxt if isinstance(entry, polib.POEntry) else entry.context
    return (context, entry.msgid)


def _merge(units: list[Unit]) -> dict[tuple[str | None, str], list[Unit]]:
    """Units by (msgctxt, msgid), in order of first appearance."""
    merged: dict[tuple[str | None, str], list[Unit]] = {}
    for unit in units:
        merged.setdefault(_key(unit), []).append(unit)
    return merged


def _is_live(entry: polib.POEntry) -> bool:
    return not entry.obsolete and bool(entry.msgid)


def update_catalog(po: polib.POFile, units: list[Unit], source: str) -> polib.POFile:
    """The catalog for these units, keeping what ``po`` had translated.

    A new English text gets the translation of the most similar text that went away
    (same msgctxt, difflib ratio >= 0.6), marked fuzzy with the old English as its
    previous msgid; a text that went away and matched nothing is kept as obsolete,
    with its translation, until a translator deletes it (or ``--prune``).
    """
    old = {_key(e): e for e in po if _is_live(e)}
    gone = [e for e in po if e.msgstr and (e.obsolete or _key(e) not in _merge(units))]
    new = polib.POFile(wrapwidth=78)
    new.header = CATALOG_HEADER.format(source=source)
    new.metadata = {
        "Project-Id-Version": "conv-from-scratch",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": "nplurals=2; plural=(n > 1);",
    }
    used: set[int] = set()
    for key, found in _merge(units).items():
        entry = polib.POEntry(
            msgctxt=key[0],
            msgid=key[1],
            msgstr="",
            occurrences=sorted({(u.source, "") for u in found}),
            comment="\n".join(u.where for u in found),
        )
        previous = old.get(key)
        if previous is not None:
            entry.msgstr = french_typography(previous.msgstr)
            entry.flags = list(previous.flags)
            entry.previous_msgid = previous.previous_msgid
            entry.tcomment = previous.tcomment
        else:
            best = _most_similar(key, gone, used)
            if best is not None:
                used.add(id(best))
                entry.msgstr = french_typography(best.msgstr)
                entry.flags = ["fuzzy"]
                was_fuzzy = "fuzzy" in best.flags and best.previous_msgid
                entry.previous_msgid = best.previous_msgid if was_fuzzy else best.msgid
                entry.tcomment = best.tcomment
        if not entry.msgstr and "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        new.append(entry)
    for entry in gone:
        if id(entry) not in used:
            entry.obsolete = True
            entry.occurrences = []
            new.append(entry)
    return new


def _most_similar(
    key: tuple[str | None, str], candidates: list[polib.POEntry], used: set[int]
) -> polib.POEntry | None:
    best, score = None, 0.6
    for entry in candidates:
        if id(entry) in used or entry.msgctxt != key[0]:
            continue
        matcher = difflib.SequenceMatcher(None, entry.msgid, key[1], autojunk=False)
        if matcher.real_quick_ratio() < score or matcher.quick_ratio() < score:
            continue
        ratio = matcher.ratio()
        if ratio >= score:
            best, score = entry, ratio
    return best


def save_catalog(po: polib.POFile, path: Path) -> bool:
    """Write a catalog if its text changed; return whether it did."""
    text = str(po).rstrip("\n") + "\n"
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def translations(po: polib.POFile) -> dict[tuple[str | None, str], str]:
    """The usable translations of a catalog: translated, not fuzzy, not obsolete."""
    return {
        _key(e): e.msgstr
        for e in po
        if _is_live(e) and e.msgstr and "fuzzy" not in e.flags
    }


# -------------------------------------------------------------------- typography

#: Code, math, links' targets, HTML tags, MyST roles and URLs: typography leaves
#: them alone.
_PROTECTED = re.compile(
    r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\]\([^)]*\)|<[^>\n]*>"
    r"|\{[\w:-]+\}|https?://\S+",
    re.S,
)
#: Unit symbols after a number, and the counted nouns that the prose-number test
#: (tests/book/test_prose_numbers.py) reads as units.
UNIT_SYMBOLS = (
    r"%|‰|µs|ms|s|min|h|ko|Ko|Mo|Go|kB|MB|GB|o|×|x(?![\w])|fois|paramètres|poids"
)


def french_typography(text: str) -> str:
    """Put the no-break spaces of French typography into a translation.

    Before ``: ; ! ? %`` and ``»``, after ``«``, and between a number and its unit
    symbol, a space (or none, for ``»`` and ``«``) becomes U+00A0, outside code,
    math, link targets, tags and URLs. A narrow no-break space (U+202F) is left as
    it is. Idempotent.
    """
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return f"\x00{len(kept) - 1}\x00"

    typeset = _typeset(_PROTECTED.sub(keep, text))
    return re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], typeset)


def _typeset(text: str) -> str:
    text = re.sub(r"(?<=\S) ([:;!?%»])", NBSP + r"\1", text)
    text = re.sub(r"«[ ]?(?=\S)", "«" + NBSP, text)
    text = re.sub(r"(?<=[^\s" + NBSP + NNBSP + r"])»", NBSP + "»", text)
    # A unit ends the word: "4 s" is four seconds, "4 s'en" is not.
    text = re.sub(r"(?<=\d) (?=(?:" + UNIT_SYMBOLS + r")(?![\w'’]))", NBSP, text)
    return text


# ------------------------------------------------------------------------ checking


@dataclass
class Report:
    """What is left to do in one catalog."""

    name: str
    translated: int = 0
    fuzzy: list[tuple[Unit, str | None]] = field(default_factory=list)
    missing: list[Unit] = field(default_factory=list)
    obsolete: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of units (entries that should be there)."""
        return self.translated + len(self.fuzzy) + len(self.missing)

    @property
    def problems(self) -> list[str]:
        """One line per missing, fuzzy or obsolete entry."""
        lines = [f"missing: {_where(u)}: {_short(u.msgid)}" for u in self.missing]
        lines += [f"fuzzy: {_where(u)}: {_short(u.msgid)}" for u, _ in self.fuzzy]
        lines += [f"obsolete: {_short(msgid)}" for msgid in self.obsolete]
        return lines


def _where(unit: Unit) -> str:
    return f"{unit.source}, {unit.where}"


def _short(text: str, width: int = 70) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 3] + "...")


def report(root: Path, name: str) -> Report:
    """Compare a catalog with the English it translates, as it is now."""
    po = load_catalog(catalog_path(root, name))
    entries = {_key(e): e for e in po if _is_live(e)}
    result = Report(name)
    merged = _merge(units_of(root, name))
    for key, found in merged.items():
        entry = entries.get(key)
        if entry is None or not entry.msgstr:
            result.missing += found
        elif "fuzzy" in entry.flags:
            result.fuzzy += [(u, entry.previous_msgid) for u in found]
        else:
            result.translated += len(found)
    result.obsolete = [
        e.msgid for e in po if e.msgid and (e.obsolete or _key(e) not in merged)
    ]
    return result


# ---------------------------------------------------------------------- generating


@dataclass
class Catalogs:
    """The usable translations of every catalog, read once."""

    root: Path
    _cache: dict[str, dict[tuple[str | None, str], str]] = field(default_factory=dict)

    def page(self, name: str) -> dict[str, str]:
        """The translations of a page: msgid -> msgstr."""
        return {k[1]: v for k, v in self._load(name).items() if k[0] is None}

    def book(self, context: str) -> dict[str, str]:
        """The translations of one context of the book catalog: msgid -> msgstr."""
        return {k[1]: v for k, v in self._load(BOOK_CATALOG).items() if k[0] == context}

    def _load(self, name: str) -> dict[tuple[str | None, str], str]:
        if name not in self._cache:
            self._cache[name] = translations(
                load_catalog(catalog_path(self.root, name))
            )
        return self._cache[name]


COLAB_CHDIR = 'os.chdir("/content/course/chapters")'
COLAB_CHDIR_FR = f'os.chdir("/content/course/{BOOK_DIR}/chapters")'


def translate_code_source(source: Any) -> Any:
    """A code cell's source in the French notebook: the English one.

    But for the Colab cell (exception 1), which moves into the French chapters.
    """
    text = source if isinstance(source, str) else "".join(source)
    if COLAB_CHDIR not in text:
        return source
    text = text.replace(COLAB_CHDIR, COLAB_CHDIR_FR)
    return text if isinstance(source, str) else split_lines(text)


def translate_labels(text: str, labels: dict[str, str], quoted: str) -> str:
    """Replace each label that appears as ``quoted % label`` by its translation."""
    for english, french in labels.items():
        text = text.replace(quoted % english, quoted % french)
    return text


def translate_animation(text: str, page: dict[str, str], labels: dict[str, str]) -> str:
    """An animation's HTML with its alt text, caption and labels translated.

    This is exception 3 to byte-identical outputs.
    """

    def alt(match: re.Match[str]) -> str:
        english = html.unescape(match.group(2))
        french = page.get(english)
        if french is None:
            return match.group(0)
        return match.group(1) + html.escape(french) + match.group(3)

    text = _ANIMATION_ALT.sub(alt, text)
    text = _ANIMATION_CAPTION.sub(alt, text)
    for attribute in ("title", "aria-label"):
        text = translate_labels(text, labels, f'{attribute}="%s"')
    return re.sub(
        r'(<label for="_anim_radio\w+">)([^<]*)(</label>)',
        lambda m: m.group(1) + labels.get(m.group(2), m.group(2)) + m.group(3),
        text,
    )


def render_quiz(questions_file: Path, div_id: str) -> list[dict[str, Any]]:
    """The outputs of ``display_quiz(questions_file)``, made by jupyterquiz itself.

    With the given element id instead of a random one. No kernel is started.
    """
    from IPython.core.formatters import DisplayFormatter
    from jupyterquiz.dynamic import display as quiz_display

    letters = iter(div_id)
    shown: list[Any] = []
    saved = quiz_display.display, quiz_display.random
    quiz_display.display = lambda obj: shown.append(obj)
    quiz_display.random = type(
        "Fixed", (), {"choice": lambda _self, _seq: next(letters)}
    )()
    try:
        quiz_display.display_quiz(str(questions_file))
    finally:
        quiz_display.display, quiz_display.random = saved
    formatter = DisplayFormatter()
    outputs = []
    for obj in shown:
        data, metadata = formatter.format(obj)
        outputs.append(
            {
                "data": {
                    mime: split_lines(value) if isinstance(value, str) else value
                    for mime, value in sorted(data.items())
                },
                "metadata": metadata,
                "output_type": "display_data",
            }
        )
    return outputs


def quiz_div_id(outputs: list[dict[str, Any]]) -> str | None:
    """The element id of a jupyterquiz output (``<div id="...">``)."""
    for output in outputs:
        text = "".join(output.get("data", {}).get("text/html", ""))
        match = re.search(r'<div id="([A-Za-z]{12})" data-shufflequestions', text)
        if match:
            return match.group(1)
    return None


def translate_quiz_outputs(
    english: list[dict[str, Any]], french_quiz: Path, labels: dict[str, str]
) -> list[dict[str, Any]]:
    """The French quiz cell's outputs (exception 2).

    jupyterquiz's rendering of the French quiz file, with the English output's
    element id, and jupyterquiz's own labels translated.
    """
    div_id = quiz_div_id(english)
    if div_id is None:  # not executed: nothing to render
        return copy.deepcopy(english)
    outputs = render_quiz(french_quiz, div_id)
    for output in outputs:
        script = output["data"].get("application/javascript")
        if script:
            text = translate_labels("".join(script), labels, '"%s"')
            output["data"]["application/javascript"] = split_lines(text)
    return outputs


def translate_quiz(questions: list[dict[str, Any]], page: dict[str, str]) -> Any:
    """A quiz file with its questions, answers and feedback translated."""
    french = copy.deepcopy(questions)
    for question in french:
        question["question"] = page.get(question["question"], question["question"])
        for answer in question.get("answers", []):
            for key in ("answer", "feedback"):
                if isinstance(answer.get(key), str):
                    answer[key] = page.get(answer[key], answer[key])
    return french


def dump_quiz(questions: list[dict[str, Any]]) -> str:
    """A quiz file in the layout of the English ones: one answer a line."""
    blocks = []
    for question in questions:
        lines = []
        for key, value in question.items():
            if key == "answers":
                answers = ",\n".join(
                    "      " + json.dumps(answer, ensure_ascii=False)
                    for answer in value
                )
                lines.append(f'    "answers": [\n{answers}\n    ]')
            else:
                lines.append(
                    f"    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"
                )
        blocks.append("  {\n" + ",\n".join(lines) + "\n  }")
    return "[\n" + ",\n".join(blocks) + "\n]\n"


def dump_notebook(notebook: dict[str, Any]) -> str:
    """A notebook as the English ones are written (nbformat's JSON layout)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def translate_notebook(
    root: Path, path: Path, catalogs: Catalogs, out_dir: Path
) -> dict[str, Any]:
    """The French notebook of an English chapter (its quiz is written beside it)."""
    docname = path.relative_to(root).with_suffix("").as_posix()
    page = catalogs.page(docname)
    notebook = read_json(path)
    french = copy.deepcopy(notebook)
    quiz = quiz_path(notebook)
    french_quiz = None
    if quiz:
        questions = read_json(path.parent / quiz)
        french_quiz = out_dir / path.parent.relative_to(root) / quiz
        french_quiz.parent.mkdir(parents=True, exist_ok=True)
        french_quiz.write_text(dump_quiz(translate_quiz(questions, page)), "utf-8")
    for cell in french["cells"]:
        if cell["cell_type"] == "markdown":
            text = cell_source(cell)
            french_text = translate_markdown(text, page)
            if french_text != text:
                cell["source"] = split_lines(french_text)
            continue
        if cell["cell_type"] != "code":
            continue
        cell["source"] = translate_code_source(cell["source"])
        mystnb = cell.get("metadata", {}).get("mystnb", {})
        figure, image = mystnb.get("figure", {}), mystnb.get("image", {})
        if figure.get("caption") in page:
            figure["caption"] = page[figure["caption"]]
        if image.get("alt") in page:
            image["alt"] = page[image["alt"]]
        if french_quiz and _QUIZ_CALL.search(cell_source(cell)):
            cell["outputs"] = translate_quiz_outputs(
                cell.get("outputs", []), french_quiz, catalogs.book("jupyterquiz")
            )
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(data.get("text/html", ""))
            if text and is_animation(text):
                labels = catalogs.book("book_src/animations.py")
                data["text/html"] = split_lines(translate_animation(text, page, labels))
    return french


def french_config(root: Path, catalogs: Catalogs) -> dict[str, Any]:
    """``fr/_config.yml``: the English configuration, translated.

    It points at the shared tools and static files one folder up.
    """
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    strings = catalogs.book("_config.yml")
    for key in ("title", "author"):
        if key in config:
            config[key] = strings.get(config[key], config[key])
    html_options = config.setdefault("html", {})
    if "extra_footer" in html_options:
        footer = html_options["extra_footer"]
        html_options["extra_footer"] = strings.get(footer, footer)
    config.setdefault("repository", {})["path_to_book"] = BOOK_DIR
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: f"../{folder}"
        for name, folder in (sphinx.get("local_extensions") or {}).items()
    }
    settings = sphinx.setdefault("config", {})
    settings["language"] = LANGUAGE
    static = root / "_static"
    if static.is_dir():
        settings["html_static_path"] = ["../_static"]
        settings["html_css_files"] = sorted(
            p.relative_to(static).as_posix() for p in static.rglob("*.css")
        )
        settings["html_js_files"] = sorted(
            p.relative_to(static).as_posix() for p in static.rglob("*.js")
        )
    labels: dict[str, str] = {}
    for where in ("tools/pdf.py", "tools/exercise_list.py", "tools/sphinx_ext.py"):
        labels.update(catalogs.book(where))
    settings["book_strings"] = dict(sorted(labels.items()))
    settings["book_html_labels"] = dict(sorted(catalogs.book("theme").items()))
    myst_nb = catalogs.book("myst-nb")
    for setting, english in (
        ("nb_code_prompt_show", "Show code cell {type}"),
        ("nb_code_prompt_hide", "Hide code cell {type}"),
    ):
        if english in myst_nb:
            settings[setting] = myst_nb[english]
    return config


def french_toc(root: Path, catalogs: Catalogs) -> dict[str, Any]:
    """``fr/_toc.yml``: the same pages, with the parts' captions translated."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    captions = catalogs.book("_toc.yml")
    for part in toc.get("parts", []):
        if part.get("caption"):
            part["caption"] = captions.get(part["caption"], part["caption"])
    return toc


GENERATED = (
    "# Generated by `make i18n` (tools/i18n.py) from ../{source} and the catalogs\n"
    "# of locales/fr: do not edit, change the English or the catalogs instead.\n"
)


class _Dumper(yaml.SafeDumper):
    """Writes a string of several lines as a literal block (``|``)."""


_Dumper.add_representer(
    str,
    lambda dumper, text: dumper.represent_scalar(
        "tag:yaml.org,2002:str", text, style="|" if "\n" in text else None
    ),
)


def dump_yaml(data: Any, source: str) -> str:
    """YAML with a header that says where the file comes from."""
    body = yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=88
    )
    return GENERATED.format(source=source) + body


def literalinclude_paths(text: str, depth: int) -> str:
    """Point ``literalinclude`` and ``include`` paths at the same files from deeper.

    ``../book_src/...`` from ``chapters/`` becomes ``../../book_src/...`` from
    ``fr/chapters/`` (``depth`` 1).
    """
    return re.sub(
        r"^(```+\{(?:literalinclude|include)\}\s+)(\.\./)",
        lambda m: m.group(1) + "../" * depth + m.group(2),
        text,
        flags=re.M,
    )


def generate(root: Path = ROOT, out: Path | None = None) -> list[Path]:
    """Write the French book into ``out`` (``root/fr``); return the files written.

    ``out`` is emptied first: everything in it is generated.
    """
    out = root / BOOK_DIR if out is None else out
    catalogs = Catalogs(root)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    depth = len(out.relative_to(root).parts) if out.is_relative_to(root) else 1
    written = []

    def write(relative: str, text: str) -> None:
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    write("_config.yml", dump_yaml(french_config(root, catalogs), "_config.yml"))
    write("_toc.yml", dump_yaml(french_toc(root, catalogs), "_toc.yml"))
    for docname in toc_docnames(root):
        path = page_file(root, docname)
        relative = path.relative_to(root).as_posix()
        if path.suffix == ".ipynb":
            notebook = translate_notebook(root, path, catalogs, out)
            for cell in notebook["cells"]:
                if cell["cell_type"] == "markdown":
                    text = literalinclude_paths(cell_source(cell), depth)
                    if text != cell_source(cell):
                        cell["source"] = split_lines(text)
            write(relative, dump_notebook(notebook))
        else:
            text = translate_markdown(
                path.read_text(encoding="utf-8"), catalogs.page(docname)
            )
            write(relative, literalinclude_paths(text, depth))
    written += sorted(p for p in out.rglob("*.json") if p not in written)
    return written


def differences(expected: Path, actual: Path) -> list[str]:
    """Files that differ between two trees (relative paths), both ways."""
    names = {
        p.relative_to(tree).as_posix()
        for tree in (expected, actual)
        if tree.is_dir()
        for p in tree.rglob("*")
        if p.is_file()
    }
    return sorted(
        name
        for name in names
        if not (expected / name).is_file()
        or not (actual / name).is_file()
        or (expected / name).read_bytes() != (actual / name).read_bytes()
    )


# ------------------------------------------------------------------------ commands


def update(root: Path = ROOT, prune: bool = False) -> list[str]:
    """Update every catalog from the English, then regenerate ``fr/``.

    Returns the catalogs that changed.
    """
    changed = []
    for name in catalog_names(root):
        path = catalog_path(root, name)
        source = "_config.yml, _toc.yml and the tools' labels"
        if name != BOOK_CATALOG:
            source = page_file(root, name).relative_to(root).as_posix()
        po = update_catalog(load_catalog(path), units_of(root, name), source)
        if prune:
            for entry in [e for e in po if e.obsolete]:
                po.remove(entry)
        if save_catalog(po, path):
            changed.append(path.relative_to(root).as_posix())
    known = {catalog_path(root, n) for n in catalog_names(root)}
    for stale in sorted((root / LOCALE_DIR).rglob("*.po")):
        if stale not in known:
            print(f"note: {stale.relative_to(root)} belongs to no page of _toc.yml")
    generate(root)
    return changed


def status_lines(root: Path, names: Iterable[str] | None = None) -> Iterator[str]:
    """The counts of every catalog, then every unit left to do."""
    pending = pending_pages(root)
    reports = [report(root, name) for name in (names or catalog_names(root))]
    yield (
        f"{'catalog':32} {'units':>5} {'done':>5} {'fuzzy':>5} {'missing':>7} "
        f"{'obsolete':>8}"
    )
    for r in reports:
        note = "  (pending: locales/fr/PENDING)" if r.name in pending else ""
        yield (
            f"{r.name:32} {r.total:5} {r.translated:5} {len(r.fuzzy):5} "
            f"{len(r.missing):7} {len(r.obsolete):8}{note}"
        )
    for r in reports:
        if r.problems:
            yield ""
            yield f"{catalog_path(root, r.name).relative_to(root)}:"
            yield from (f"  {line}" for line in r.problems)


def main(argv: list[str] | None = None) -> int:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    updating = commands.add_parser("update", help="update the catalogs, then fr/")
    updating.add_argument(
        "--prune", action="store_true", help="delete the obsolete entries"
    )
    status = commands.add_parser("status", help="what is left to translate")
    status.add_argument("pages", nargs="*", help="docnames (default: all)")
    commands.add_parser("check", help="exit 1 if anything is left to translate")
    generating = commands.add_parser("generate", help="write the French book")
    generating.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    if args.command == "update":
        changed = update(ROOT, prune=args.prune)
        print(f"catalogs updated: {len(changed)}", *changed, sep="\n  ")
        print(f"{BOOK_DIR}/ regenerated")
        for line in status_lines(ROOT):
            if not line:
                break
            print(line)
        return 0
    if args.command == "status":
        for line in status_lines(ROOT, args.pages or None):
            print(line)
        return 0
    if args.command == "check":
        pending = pending_pages(ROOT)
        failed = False
        for name in catalog_names(ROOT):
            problems = report(ROOT, name).problems
            if problems and name not in pending:
                failed = True
                print(f"{name}:", *problems, sep="\n  ")
        with tempfile.TemporaryDirectory() as folder:
            generate(ROOT, Path(folder) / BOOK_DIR)
            stale = differences(Path(folder) / BOOK_DIR, ROOT / BOOK_DIR)
        if stale:
            failed = True
            print(
                f"{BOOK_DIR}/ is not up to date (run `make i18n`):", *stale, sep="\n  "
            )
        return 1 if failed else 0
    written = generate(ROOT, args.out)
    print(f"{len(written)} files written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
