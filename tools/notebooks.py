"""Re-execute the chapters in place, as nbval runs them: ``make notebooks``.

Each notebook runs top to bottom in a fresh kernel of the current environment,
with the chapter's folder as working directory. Cell timings are kept in each
cell's metadata, and the notebook's metadata records where it ran
(``metadata["book_src"]["execution"]``), which the book's execution-statistics
page shows. A notebook whose run fails is left untouched on disk.

Usage: ``python -m tools.notebooks chapters/01_conv1d_loop.ipynb ...``
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from book_src.files import write_atomic

__all__ = ["execute", "machine_description", "main"]


def machine_description() -> dict[str, str | int]:
    """Where the notebooks run: CPU model, thread count, Python and torch versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count() or 0,
        "threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none",
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def execute(path: Path, timeout: int = 1800) -> float:
    """Run the notebook at ``path`` and save it with its new outputs.

    Returns the run time in seconds. Raises ``CellExecutionError`` (leaving the
    file as it was) when a cell fails.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=True,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata["book_src"] = {
        "execution": {
            **machine_description(),
            "date": datetime.date.today().isoformat(),
            "seconds": round(seconds, 1),
        }
    }
    # Whole or not at all: an interrupted save loses nothing. The final newline
    # is the one nbformat.write adds, so the file is byte for byte the same.
    text = nbformat.writes(nb)
    if not text.endswith("\n"):
        text += "\n"
    write_atomic(path, text.encode("utf-8"))
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Execute each notebook named on the command line; non-zero if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    args = parser.parse_args(argv)
    failed = []
    for path in args.notebooks:
        print(f"running {path} ...", flush=True)
        try:
            seconds = execute(path, args.timeout)
        except CellExecutionError as error:
            print(f"FAILED {path} (left unchanged):\n{error}", file=sys.stderr)
            failed.append(path)
        else:
            print(f"  done in {seconds:.0f} s", flush=True)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {', '.join(map(str, failed))}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
