"""Sphinx extension for the course book: offline MathJax and execution statistics.

Registered in ``_config.yml`` as ``sphinx: local_extensions: {sphinx_ext: tools}``.

1. **MathJax from the site itself.** The book never loads a CDN. The MathJax 2.7
   files that the PyPI package ``jupyter-server-mathjax`` ships are copied into
   ``_static/mathjax/`` of the HTML output, ``mathjax_path`` points there, and a
   MathJax 2 configuration is written so that the math MyST produces from ``$...$``
   and ``$$...$$`` (in Markdown files and in notebooks) is typeset.

2. **The ``{execution-statistics}`` directive.** The book does not execute the
   notebooks (``execute_notebooks: "off"``): ``make notebooks`` does, recording the
   start and end of every code cell and, in ``metadata["book_src"]["execution"]``,
   the machine it ran on. The directive reads the chapters listed in the table of
   contents and renders one table row per chapter: number of code cells, run time,
   date and hardware. Missing metadata reads "not recorded"; it never fails a build.

3. **A notebook missing from ``_toc.yml`` is a warning** (an error with ``-W``),
   where ``only_build_toc_files: true`` alone would drop it silently.

4. **Each inline script once per page**, working around a Sphinx 7.4 duplicate
   that breaks sphinx-thebe's script with a JavaScript error.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.html import StandaloneHTMLBuilder
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx_external_toc.parsing import parse_toc_yaml

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------- MathJax

#: Where the MathJax files land, relative to the ``_static`` folder of the output.
MATHJAX_STATIC_DIR = "mathjax"
#: The combined configuration file shipped by jupyter-server-mathjax (there is no
#: plain ``TeX-AMS-MML_HTMLorMML.js`` in that package, only the ``-full`` one).
MATHJAX_CONFIG_FILE = "TeX-AMS-MML_HTMLorMML-full"
#: Classes whose content MathJax typesets. MyST marks every section with
#: ``tex2jax_ignore``, so that a stray ``\(`` in prose is left alone, and the math it
#: parsed itself carries the class ``math``. Same default as ``myst_mathjax_classes``.
DEFAULT_MATHJAX_CLASSES = "tex2jax_process|mathjax_process|math|output_area"


def mathjax_source_dir() -> Path:
    """Return the folder holding ``MathJax.js`` inside jupyter-server-mathjax.

    Raises:
        ExtensionError: if the package is not installed or has no MathJax files.
    """
    try:
        import jupyter_server_mathjax
    except ImportError as error:  # pragma: no cover - pinned in requirements.txt
        raise ExtensionError(
            "tools/sphinx_ext.py serves MathJax from the book itself and needs the "
            "PyPI package jupyter-server-mathjax (pinned in requirements.txt)."
        ) from error
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        raise ExtensionError(
            f"No MathJax.js in {static}: reinstall jupyter-server-mathjax"
        )
    if not (static / "config" / f"{MATHJAX_CONFIG_FILE}.js").is_file():
        raise ExtensionError(f"No config/{MATHJAX_CONFIG_FILE}.js in {static}")
    return static


def mathjax2_config(process_classes: str) -> dict[str, Any]:
    """Return the MathJax 2 configuration written into every page with math.

    Args:
        process_classes: ``|``-separated HTML classes whose content is typeset even
            inside an ignored section (MyST's ``myst_mathjax_classes``).
    """
    return {
        "tex2jax": {
            # Sphinx wraps inline math in \( \) and display math in \[ \].
            "inlineMath": [["\\(", "\\)"]],
            "displayMath": [["\\[", "\\]"]],
            "processEscapes": True,
            "processClass": process_classes,
            "ignoreClass": "tex2jax_ignore|mathjax_ignore",
        },
        # jupyter-server-mathjax ships the STIX-Web fonts only (no TeX fonts and no
        # image fonts): use them for everyone, never look for fonts on the system.
        "HTML-CSS": {
            "availableFonts": [],
            "preferredFont": None,
            "webFont": "STIX-Web",
            "imageFont": None,
            # MathJax tests web fonts against a blank font at url('about:blank'),
            # which Chromium reports as a CORS error in the console. A local font
            # that does not exist fails the same way, silently.
            "styles": {
                "@font-face": {
                    "font-family": "MathJax_Blank",
                    "src": "local('MathJax_Blank')",
                }
            },
        },
        "SVG": {"font": "STIX-Web"},
        # No "Loading [MathJax]/..." box in the corner while the page typesets.
        "messageStyle": "none",
        "styles": {
            # pydata-sphinx-theme lays out span.math as an inline flexbox, made for
            # MathJax 3; MathJax 2's output then sits above the baseline of the text.
            "span.math": {"display": "inline", "overflow": "visible"},
            # The hidden MathML that AssistiveMML adds for screen readers would pick
            # up the NativeMML output's styles, which name TeX web fonts that are
            # not shipped (404 on fonts/HTML-CSS/TeX/otf/MathJax_AMS-Regular.otf).
            ".MJX_Assistive_MathML [mathvariant]": {
                "font-family": "inherit !important"
            },
        },
    }


def _configure_mathjax(app: Sphinx, config: Any) -> None:
    """Point ``mathjax_path`` at ``_static/mathjax/`` and configure MathJax 2.

    Runs at ``config-inited``, before the HTML builder hashes its configuration
    into ``.buildinfo``: a change here rewrites every page on the next build.
    """
    mathjax_source_dir()  # fail early, with a clear message, if the files are missing
    config.mathjax_path = (
        f"{MATHJAX_STATIC_DIR}/MathJax.js?config={MATHJAX_CONFIG_FILE}"
    )
    classes = getattr(config, "myst_mathjax_classes", None) or DEFAULT_MATHJAX_CLASSES
    config.mathjax2_config = mathjax2_config(classes)


def _drop_mathjax3_config(app: Sphinx) -> None:
    """Undo MyST's MathJax 3 settings (``builder-inited``, after MyST's own hook).

    MyST-Parser assumes MathJax 3 on Sphinx >= 4 and fills ``mathjax3_config``
    with the classes to typeset; with it, Sphinx would load MathJax 2 with
    ``defer`` after a ``window.MathJax = {...}``. ``mathjax2_config`` already holds
    the same classes, for ``tex2jax``.
    """
    app.config.mathjax3_config = None


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into ``_static/mathjax/`` of the output (``build-finished``)."""
    if exception is not None or not isinstance(app.builder, StandaloneHTMLBuilder):
        return
    destination = Path(app.outdir) / "_static" / MATHJAX_STATIC_DIR
    shutil.copytree(
        mathjax_source_dir(),
        destination,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )


