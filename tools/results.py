"""Copy the run summaries a chapter prints into ``book_src/results/``.

Chapter 3 prints a summary of its cnn1d run (``book_src.results.format_summary``).
This command reads it from the chapter's committed outputs, exactly as the reader
sees it, adds where the chapter ran (the notebook's execution metadata, written
by ``make notebooks``), and writes ``book_src/results/cnn1d.json``, which
chapters 4 and 6 read with ``load_result``. ``make notebooks`` runs it after
re-executing a chapter; ``--check`` only compares, for a test or CI.

Usage::

    python -m tools.results chapters/03_mnist_cnn1d.ipynb
    python -m tools.results --check chapters/03_mnist_cnn1d.ipynb
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Any

from book_src.files import write_atomic
from book_src.results import EPOCH_LINE, HEADER, QUICK, RESULTS

__all__ = ["main", "parse_summary", "result_path", "save_result", "summaries", "update"]

# The execution facts worth keeping beside a timing: where and when it ran.
MACHINE_KEYS = ("cpu", "cores", "threads", "gpu", "torch", "date")


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


_NUMBER = r"(-?\d+(?:\.\d+)?)"


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

    :func:`update` calls this with the summary that chapter 3's outputs show.
    The file is written whole or not at all (a temporary file in the same
    folder, then a rename).

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


def parse_summary(text: str) -> dict[str, dict[str, Any]]:
    """Read back every summary that ``format_summary`` printed in ``text``.

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
        re.escape(HEADER)
        .replace(name_field, r"(?P<name>[\w.-]+)", 1)
        .replace(name_field, r"(?P=name)")
    )
    epoch = re.compile(
        re.escape(EPOCH_LINE)
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
        if line.startswith(QUICK):
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


def _stdout(notebook: dict) -> str:
    parts = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream" and output["name"] == "stdout":
                parts.append("".join(output["text"]))
    return "".join(parts)


def summaries(path: Path) -> dict[str, dict[str, Any]]:
    """Every summary that the notebook at ``path`` prints, with its machine.

    Returns:
        ``{name: summary}`` as ``book_src/results/<name>.json`` must hold it;
        empty if the notebook prints none.

    Raises:
        ValueError: A summary comes from a QUICK run or is incomplete, or the
            notebook was not executed by ``make notebooks``.
    """
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    found = parse_summary(_stdout(notebook))
    if not found:
        return {}
    execution = notebook.get("metadata", {}).get("book_src", {}).get("execution")
    if not execution:
        raise ValueError(
            f"{path}: no execution metadata; re-execute it with `make notebooks`"
        )
    machine = {key: execution[key] for key in MACHINE_KEYS if key in execution}
    return {name: {**summary, "machine": machine} for name, summary in found.items()}


def update(
    path: Path, root: Path = RESULTS, check: bool = False
) -> list[tuple[Path, bool]]:
    """Write (or with ``check``, only compare) the summaries ``path`` prints.

    Returns:
        One ``(file, up_to_date)`` pair per summary: whether the file already
        held it. Without ``check``, every file holds it afterwards.
    """
    done = []
    for name, summary in summaries(path).items():
        target = result_path(name, root)
        try:
            current = json.loads(target.read_text(encoding="utf-8"))
        except FileNotFoundError:
            current = None
        up_to_date = current == summary
        if not check and not up_to_date:
            save_result(name, root=root, **summary)
        done.append((target, up_to_date))
    return done


def main(argv: list[str] | None = None) -> int:
    """Update the summaries of each notebook named; non-zero if one is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if a committed summary differs from the outputs",
    )
    parser.add_argument(
        "--out", type=Path, default=RESULTS, help="folder of summaries to write"
    )
    args = parser.parse_args(argv)
    stale = []
    for path in args.notebooks:
        try:
            results = update(path, args.out, check=args.check)
        except ValueError as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 1
        if not results:
            print(f"{path}: prints no summary (format_summary)", file=sys.stderr)
            return 1
        for target, up_to_date in results:
            if up_to_date:
                print(f"{target}: up to date with {path}")
            elif args.check:
                print(f"{target}: differs from {path}'s outputs", file=sys.stderr)
                stale.append(target)
            else:
                print(f"{target}: written from {path}")
    if stale:
        print(
            "run `python -m tools.results` on the notebook(s) to update them",
            file=sys.stderr,
        )
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
