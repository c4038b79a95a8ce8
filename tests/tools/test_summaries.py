"""tools.results: the committed cnn1d summary is what chapter 3's outputs show.

``python -m tools.results`` copies the summary chapter 3 prints into
``book_src/results/cnn1d.json``, which chapters 4 and 6 read; the file must say
exactly what chapter 3's committed outputs say.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from book_src.results import RESULTS, format_summary, load_result
from book_src.training import History
from tools import results as results_tool
from tools.results import parse_summary, result_path, save_result

from helpers import ROOT

CHAPTER_3 = ROOT / "chapters" / "03_mnist_cnn1d.ipynb"

HISTORY = History(
    train_loss=[0.44021, 0.2],
    val_loss=[0.3, 0.25],
    val_accuracy=[91.5, 93.25],
    epoch_seconds=[41.24, 40.8],
)
SUMMARY = {
    "parameters": 33_370,
    "test_accuracy": 96.41,
    "seconds_per_epoch": 41.02,
    "history": HISTORY,
}


def test_the_committed_summary_is_what_chapter_3_shows():
    from_outputs = results_tool.summaries(CHAPTER_3)
    assert set(from_outputs) == {"cnn1d"}, "chapter 3 prints one summary, cnn1d's"
    assert load_result("cnn1d") == from_outputs["cnn1d"], (
        "book_src/results/cnn1d.json differs from chapter 3's outputs: run "
        "`python -m tools.results chapters/03_mnist_cnn1d.ipynb`"
    )


def test_result_path_is_in_the_committed_folder():
    assert result_path("cnn1d") == RESULTS / "cnn1d.json"


def test_the_check_command_passes_and_catches_a_stale_file(tmp_path, capsys):
    assert results_tool.main(["--check", str(CHAPTER_3)]) == 0
    stale = tmp_path / "results"
    stale.mkdir()
    shutil.copy(RESULTS / "cnn1d.json", stale / "cnn1d.json")
    summary = json.loads((stale / "cnn1d.json").read_text())
    summary["test_accuracy"] += 0.01
    (stale / "cnn1d.json").write_text(json.dumps(summary))
    assert results_tool.main(["--check", "--out", str(stale), str(CHAPTER_3)]) == 1
    assert "differs" in capsys.readouterr().err
    # Without --check, it rewrites the file from the outputs.
    assert results_tool.main(["--out", str(stale), str(CHAPTER_3)]) == 0
    assert load_result("cnn1d", root=stale) == load_result("cnn1d")


def test_a_notebook_without_a_summary_writes_nothing(tmp_path, capsys):
    chapter_4 = ROOT / "chapters" / "04_conv2d.ipynb"
    assert results_tool.update(chapter_4, tmp_path) == []
    assert list(tmp_path.iterdir()) == []
    # Named on the command line, it is a mistake: say so.
    assert results_tool.main(["--out", str(tmp_path), str(chapter_4)]) == 1
    assert "prints no summary" in capsys.readouterr().err


# Printing and reading back ---------------------------------------------------


def test_format_then_parse_gives_the_printed_numbers():
    text = format_summary("cnn1d", SUMMARY)
    assert text.splitlines()[1:4] == [
        "parameters: 33,370",
        "test accuracy 96.41 %",
        "41.0 s per epoch on average",
    ]
    assert text.splitlines()[4] == (
        "epoch 1: train loss 0.4402, val loss 0.3000, val accuracy 91.50 %, 41.2 s"
    )
    parsed = parse_summary("some output before\n" + text + "\nand after\n")
    assert parsed == {
        "cnn1d": {
            "parameters": 33_370,
            "test_accuracy": 96.41,
            "seconds_per_epoch": 41.0,
            "history": {
                "train_loss": [0.4402, 0.2],
                "val_loss": [0.3, 0.25],
                "val_accuracy": [91.5, 93.25],
                "epoch_seconds": [41.2, 40.8],
            },
        }
    }
    # Printing what was read back prints the same text.
    assert format_summary("cnn1d", parsed["cnn1d"]) == text


def test_a_quick_run_is_never_committed():
    text = format_summary("cnn1d", SUMMARY, quick=True)
    assert text.startswith("QUICK run")
    with pytest.raises(ValueError, match="QUICK"):
        parse_summary(text)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "summary of cnn1d (book_src/results/cnn1d.json holds exactly this):\n",
            "incomplete",
        ),
        (
            "summary of cnn1d (book_src/results/cnn1d.json holds exactly this):\n"
            "parameters: 12\ntest accuracy 9.00 %\n1.0 s per epoch on average\n",
            "no epochs",
        ),
    ],
)
def test_an_incomplete_summary_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        parse_summary(text)


def test_a_summary_printed_twice_is_refused():
    text = format_summary("cnn1d", SUMMARY)
    with pytest.raises(ValueError, match="twice"):
        parse_summary(text + "\n" + text)


# Saving and loading ----------------------------------------------------------


def test_round_trip_with_a_history(tmp_path):
    path = save_result("cnn1d", root=tmp_path, **SUMMARY)
    assert path == tmp_path / "cnn1d.json"
    loaded = load_result("cnn1d", root=tmp_path)
    assert loaded["parameters"] == 33_370
    assert loaded["test_accuracy"] == 96.41
    assert History(**loaded["history"]) == HISTORY


def test_save_replaces_and_leaves_no_temporary_file(tmp_path):
    save_result("run", root=tmp_path, value=1)
    save_result("run", root=tmp_path, value=2)
    assert load_result("run", root=tmp_path) == {"value": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.parametrize("bad", [object(), math.nan])
def test_unsavable_field_keeps_the_old_summary(tmp_path, bad):
    save_result("run", root=tmp_path, value=1)
    with pytest.raises((TypeError, ValueError)):
        save_result("run", root=tmp_path, value=bad)
    assert load_result("run", root=tmp_path) == {"value": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.json"]


@pytest.mark.parametrize("name", ["", "../cnn1d", "a/b", ".hidden", 3])
def test_names_cannot_escape_the_results_folder(tmp_path, name):
    with pytest.raises(ValueError, match="result name"):
        result_path(name, root=tmp_path)
