"""book_src.results: the committed cnn1d summary, as chapter 3 prints it.

Chapters 4 and 6 read ``book_src/results/cnn1d.json`` instead of a file chapter 3
would write at run time; ``tests/tools/test_results.py`` checks that the file says
exactly what chapter 3's committed outputs say.
"""

from __future__ import annotations

import re

import pytest

from book_src.results import RESULTS, format_summary, load_result
from book_src.training import History

from helpers import ROOT

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


def test_the_committed_summary_has_what_chapters_4_and_6_read():
    summary = load_result("cnn1d")
    assert summary["parameters"] == 33_370
    assert 90 < summary["test_accuracy"] < 100
    history = History(**summary["history"])
    assert history.epochs == 5
    assert summary["seconds_per_epoch"] == pytest.approx(
        sum(history.epoch_seconds) / history.epochs, abs=0.1
    )
    assert summary["machine"]["threads"] >= 1


def test_the_summaries_are_package_data():
    assert RESULTS == ROOT / "book_src" / "results"
    assert (RESULTS / "cnn1d.json").is_file()
    # pyproject.toml ships them in the wheel (so Colab's pip install has them).
    assert "results/*.json" in (ROOT / "pyproject.toml").read_text()


def test_format_prints_the_numbers_rounded():
    text = format_summary("cnn1d", SUMMARY)
    assert text.splitlines()[1:4] == [
        "parameters: 33,370",
        "test accuracy 96.41 %",
        "41.0 s per epoch on average",
    ]
    assert text.splitlines()[4] == (
        "epoch 1: train loss 0.4402, val loss 0.3000, val accuracy 91.50 %, 41.2 s"
    )


def test_the_printed_numbers_are_the_ones_nbval_sanitizes():
    # tests/nbval_sanitize.cfg replaces "loss 0.1234", "accuracy 96.42 %" and
    # "41.2 s": every machine-dependent number of the summary has that form.
    sanitizers = (ROOT / "tests" / "nbval_sanitize.cfg").read_text()
    patterns = [
        line.removeprefix("regex: ")
        for line in sanitizers.splitlines()
        if line.startswith("regex: ")
    ]
    text = format_summary("cnn1d", SUMMARY)
    for pattern in patterns:
        text = re.sub(pattern, "<sanitized>", text)
    assert not re.search(r"\d+\.\d", text), text


def test_missing_summary_says_where_it_looked(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no saved result 'cnn1d'.*cnn1d\.json"
    ):
        load_result("cnn1d", root=tmp_path)
