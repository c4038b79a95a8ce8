"""Checks on the book's configuration and chapters that need no build and no browser.

* ``_config.yml``: title, TOC-only build, no execution at build time, offline math
  extension, and Binder/Colab buttons on branch ``main`` of ``repository.url``;
* ``_toc.yml`` lists every chapter notebook in ``chapters/`` and only those;
* each chapter starts with the Colab install cell, whose URL is ``repository.url``
  (the one place that names the repository), and which is silent where
  ``book_src`` is already importable (nbval compares outputs), and which the HTML
  book hides (tag ``remove-cell``);
* the helpers behind the ``{execution-statistics}`` directive.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import subprocess
import sys
from typing import Any

import pytest
from IPython.core.inputtransformer2 import TransformerManager

from tools.sphinx_ext import format_duration, notebook_stats, parse_timestamp

from book_helpers import load_config, toc_docnames
from helpers import ROOT

CHAPTERS = ROOT / "chapters"
#: The chapters, in order. Their titles live in the notebooks.
EXPECTED_CHAPTERS = [
    "chapters/01_conv1d_loop",
    "chapters/02_pooling",
    "chapters/03_mnist_cnn1d",
    "chapters/04_conv2d",
    "chapters/05_conv3d_video",
    "chapters/06_performance",
    "chapters/07_backward_loops",
]


def toc_notebooks() -> list[str]:
    """Return the TOC documents that are notebooks (a ``chapters/NN_*`` name)."""
    return [name for name in toc_docnames() if re.fullmatch(r"chapters/\d\d_\w+", name)]


def first_code_cell(docname: str) -> dict[str, Any]:
    """Return the first code cell of a chapter notebook (fails if it has none)."""
    path = ROOT / f"{docname}.ipynb"
    assert path.is_file(), f"{path.relative_to(ROOT)} is listed in _toc.yml but missing"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            return cell
    pytest.fail(f"{docname}.ipynb has no code cell")


def source(cell: dict[str, Any]) -> str:
    """Return a cell's source as one string (nbformat allows a list of lines)."""
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


# ------------------------------------------------------------------ configuration


def test_config_basics() -> None:
    config = load_config()
    assert config["title"] == "Convolution from scratch"
    assert config["author"] == "The Convolution from scratch authors"
    assert config["only_build_toc_files"] is True
    # The book shows the outputs nbval verified: it never executes a notebook.
    assert config["execute"]["execute_notebooks"] == "off"
    for folder in (".venv", "data", "_build", "tests", "binder"):
        assert folder in config["exclude_patterns"], folder
    extensions = config["parse"]["myst_enable_extensions"]
    assert {"dollarmath", "amsmath", "colon_fence"} <= set(extensions)
    assert config["sphinx"]["local_extensions"]["sphinx_ext"] == "tools"
    assert config["html"]["use_repository_button"] is True
    assert config["html"]["use_issues_button"] is True


def test_licences_are_named_in_the_readme_and_the_footer() -> None:
    """One licence for the code (MIT), one for the text (CC BY 4.0), both shown."""
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").count("MIT License") == 1
    text_licence = (ROOT / "LICENSE-TEXT").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International" in text_licence
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    footer = load_config()["html"]["extra_footer"]
    for where in (readme, footer):
        assert "MIT licence" in where
        assert "CC BY 4.0" in where
        assert "LICENSE-TEXT" in where


