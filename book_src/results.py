"""Chapter 3's cnn1d run, committed, so that chapters 4 and 6 never train it again."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["EPOCH_LINE", "HEADER", "QUICK", "RESULTS", "format_summary", "load_result"]

#: The committed summaries: ``book_src/results/<name>.json``.
RESULTS = Path(__file__).resolve().parent / "results"

#: The lines :func:`format_summary` prints (``tools.results`` reads them back).
HEADER = "summary of {name} (book_src/results/{name}.json holds exactly this):"
QUICK = "QUICK run, not the committed summary:"
EPOCH_LINE = (
    "epoch {epoch}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
    "val accuracy {val_accuracy:.2f} %, {epoch_seconds:.1f} s"
)


def load_result(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read the summary ``name`` (``"cnn1d"``) from ``root``, or :data:`RESULTS`."""
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
    """The lines chapter 3 prints about its run, in forms the nbval sanitizer knows.

    A ``quick`` run says so in its header, and ``tools.results`` refuses to commit it.
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
