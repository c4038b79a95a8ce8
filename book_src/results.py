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
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from book_src.data import write_atomic

__all__ = [
    "RESULTS",
    "format_summary",
    "load_result",
    "parse_summary",
    "result_path",
    "save_result",
]

RESULTS = Path(__file__).resolve().parent / "results"
"""The committed summaries: ``book_src/results/<name>.json``."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def result_path(name: str, root: str | Path | None = None) -> Path:
    """Where the summary called ``name`` is stored.

    Args:
        name: A plain file name without extension, such as ``"cnn1d"``.
        root: The folder of summaries; :data:`RESULTS` (the committed ones)
            if ``None``.

    Returns:
        ``<root>/<name>.json``.

    Raises:
        ValueError: ``name`` is empty or holds a path separator.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"result name must be letters, digits, '_', '-' or '.' (no folders), "
            f"got {name!r}"
        )
    root = RESULTS if root is None else Path(root)
    return root / f"{name}.json"


def _plain(value: Any) -> Any:
    """JSON's default hook: dataclasses (such as ``History``) become dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(
        f"cannot save a {type(value).__name__} in a result summary: use numbers, "
        "strings, lists, dicts or dataclasses of them"
    )


def save_result(name: str, *, root: str | Path | None = None, **fields: Any) -> Path:
    """Save ``fields`` as the JSON summary ``name``, replacing any older one.

    Chapters do not call this: ``python -m tools.results`` does, with the
    summary that chapter 3's outputs show. The file is written whole or not at
    all (a temporary file in the same folder, then a rename).

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        root: The folder of summaries; :data:`RESULTS` if ``None``.
        **fields: JSON values, or dataclasses of them (saved as dicts).

    Returns:
        The path written.

    Raises:
        TypeError: A field cannot be written as JSON.
        ValueError: A field is NaN or infinite, or the name is not plain.
    """
    path = result_path(name, root)
    # Serialise first: a field that cannot be saved leaves no file behind.
    text = json.dumps(fields, default=_plain, allow_nan=False, indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))
    return path


def load_result(name: str, root: str | Path | None = None) -> dict[str, Any]:
    """Read the committed summary ``name`` (chapters 4 and 6 read ``"cnn1d"``).

    Args:
        name: The summary's name, e.g. ``"cnn1d"``.
        root: The folder of summaries; :data:`RESULTS` if ``None``.

    Returns:
        The saved fields (dataclasses come back as dicts). ``"cnn1d"`` holds
        ``parameters``, ``test_accuracy`` (percent), ``seconds_per_epoch``,
        ``history`` (the fields of ``book_src.training.History``) and
        ``machine`` (where chapter 3 ran).

    Raises:
        FileNotFoundError: No summary of that name; the message says where it
            was looked for.
    """
    path = result_path(name, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no saved result {name!r}: {path} does not exist (summaries are "
            "committed with the course; `python -m tools.results` writes them from "
            "the chapter that computes them)"
        ) from None
    return json.loads(text)


# --------------------------------------------------------------------------
# The summary as chapter 3 prints it, and back
# --------------------------------------------------------------------------

_HEADER = "summary of {name} (book_src/results/{name}.json holds exactly this):"
_QUICK = "QUICK run, not the committed summary:"
_EPOCH = (
    "epoch {epoch}: train loss {train_loss:.4f}, val loss {val_loss:.4f}, "
    "val accuracy {val_accuracy:.2f} %, {epoch_seconds:.1f} s"
)
_NUMBER = r"(-?\d+(?:\.\d+)?)"


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
            so, and :func:`parse_summary` refuses it.

    Returns:
        The text, one line per fact and one per epoch.
    """
    history = summary["history"]
    if dataclasses.is_dataclass(history):
        history = dataclasses.asdict(history)
    header = _HEADER.format(name=name)
    lines = [f"{_QUICK} {header}" if quick else header]
    lines.append(f"parameters: {summary['parameters']:,}")
    lines.append(f"test accuracy {summary['test_accuracy']:.2f} %")
    lines.append(f"{summary['seconds_per_epoch']:.1f} s per epoch on average")
    columns = ["train_loss", "val_loss", "val_accuracy", "epoch_seconds"]
    for epoch, values in enumerate(zip(*(history[c] for c in columns)), 1):
        lines.append(_EPOCH.format(epoch=epoch, **dict(zip(columns, values))))
    return "\n".join(lines)


def parse_summary(text: str) -> dict[str, dict[str, Any]]:
    """Read back every summary that :func:`format_summary` printed in ``text``.

    Returns:
        ``{name: summary}``, each summary holding the numbers exactly as
        printed (so the JSON file equals what the reader sees).

    Raises:
        ValueError: A summary is from a ``QUICK`` run, is incomplete, or
            appears twice.
    """
    found: dict[str, dict[str, Any]] = {}
    lines = text.splitlines()
    name_field = re.escape("{name}")
    header = re.compile(
        re.escape(_HEADER)
        .replace(name_field, r"(?P<name>[\w.-]+)", 1)
        .replace(name_field, r"(?P=name)")
    )
    epoch = re.compile(
        re.escape(_EPOCH)
        .replace(re.escape("{epoch}"), r"(\d+)")
        .replace(re.escape("{train_loss:.4f}"), _NUMBER)
        .replace(re.escape("{val_loss:.4f}"), _NUMBER)
        .replace(re.escape("{val_accuracy:.2f}"), _NUMBER)
        .replace(re.escape("{epoch_seconds:.1f}"), _NUMBER)
    )
    for k, line in enumerate(lines):
        match = header.search(line)
        if not match:
            continue
        name = match["name"]
        if line.startswith(_QUICK):
            raise ValueError(
                f"the summary of {name!r} comes from a QUICK run: set QUICK = False "
                "and re-execute the chapter before committing its summary"
            )
        if name in found:
            raise ValueError(f"the summary of {name!r} appears twice")
        try:
            parameters = re.fullmatch(r"parameters: ([\d,]+)", lines[k + 1])
            accuracy = re.fullmatch(rf"test accuracy {_NUMBER} %", lines[k + 2])
            seconds = re.fullmatch(rf"{_NUMBER} s per epoch on average", lines[k + 3])
            if not (parameters and accuracy and seconds):
                raise IndexError
        except IndexError:
            raise ValueError(
                f"the summary of {name!r} is incomplete: expected the parameters, "
                "the test accuracy and the seconds per epoch after its header"
            ) from None
        history: dict[str, list[float]] = {
            "train_loss": [],
            "val_loss": [],
            "val_accuracy": [],
            "epoch_seconds": [],
        }
        for line in lines[k + 4 :]:
            row = epoch.fullmatch(line)
            if not row or int(row[1]) != len(history["train_loss"]) + 1:
                break
            for column, value in zip(history, row.groups()[1:]):
                history[column].append(float(value))
        if not history["train_loss"]:
            raise ValueError(f"the summary of {name!r} has no epochs")
        found[name] = {
            "parameters": int(parameters[1].replace(",", "")),
            "test_accuracy": float(accuracy[1]),
            "seconds_per_epoch": float(seconds[1]),
            "history": history,
        }
    return found
