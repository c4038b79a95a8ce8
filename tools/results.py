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
import json
import sys
from pathlib import Path
from typing import Any

from book_src.results import RESULTS, parse_summary, result_path, save_result

__all__ = ["main", "summaries", "update"]

# The execution facts worth keeping beside a timing: where and when it ran.
MACHINE_KEYS = ("cpu", "cores", "threads", "gpu", "torch", "date")


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
