"""The committed chapters are fully executed, so that nbval really compares them.

nbval skips the comparison for any cell whose committed ``execution_count`` is
empty: a notebook saved without outputs would pass while checking nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
# The thread count the Makefile runs notebooks with (nbval and `make notebooks`).
THREADS = int(
    re.search(r"^THREADS \?= (\d+)", (ROOT / "Makefile").read_text(), re.M)[1]
)


def code_cells(path: Path) -> list[dict]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        c for c in cells if c["cell_type"] == "code" and "".join(c["source"]).strip()
    ]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 6, [p.name for p in CHAPTERS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_code_cell_was_executed_in_order(path):
    counts = [cell["execution_count"] for cell in code_cells(path)]
    missing = [i for i, count in enumerate(counts) if count is None]
    assert not missing, f"{path.name}: code cells {missing} were never executed"
    # One fresh run from top to bottom (as `make notebooks` does): 1, 2, 3, ...
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: {counts}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_errors_or_warnings_in_outputs(path):
    for i, cell in enumerate(code_cells(path)):
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name}: cell {i} failed"
            if output.get("name") == "stderr":
                text = "".join(output["text"])
                assert "Warning" not in text, f"{path.name}: cell {i} warns: {text}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_executed_by_the_project_command(path):
    # `make notebooks` (tools/notebooks.py) records where the outputs came from.
    metadata = json.loads(path.read_text(encoding="utf-8"))["metadata"]
    execution = metadata.get("book_src", {}).get("execution")
    assert execution, f"{path.name}: not executed by `make notebooks`"
    assert execution["threads"] == THREADS, f"{path.name}: ran with {execution}"
    assert metadata["kernelspec"]["name"] == "python3"


# Binder, Colab and the page itself load the whole notebook: keep each one light.
MAX_NOTEBOOK_BYTES = 1_500_000


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_at_most_1_5_MB(path):
    size = path.stat().st_size
    assert size <= MAX_NOTEBOOK_BYTES, f"{path.name} is {size:,} bytes"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_runs_alone_without_files_from_another_chapter(path):
    # Chapters used to pass results through data/results at run time; now a
    # chapter reads only what is committed (nbval also runs them last to first).
    for i, cell in enumerate(code_cells(path)):
        source = "".join(cell["source"])
        assert "save_result(" not in source, f"{path.name}: cell {i} writes a result"
        assert "data/results" not in source, f"{path.name}: cell {i} reads data/results"