def test_repository_is_named_once() -> None:
    """Only ``repository.url`` names the repository in ``_config.yml``."""
    url = load_config()["repository"]["url"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", url), url
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert text.count("github.com") == 1, "name the repository only in repository.url"


def test_landing_page_clones_repository_url() -> None:
    """The ``git clone`` of the landing page names ``repository.url`` too."""
    text = (CHAPTERS / "intro.md").read_text(encoding="utf-8")
    clones = re.findall(r"git clone (\S+)", text)
    assert clones == [load_config()["repository"]["url"]]


def test_launch_buttons_open_branch_main() -> None:
    config = load_config()
    assert config["repository"]["branch"] == "main"  # Jupyter Book 1 says master
    assert config["repository"].get("path_to_book", "") == ""
    launch = config["launch_buttons"]
    assert launch["binderhub_url"] == "https://mybinder.org"
    assert launch["colab_url"] == "https://colab.research.google.com"
    # "classic" makes Binder links ?urlpath=tree/<notebook>.
    assert launch["notebook_interface"] == "classic"


# ------------------------------------------------------------------------ chapters


def test_toc_lists_the_chapters_in_order() -> None:
    assert toc_docnames()[0] == "chapters/intro"
    assert toc_notebooks() == EXPECTED_CHAPTERS
    assert "chapters/execution_stats" in toc_docnames()


def test_every_chapter_is_in_the_toc_and_back() -> None:
    on_disk = {
        path.relative_to(ROOT).with_suffix("").as_posix()
        for path in CHAPTERS.glob("*.ipynb")
    }
    in_toc = set(toc_notebooks())
    assert not on_disk - in_toc, f"notebooks missing from _toc.yml: {on_disk - in_toc}"
    assert not in_toc - on_disk, f"in _toc.yml, not in chapters/: {in_toc - on_disk}"


@pytest.mark.parametrize("docname", EXPECTED_CHAPTERS)
def test_first_code_cell_installs_book_src_on_colab(docname: str) -> None:
    """The first code cell is the Colab cell, pointing at ``repository.url``."""
    cell = first_code_cell(docname)
    code = source(cell)
    colab = r"""if ["']google\.colab["'] in sys\.modules and """
    colab += r"""importlib\.util\.find_spec\(["']book_src["']\) is None:"""
    assert re.search(colab, code), (
        f"{docname}: the first code cell is not the Colab install cell:\n{code}"
    )
    urls = re.findall(r"""url = ["'](https://[^"'@#\s]+)["']""", code)
    assert urls == [load_config()["repository"]["url"]], (
        f"{docname}: the Colab cell must clone repository.url of _config.yml"
    )
    # Colab opens the notebook alone: the clone brings the quiz files beside it.
    assert 'os.chdir("/content/course/chapters")' in code, docname
    assert not cell.get("outputs"), f"{docname}: the Colab cell must have no output"
    # Nothing but imports and the `if`: no expression whose value would display.
    tree = ast.parse(code)
    kinds = {type(node) for node in tree.body}
    assert kinds <= {ast.Import, ast.ImportFrom, ast.If}, f"{docname}: {kinds}"


@pytest.mark.parametrize("docname", EXPECTED_CHAPTERS)
def test_colab_cell_is_silent_where_book_src_is_installed(docname: str) -> None:
    assert importlib.util.find_spec("book_src") is not None, (
        "book_src is not installed: run `make env` (otherwise this would pip install)"
    )
    # IPython syntax (a %pip line, say) as the kernel would run it.
    code = TransformerManager().transform_cell(source(first_code_cell(docname)))
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=CHAPTERS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


@pytest.mark.parametrize("docname", EXPECTED_CHAPTERS)
def test_colab_cell_does_nothing_outside_colab(docname: str) -> None:
    """Without ``book_src`` (a notebook downloaded into another Jupyter) and outside
    Colab, the cell clones nothing and installs nothing: ``-S`` hides site-packages,
    so ``book_src`` cannot be found, and ``google.colab`` is not there either."""
    code = TransformerManager().transform_cell(source(first_code_cell(docname)))
    probe = (
        "import importlib.util\nassert importlib.util.find_spec('book_src') is None\n"
    )
    run = subprocess.run(
        [sys.executable, "-S", "-c", probe + code],
        cwd=CHAPTERS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "")


@pytest.mark.parametrize("docname", EXPECTED_CHAPTERS)
def test_colab_cell_is_hidden_in_the_book(docname: str) -> None:
    """The HTML book leaves the Colab cell out; Jupyter and Colab still run it."""
    tags = first_code_cell(docname).get("metadata", {}).get("tags", [])
    assert "remove-cell" in tags, (
        f"{docname}: tag the Colab cell 'remove-cell' (the reader's first code cell "
        "in the book should be the chapter's own)"
    )


# ------------------------------------------------------------ execution statistics


def test_parse_timestamp() -> None:
    stamp = parse_timestamp("2026-11-26T11:20:03.123456Z")
    assert stamp is not None and stamp.microsecond == 123456
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0
    assert parse_timestamp("2026-11-26T11:20:03+01:00") is not None
    for bad in (None, "", "yesterday", 12):
        assert parse_timestamp(bad) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.04, "0.0 s"),
        (9.94, "9.9 s"),
        (12.4, "12 s"),
        (185, "3 min 05 s"),
        (3599.4, "59 min 59 s"),
        (2 * 3600 + 7 * 60 + 31, "2 h 08 min"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def _timed_cell(start: str, end: str) -> dict[str, Any]:
    execution = {"iopub.execute_input": start, "shell.execute_reply": end}
    return {"cell_type": "code", "metadata": {"execution": execution}}


def test_notebook_stats_from_runner_metadata() -> None:
    notebook = {
        "metadata": {
            "book_src": {
                "execution": {
                    "cpu": "Some CPU",
                    "cores": 2,
                    "threads": 2,
                    "gpu": "none",
                    "python": "3.11.7",
                    "torch": "2.14.1",
                    "date": "2026-11-26",
                    "seconds": 99.0,
                }
            }
        },
        "cells": [
            {"cell_type": "markdown", "metadata": {}},
            _timed_cell("2026-11-26T10:00:00.000000Z", "2026-11-26T10:00:01.500000Z"),
            _timed_cell("2026-11-26T10:00:02.000000Z", "2026-11-26T10:00:04.000000Z"),
            {"cell_type": "code", "metadata": {}},
        ],
    }
    stats = notebook_stats(notebook)
    assert (stats.code_cells, stats.timed_cells) == (3, 2)
    assert stats.seconds == pytest.approx(3.5)
    assert stats.date == "2026-11-26"
    assert stats.hardware == (
        "Some CPU, 2 cores, 2 threads, torch 2.14.1, Python 3.11.7"
    )


def test_notebook_stats_without_metadata() -> None:
    stats = notebook_stats({"cells": [{"cell_type": "code"}], "metadata": {}})
    assert (stats.code_cells, stats.seconds, stats.date, stats.hardware) == (
        1,
        None,
        None,
        None,
    )
    # Malformed fields are ignored, never raised.
    broken = {
        "metadata": {"book_src": "oops"},
        "cells": [_timed_cell("later", "2026-11-26T10:00:00Z"), "not a cell"],
    }
    assert notebook_stats(broken).seconds is None
    assert notebook_stats({}).code_cells == 0


def test_notebook_stats_date_falls_back_to_the_last_cell() -> None:
    notebook = {
        "metadata": {},
        "cells": [
            _timed_cell("2026-11-27T00:00:01Z", "2026-11-27T00:00:02Z"),
            _timed_cell("2026-11-26T23:59:58Z", "2026-11-26T23:59:59Z"),
        ],
    }
    assert notebook_stats(notebook).date == "2026-11-27"
