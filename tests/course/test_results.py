"""book_src.results: summaries round-trip as JSON, written whole or not at all."""

from __future__ import annotations

import math

import pytest

from book_src.results import load_result, result_path, save_result
from book_src.training import History


def test_round_trip_with_a_history(tmp_path):
    history = History(
        train_loss=[0.4, 0.2],
        val_loss=[0.3, 0.25],
        val_accuracy=[91.5, 93.25],
        epoch_seconds=[41.2, 40.8],
    )
    path = save_result(
        "cnn1d",
        root=tmp_path,
        parameters=33_370,
        test_accuracy=96.41,
        history=history,
    )
    assert path == tmp_path / "results" / "cnn1d.json"
    loaded = load_result("cnn1d", root=tmp_path)
    assert loaded["parameters"] == 33_370
    assert loaded["test_accuracy"] == 96.41
    assert History(**loaded["history"]) == history


def test_save_replaces_and_leaves_no_temporary_file(tmp_path):
    save_result("run", root=tmp_path, value=1)
    save_result("run", root=tmp_path, value=2)
    assert load_result("run", root=tmp_path) == {"value": 2}
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["run.json"]


@pytest.mark.parametrize("bad", [object(), math.nan])
def test_unsavable_field_keeps_the_old_summary(tmp_path, bad):
    save_result("run", root=tmp_path, value=1)
    with pytest.raises((TypeError, ValueError)):
        save_result("run", root=tmp_path, value=bad)
    assert load_result("run", root=tmp_path) == {"value": 1}
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["run.json"]


def test_missing_summary_says_where_it_looked(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"no saved result 'cnn1d'.*cnn1d\.json"
    ):
        load_result("cnn1d", root=tmp_path)


@pytest.mark.parametrize("name", ["", "../cnn1d", "a/b", ".hidden", 3])
def test_names_cannot_escape_the_results_folder(tmp_path, name):
    with pytest.raises(ValueError, match="result name"):
        result_path(name, root=tmp_path)


def test_default_root_is_the_repository_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("BOOK_SRC_DATA", str(tmp_path))
    assert result_path("cnn1d") == tmp_path / "results" / "cnn1d.json"
