"""tools.notebooks: what ``make notebooks`` does to a notebook on disk."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from tools import notebooks


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, path)
    return path


def test_execute_fills_outputs_and_records_the_run(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "ok.ipynb", "x = 6 * 7", "print(x)")
    seconds = notebooks.execute(path)
    nb = nbformat.read(path, as_version=4)
    assert [cell.execution_count for cell in nb.cells] == [1, 2]
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    run = nb.metadata["book_src"]["execution"]
    assert run["seconds"] == round(seconds, 1) and run["torch"]
    # Saved as nbformat.write saves (a final newline), with the usual
    # permissions, and no temporary file left beside it.
    text = path.read_text(encoding="utf-8")
    assert text == nbformat.writes(nb) + "\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.ipynb"]


def test_a_failing_notebook_is_left_unchanged(tmp_path: Path) -> None:
    path = write_notebook(tmp_path / "bad.ipynb", "print('fine')", "1 / 0")
    before = path.read_bytes()
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        notebooks.execute(path)
    assert path.read_bytes() == before
    assert notebooks.main([str(path)]) == 1
    assert path.read_bytes() == before
