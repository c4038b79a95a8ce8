"""``make bench``: time every implementation at full size and save the results.

``python -m tools.bench --out _build/bench`` runs :func:`book_src.bench.run_benchmark`
(the measurement functions chapter 6 calls, at larger sizes and with more
repeats), prints the tables with min, median and max per case, judges the
targets (met, missed or inconclusive), and writes into ``--out``:

* ``bench.csv``: one row per measurement;
* ``bench.json``: everything, with every raw timing, the verdicts and where
  the run took place (device, threads, PyTorch version);
* ``train_step.png``, ``scaling.png``, ``memory.png``: the figures.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
from pathlib import Path

import torch

from book_src import bench
from book_src.data import write_atomic

__all__ = ["main", "save"]


def save(result: bench.BenchResult, out: str | Path) -> tuple[Path, Path]:
    """Write ``bench.csv`` (the rows) and ``bench.json`` (everything) in ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = result.rows()
    csv_path, json_path = out / "bench.csv", out / "bench.json"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["case"])
        writer.writeheader()
        writer.writerows(rows)
    text = json.dumps(result.to_dict(), indent=2) + "\n"
    write_atomic(json_path, text.encode("utf-8"))
    return csv_path, json_path


def save_figures(result: bench.BenchResult, out: Path) -> list[Path]:
    """Draw the figures the run has data for into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {
        "train_step.png": bench.plot_step_times,
        "scaling.png": bench.plot_scaling,
    }
    if result.memory:
        figures["memory.png"] = bench.plot_memory
    paths = []
    for name, plot in figures.items():
        fig = plot(result)
        fig.savefig(out / name, dpi=120)
        plt.close(fig)
        paths.append(out / name)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m tools.bench [--out DIR] [--quick] ...``.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` if None.

    Returns:
        The exit status, 0 (a missed target is reported, not an error: the
        numbers depend on the machine).
    """
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Time the loop, unbind, taps, im2col and torch.nn convolutions; "
        "print min / median / max and the targets' verdicts; save CSV, JSON and "
        "figures.",
    )
    parser.add_argument("--out", type=Path, default=Path("_build/bench"))
    parser.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for PyTorch (default 1: on a shared machine, an operation "
        "split over two threads waits for the slower one, and the loops' thousands "
        "of tiny operations then measure the waiting, not the work)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=bench.BenchConfig.repeats,
        help="interleaved rounds of every timing, at least",
    )
    parser.add_argument(
        "--max-repeats",
        type=int,
        default=bench.BenchConfig.max_repeats,
        help="rounds, at most, while a target is inconclusive",
    )
    parser.add_argument(
        "--epochs",
        action="store_true",
        help="also time one training epoch of each network (adds minutes)",
    )
    parser.add_argument(
        "--epoch-batches",
        type=int,
        default=None,
        help="with --epochs: time at most this many batches (default: all 750)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: small sizes, 2 repeats"
    )
    args = parser.parse_args(argv)
    config = bench.BenchConfig(
        repeats=args.repeats,
        max_repeats=args.max_repeats,
        epoch=args.epochs,
        epoch_batches=args.epoch_batches,
        device=args.device,
    )
    if args.quick:
        config = dataclasses.replace(
            config,
            repeats=2,
            max_repeats=2,
            min_seconds=0.05,
            lengths_1d=(64, 256),
            sides_2d=(8, 16),
            memory_lengths_1d=(64, 256),
            memory_sides_2d=(8, 16),
            epoch_batches=args.epoch_batches or 20,
        )
    torch.set_num_threads(args.threads)
    result = bench.run_benchmark(config)
    print(bench.format_table(result, align=True))
    print()
    print(bench.format_verdicts(result))
    csv_path, json_path = save(result, args.out)
    save_figures(result, args.out)
    print(
        f"\nSaved {csv_path}, {json_path} and the figures in {args.out}/ "
        f"(whole run: {result.seconds:.0f} s on {result.device}, "
        f"{result.threads} thread{'s' if result.threads != 1 else ''}, "
        f"PyTorch {result.torch_version})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
