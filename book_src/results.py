"""Chapter 3's cnn1d run, committed with the course, for chapters 4 and 6.

Chapter 3 trains cnn1d and prints a summary of its run with
:func:`format_summary`: parameters, test accuracy, seconds per epoch and the
training history. That printed summary is copied, as it stands in chapter 3's
committed outputs, into ``book_src/results/cnn1d.json`` (by
``python -m tools.results``, which ``make notebooks`` runs after re-executing
the chapter), and a test checks that the two agree. Chapters 4 and 6 read the
file with :func:`load_result`: they never train cnn1d again, and they run
alone, in any order, without a file that another chapter writes at run time.

The JSON files are package data, so ``pip install`` of ``book_src`` (as in
Colab) carries them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EPOCH_LINE", "HEADER", "QUICK", "RESULTS", "format_summary", "load_result"]

RESULTS = Path(__file__).resolve().parent / "results"
"""The committed summaries: ``book_src/results/<name>.json``."""

#: The lines :func:`format_summary` prints (``tools.results`` reads them back).
HEADER = "summary of {name} (book_src/results/{name}.json holds exactly this):"
QUICK = "QUICK run, not the committed summary:"
EPOCH_LINE = (
    "epoch {epoch}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
    "val accuracy {val_accuracy:.2f} %, {epoch_seconds:.1f} s"
)


def load_result(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read the committed summary ``name`` (chapters 4 and 6 read ``"cnn1d"``).

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        root: The folder of summaries; :data:`RESULTS` if ``None``.

    Returns:
        The saved fields. ``"cnn1d"`` holds ``parameters``, ``test_accuracy``
        (percent), ``seconds_per_epoch``, ``history`` (the fields of
        ``book_src.training.History``) and ``machine`` (where chapter 3 ran).

    Raises:
        FileNotFoundError: No summary of that name; the message says where it
            was looked for.
    """
    path = (RESULTS if root is None else Path(root)) / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved result {name!r}: {path} does not exist (summaries are "
            "committed with the course; `python -m tools.results` writes them from "
            "the chapter that computes them)"
        ) from None
    return json.loads(text)


def format_summary(
    name: str, summary: Mapping[str, Any], *, quick: bool = False
) -> str:
    """The lines chapter 3 prints about its run, rounded as printed.

    Every number appears in a form the nbval sanitizer recognises (``loss
    0.1234``, ``accuracy 96.42 %``, ``81.4 s``), so the chapter's outputs
    compare equal on a machine whose numbers differ slightly.

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        summary: ``parameters`` (int), ``test_accuracy`` (percent),
            ``seconds_per_epoch`` and ``history`` (a ``History`` or its dict).
        quick: The run used the chapter's ``QUICK`` setting: the header says
            so, and ``tools.results`` refuses to commit it.

    Returns:
        The text, one line per fact and one per epoch.
    """
    history = summary["history"]
    if dataclasses.is_dataclass(history):
        history = dataclasses.asdict(history)
    header = HEADER.format(name=name)
    lines = [f"{QUICK} {header}" if quick else header]
    lines.append(f"parameters: {summary['parameters']:,}")
    lines.append(f"test accuracy {summary['test_accuracy']:.2f} %")
    lines.append(f"{summary['seconds_per_epoch']:.1f} s per epoch on average")
    columns = ["train_loss", "val_loss", "val_accuracy", "epoch_seconds"]
    for epoch, values in enumerate(zip(*(history[c] for c in columns)), 1):
        lines.append(EPOCH_LINE.format(epoch=epoch, **dict(zip(columns, values))))
    return "\n".join(lines)