# ------------------------------------------------------------- Duplicate scripts


def _drop_duplicate_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: nodes.document | None,
) -> None:
    """Write each inline ``<script>`` once per page (``html-page-context``, last).

    Sphinx 7.4 keeps an inline script added after the builder started (as
    sphinx-thebe and sphinx-togglebutton do) twice, once with ``filename=None`` and
    once with ``filename=""``. sphinx-thebe's ``const THEBE_JS_URL = ...`` then
    fails the second time: "Identifier 'THEBE_JS_URL' has already been declared".
    """
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen: set[tuple[Any, ...]] = set()
    unique = []
    for script in scripts:
        attributes = getattr(script, "attributes", {})
        key = (
            getattr(script, "filename", script) or "",
            tuple(sorted((name, str(value)) for name, value in attributes.items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


# ------------------------------------------------------------ Notebooks not in TOC

_USER_EXCLUDES = "_book_src_user_exclude_patterns"


def _remember_user_excludes(app: Sphinx, config: Any) -> None:
    """Keep ``exclude_patterns`` as the user wrote them (``config-inited``, early).

    With ``only_build_toc_files: true``, sphinx-external-toc (``config-inited``,
    priority 900) silently adds every document missing from ``_toc.yml`` to
    ``exclude_patterns``; comparing with this copy tells which ones it added.
    """
    setattr(app, _USER_EXCLUDES, list(config.exclude_patterns))


def _warn_notebooks_not_in_toc(app: Sphinx) -> None:
    """Warn about every notebook left out of ``_toc.yml`` (``builder-inited``).

    Sphinx itself would warn ("document isn't included in any toctree"), but
    ``only_build_toc_files: true`` drops such files without a word. A chapter
    forgotten in the TOC is a mistake, so it is a warning, hence an error with -W.
    Other files (a README.md, say) may stay out of the TOC quietly.
    """
    before = set(getattr(app, _USER_EXCLUDES, app.config.exclude_patterns))
    for pattern in app.config.exclude_patterns:
        if pattern not in before and pattern.endswith(".ipynb"):
            logger.warning(
                "%s is not in the table of contents: add it to _toc.yml (or to "
                "exclude_patterns in _config.yml if it is not part of the book)",
                pattern,
                type="book_src",
                subtype="not_in_toc",
            )


# ------------------------------------------------------------- Execution statistics

NOT_RECORDED = "not recorded"


@dataclass
class NotebookStats:
    """What one executed notebook records about its run.

    Attributes:
        code_cells: number of code cells.
        timed_cells: code cells with both a start and an end timestamp.
        seconds: sum of the timed cells' run times (``None`` when none is timed).
        date: when it was executed, as text (``None`` when unknown).
        hardware: one line on the machine and software (``None`` when unknown).
    """

    code_cells: int = 0
    timed_cells: int = 0
    seconds: float | None = None
    date: str | None = None
    hardware: str | None = None


def parse_timestamp(value: Any) -> dt.datetime | None:
    """Parse a Jupyter ISO 8601 timestamp (``2026-11-26T11:20:03.123456Z``).

    Returns ``None`` for anything that is not such a timestamp.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):  # Python 3.10 does not read the "Z" suffix
        text = text[:-1] + "+00:00"
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return stamp


def format_duration(seconds: float) -> str:
    """Format a run time: ``0.4 s``, ``12 s``, ``3 min 05 s``, ``1 h 02 min``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, secs = divmod(whole, 60)
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def _format_date(value: Any) -> str | None:
    """Show an ISO date or datetime as ``YYYY-MM-DD``; other text as it is."""
    if value is None or value == "":
        return None
    stamp = parse_timestamp(value)
    if stamp is not None:
        return stamp.date().isoformat()
    try:
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        return str(value)


def _hardware_line(
    execution: dict[str, Any], label: Callable[[str], str] = str
) -> str | None:
    """Summarise ``metadata["book_src"]["execution"]`` as one line, or ``None``.

    Reads the keys that ``tools/notebooks.py`` writes: ``cpu``, ``cores``,
    ``threads``, ``gpu``, ``torch`` and ``python``; any of them may be missing.
    ``label`` translates the nouns "core" and "thread" (French edition).
    """

    def count(key: str, noun: str) -> str | None:
        value = execution.get(key)
        if value in (None, ""):
            return None
        return f"{value} {noun}{'' if str(value) == '1' else 's'}"

    gpu = execution.get("gpu")
    parts = [
        str(execution["cpu"]) if execution.get("cpu") else None,
        count("cores", label("core")),
        count("threads", label("thread")),
        f"GPU {gpu}" if gpu and str(gpu).lower() != "none" else None,
        f"torch {execution['torch']}" if execution.get("torch") else None,
        f"Python {execution['python']}" if execution.get("python") else None,
    ]
    return ", ".join(part for part in parts if part) or None


def notebook_stats(
    notebook: dict[str, Any], label: Callable[[str], str] = str
) -> NotebookStats:
    """Collect the execution statistics of a notebook read as JSON.

    Tolerates any missing or malformed field: what cannot be read stays ``None``.

    Args:
        notebook: the notebook, as ``json.load`` returns it (nbformat 4).
        label: translates the labels of the hardware line (French edition).
    """
    stats = NotebookStats()
    total = 0.0
    last_end: dt.datetime | None = None
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        stats.code_cells += 1
        metadata = cell.get("metadata")
        timing = metadata.get("execution") if isinstance(metadata, dict) else None
        if not isinstance(timing, dict):
            continue
        start = parse_timestamp(timing.get("iopub.execute_input"))
        end = parse_timestamp(timing.get("shell.execute_reply"))
        if start is None or end is None or end < start:
            continue
        stats.timed_cells += 1
        last_end = end if last_end is None else max(last_end, end)
        total += (end - start).total_seconds()
    if stats.timed_cells:
        stats.seconds = total

    metadata = notebook.get("metadata")
    book_src = metadata.get("book_src") if isinstance(metadata, dict) else None
    execution = book_src.get("execution") if isinstance(book_src, dict) else None
    if not isinstance(execution, dict):
        execution = {}
    stats.date = _format_date(execution.get("date"))
    if stats.date is None and last_end is not None:
        stats.date = last_end.date().isoformat()
    stats.hardware = _hardware_line(execution, label)
    return stats


def read_notebook_stats(
    path: Path, label: Callable[[str], str] = str
) -> NotebookStats | None:
    """Read a notebook file and return its statistics (``None`` if unreadable)."""
    try:
        with path.open(encoding="utf-8") as handle:
            notebook = json.load(handle)
    except (OSError, ValueError) as error:
        logger.warning(
            "execution-statistics: cannot read %s (%s)",
            path,
            error,
            type="book_src",
            subtype="execution_statistics",
        )
        return None
    if not isinstance(notebook, dict):
        return None
    return notebook_stats(notebook, label)


def toc_docnames(app: Sphinx) -> list[str]:
    """Return every document of the table of contents, in reading order.

    Uses the site map that ``sphinx-external-toc`` builds from ``_toc.yml``; without
    it (a plain Sphinx project), falls back to all documents, sorted.
    """
    site_map = getattr(app.env, "external_site_map", None) or getattr(
        app.config, "external_site_map", None
    )
    if site_map is None:
        return sorted(app.env.found_docs)
    return reading_order(site_map)


def read_toc(path: Path) -> list[str]:
    """Return the documents listed in the ``_toc.yml`` at ``path``, in reading order."""
    return reading_order(parse_toc_yaml(path))


def reading_order(site_map: Any) -> list[str]:
    """Walk a ``sphinx-external-toc`` site map depth first, from its root."""
    seen: set[str] = set()

    def walk(docname: str) -> Iterator[str]:
        if docname in seen:
            return
        seen.add(docname)
        yield docname
        try:
            children = site_map[docname].child_files()
        except KeyError:
            return
        for child in children:
            yield from walk(child)

    return list(walk(site_map.root.docname))


class chapter_title(nodes.Inline, nodes.Element):
    """Placeholder for "number. title" of a chapter, filled in once all are read."""


def _fill_chapter_titles(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Replace each :class:`chapter_title` by a link "1. Title" (``doctree-resolved``).

    Section numbers and titles are only known after every document is read, so the
    directive leaves placeholders and this fills them in.
    """
    env = app.env
    for placeholder in list(doctree.findall(chapter_title)):
        target = placeholder["docname"]
        title_node = env.titles.get(target)
        title = title_node.astext() if title_node is not None else target
        numbers = env.toc_secnumbers.get(target, {}).get("", ())
        label = ".".join(str(number) for number in numbers)
        text = f"{label}. {title}" if label else title
        try:
            uri = app.builder.get_relative_uri(docname, target)
        except Exception:  # a builder without links (text, man...): plain text
            placeholder.replace_self(nodes.Text(text))
            continue
        placeholder.replace_self(
            nodes.reference("", text, internal=True, refuri=uri, classes=["chapter"])
        )


def _nowrap(text: str) -> str:
    """Join the words with no-break spaces, so that a narrow column keeps them."""
    return text.replace(" ", "\u00a0")


def _table(header: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
    """Build a docutils table with one header row."""
    table = nodes.table(classes=["execution-statistics", "colwidths-auto"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)

    def row(cells: list[nodes.Node]) -> nodes.row:
        line = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += (
                cell
                if isinstance(cell, nodes.paragraph)
                else nodes.paragraph("", "", cell)
            )
            line += entry
        return line

    thead = nodes.thead()
    thead += row([nodes.Text(text) for text in header])
    group += thead
    tbody = nodes.tbody()
    for cells in rows:
        tbody += row(cells)
    group += tbody
    return table


class ExecutionStatistics(SphinxDirective):
    """``{execution-statistics}``: one row per chapter notebook in the TOC.

    Columns: chapter (linked, numbered), code cells, run time (sum of the code
    cells' times, from nbclient's ``iopub.execute_input`` and
    ``shell.execute_reply`` timestamps), executed on (date) and hardware (from
    ``metadata["book_src"]["execution"]``).
    A last row gives the totals. Takes no arguments and no content.
    """

    has_content = False
    required_arguments = 0
    optional_arguments = 0

    def run(self) -> list[nodes.Node]:
        """Read the chapter notebooks and return the table."""

        def label(english: str) -> str:
            # The French edition's labels (book_strings, tools/language_switch.py).
            strings = getattr(self.config, "book_strings", None) or {}
            return strings.get(english, english)

        def duration(seconds: float) -> str:
            return _nowrap(format_duration(seconds).replace(".", label(".")))

        not_recorded = label(NOT_RECORDED)
        chapters: list[tuple[str, Path]] = []
        for docname in toc_docnames(self.env.app):
            path = Path(self.env.doc2path(docname))
            if path.suffix == ".ipynb":
                chapters.append((docname, path))
        if not chapters:
            return [
                nodes.paragraph(
                    "", label("No notebook is listed in the table of contents.")
                )
            ]

        rows: list[list[nodes.Node]] = []
        total_cells = 0
        total_seconds = 0.0
        any_time = False
        for docname, path in chapters:
            self.env.note_dependency(str(path))  # rebuild when a chapter is re-run
            stats = read_notebook_stats(path, label) or NotebookStats()
            total_cells += stats.code_cells
            if stats.seconds is None:
                run_time = _nowrap(not_recorded)
            else:
                any_time = True
                total_seconds += stats.seconds
                run_time = duration(stats.seconds)
                if stats.timed_cells < stats.code_cells:
                    run_time += label(" ({timed} of {cells} timed)").format(
                        timed=stats.timed_cells, cells=stats.code_cells
                    )
            rows.append(
                [
                    chapter_title(docname=docname),
                    nodes.Text(str(stats.code_cells)),
                    nodes.Text(run_time),
                    nodes.Text(_nowrap(stats.date or not_recorded)),
                    nodes.Text(stats.hardware or not_recorded),
                ]
            )
        total_time = duration(total_seconds) if any_time else _nowrap(not_recorded)
        rows.append(
            [
                nodes.strong("", label("Total")),
                nodes.strong("", str(total_cells)),
                nodes.strong("", total_time),
                nodes.Text(""),
                nodes.Text(""),
            ]
        )
        header = [
            label(text)
            for text in ("Chapter", "Code cells", "Run time", "Executed on", "Hardware")
        ]
        return [_table(header, rows)]


# --------------------------------------------------------------------------- setup


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the MathJax hooks and the ``execution-statistics`` directive."""
    app.setup_extension("sphinx.ext.mathjax")
    app.connect("config-inited", _configure_mathjax)
    # After MyST-Parser's builder-inited hook (default priority 500) that fills
    # mathjax3_config, so that ours has the last word.
    app.connect("builder-inited", _drop_mathjax3_config, priority=900)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=1000)

    app.connect("config-inited", _remember_user_excludes, priority=100)
    app.connect("builder-inited", _warn_notebooks_not_in_toc)

    app.add_node(chapter_title)
    app.add_directive("execution-statistics", ExecutionStatistics)
    app.connect("doctree-resolved", _fill_chapter_titles)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
