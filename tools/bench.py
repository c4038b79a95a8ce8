"""``make bench``: time every implementation at full size, judge the targets, save.

``python -m tools.bench --out _build/bench`` runs the measurements chapter 6
makes (:mod:`book_src.timing`, :mod:`book_src.profiling`) at larger sizes and
with more rounds, then:

* judges each target (:data:`TARGETS`) on the median's confidence interval
  (:func:`median_interval`): met, missed, or inconclusive when the interval of
  the ratio straddles the bound; an inconclusive target gets extra rounds of its
  two implementations, within a time budget (:func:`extra_rounds`);
* optionally times one training epoch of each network (:func:`time_epochs`);
* prints the tables and writes into ``--out``: ``bench.csv`` (one row per
  measurement), ``bench.json`` (everything, with every raw timing, the verdicts
  and where the run took place) and the figures ``train_step.png``,
  ``scaling.png``, ``memory.png``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from book_src import models, plots, timing
from book_src.files import write_atomic
from book_src.training import default_device, make_loaders, set_seed, show_progress

__all__ = [
    "SLOW_IMPLEMENTATIONS",
    "TARGETS",
    "BenchConfig",
    "BenchResult",
    "EpochMeasurement",
    "Target",
    "Verdict",
    "build_model",
    "extra_rounds",
    "format_table",
    "format_verdicts",
    "judge",
    "main",
    "median_interval",
    "mnist_training_split",
    "run_benchmark",
    "save",
    "time_epochs",
    "train_step",
]

# The loops over positions: timed only up to BenchConfig.slow_max_size.
SLOW_IMPLEMENTATIONS = ("original", "loop", "unbind")


# --- Statistics and targets ---------------------------------------------------


def median_interval(samples: Sequence[float], confidence: float = 0.9) -> tuple:
    """A distribution-free confidence interval for the median of ``samples``.

    ``(x[j], x[n - 1 - j])`` of the sorted samples, with the largest ``j``
    for which the interval still holds the true median with probability at
    least ``confidence`` (each sample falls on either side of the median with
    probability 1/2, so the count below it is binomial). With 5 samples it
    is ``(min, max)`` (93.75 %); with 9, the second smallest and second
    largest (96 %). Fewer than 5 samples give ``(min, max)`` too, at less
    than ``confidence``.
    """
    xs = sorted(samples)
    n = len(xs)
    j = 0
    # P(the interval (x[j], x[n-1-j]) misses the median) = 2 P(Binomial(n, 1/2) <= j)
    while j + 1 < n - 1 - j:
        miss = 2 * sum(math.comb(n, i) for i in range(j + 2)) / 2**n
        if 1 - miss < confidence:
            break
        j += 1
    return xs[j], xs[n - 1 - j]


@dataclass(frozen=True)
class Target:
    """A bound on the ratio of two median times measured in the same run.

    ``time(implementation) / time(reference)`` must be at most ``bound``
    (``at_most``) or at least ``bound``.
    """

    benchmark: str
    case: str
    implementation: str
    reference: str
    bound: float
    at_most: bool
    why: str = ""


# The targets, set for a shared 2-core CPU (one PyTorch thread).
TARGETS: tuple[Target, ...] = (
    Target("layer", "Conv1D L=2048", "loop", "unbind", 2.5, False, "(b) 2.5x faster"),
    Target("train step", "cnn1d", "im2col", "torch.nn", 1.15, True),
    Target("train step", "cnn2d", "im2col", "torch.nn", 1.8, True),
    Target("layer", "Conv1D L=1024", "taps", "im2col", 2.0, True, "(c) within 2x"),
)


@dataclass
class Verdict:
    """How one target fared: its median ratio, the ratio's interval, the call.

    ``verdict`` is ``"met"`` when the whole interval is on the right side of
    the bound, ``"missed"`` when it is all on the wrong side, and
    ``"inconclusive"`` when it straddles the bound: the noise decides.
    """

    target: Target
    ratio: float
    low: float
    high: float
    verdict: str


def judge(
    target: Target, seconds: Sequence[float], reference: Sequence[float]
) -> Verdict:
    """Judge ``target`` from the samples of its two implementations.

    The median ratio is ``median(seconds) / median(reference)``. Its interval
    runs from the fastest plausible numerator over the slowest plausible
    denominator to the reverse, each taken from :func:`median_interval`:
    both spreads are in it.
    """
    top_lo, top_hi = median_interval(seconds)
    bottom_lo, bottom_hi = median_interval(reference)
    ratio = statistics.median(seconds) / statistics.median(reference)
    low, high = top_lo / bottom_hi, top_hi / bottom_lo
    good = (
        (lambda r: r <= target.bound)
        if target.at_most
        else (lambda r: r >= target.bound)
    )
    if good(low) and good(high):
        verdict = "met"
    elif not good(low) and not good(high):
        verdict = "missed"
    else:
        verdict = "inconclusive"
    return Verdict(target, ratio, low, high, verdict)


@dataclass
class BenchConfig:
    """What to time, and how often.

    Attributes:
        implementations: which of ``timing.IMPLEMENTATIONS`` to time.
        models: networks for the training-step and epoch benchmarks.
        batch_size: samples per batch everywhere.
        repeats: interleaved rounds of every timing, at least.
        max_repeats: more rounds, up to this many, for the cases of a target
            that is still inconclusive (only the target's implementations are
            timed again); ``repeats`` or less: never more.
        extra_seconds: at most this long, in all, for those extra rounds.
        min_seconds: each timed sample runs the step or call enough times to
            last at least this long (one run if a single one is longer).
        layer_channels: ``(in, out)`` channels of the single-layer benchmark
            (kernel 3, padding 1, stride 1).
        lengths_1d: input lengths of the 1D layer benchmark.
        sides_2d: image sides of the 2D layer benchmark.
        slow_max_size: ``(1D, 2D)``: the position loops (``original``,
            ``loop``, ``unbind``) are timed up to this length and side only.
        memory_lengths_1d: input lengths of the peak-memory measurement.
        memory_sides_2d: image sides of the peak-memory measurement.
        targets: the targets to judge (those measured by this configuration).
        epoch: time one training epoch of each model.
        epoch_batches: batches per timed epoch (None: the 750 of a full epoch).
        loop_epoch_batches: at most this many for the position loops, whose
            full epochs take minutes (their time is scaled to a full epoch,
            and the table says so); None times their full epochs too.
        device: ``"cpu"``, ``"cuda"``; None picks CUDA when present.
    """

    implementations: tuple[str, ...] = timing.IMPLEMENTATIONS
    models: tuple[str, ...] = ("cnn1d", "cnn2d")
    batch_size: int = 64
    repeats: int = 5
    max_repeats: int = 15
    extra_seconds: float = 60.0
    min_seconds: float = 0.2
    layer_channels: tuple[int, int] = (16, 32)
    lengths_1d: tuple[int, ...] = (256, 512, 1024, 2048)
    sides_2d: tuple[int, ...] = (8, 16, 32, 64)
    slow_max_size: tuple[int, int] = (2048, 32)
    memory_lengths_1d: tuple[int, ...] = (256, 1024, 4096)
    memory_sides_2d: tuple[int, ...] = (16, 32, 64)
    targets: tuple[Target, ...] = TARGETS
    epoch: bool = False
    epoch_batches: int | None = None
    loop_epoch_batches: int | None = 250
    device: str | None = None


# --- The whole benchmark ------------------------------------------------------


@dataclass
class BenchResult:
    """Every measurement of one run, its configuration, and how long it took."""

    timings: timing.Timings
    config: BenchConfig
    seconds: float = 0.0
    torch_version: str = torch.__version__

    def verdicts(self) -> list[Verdict]:
        """Judge every target this run measured (:func:`judge`)."""
        return verdicts(self.timings, self.config.targets)

    def rows(self) -> list[dict[str, Any]]:
        """One flat record per measurement, with the ratios of the table."""
        ratio = self.timings.ratio
        return [
            {
                "benchmark": m.benchmark,
                "case": m.case,
                "size": m.size,
                "implementation": m.implementation,
                "min_ms": round(1000 * m.min, 4),
                "median_ms": round(1000 * m.median, 4),
                "max_ms": round(1000 * m.max, 4),
                "repeats": len(m.seconds),
                # how many times torch.nn's time this one takes
                "time_over_torch_nn": _round(ratio(m, None, "torch.nn")),
                # how many times faster than the book's loop layers
                "loop_time_over_time": _round(ratio(m, "loop", None)),
                "note": m.note if isinstance(m, EpochMeasurement) else "",
            }
            for m in self.timings.measurements
        ]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: settings, rows, verdicts and every raw timing."""
        return {
            "device": self.timings.device,
            "threads": self.timings.threads,
            "torch": self.torch_version,
            "total_seconds": round(self.seconds, 1),
            "config": dataclasses.asdict(self.config),
            "rows": self.rows(),
            "verdicts": [
                {
                    **dataclasses.asdict(v.target),
                    "ratio": round(v.ratio, 3),
                    "low": round(v.low, 3),
                    "high": round(v.high, 3),
                    "verdict": v.verdict,
                }
                for v in self.verdicts()
            ],
            "peak_bytes": self.timings.memory,
            "measurements": [dataclasses.asdict(m) for m in self.timings.measurements],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def verdicts(timings: timing.Timings, targets: Iterable[Target]) -> list[Verdict]:
    """Judge every target whose two implementations ``timings`` measured."""
    found = []
    for t in targets:
        try:
            top = timings.find(t.benchmark, t.case, t.implementation)
            bottom = timings.find(t.benchmark, t.case, t.reference)
        except KeyError:
            continue
        found.append(judge(t, top.seconds, bottom.seconds))
    return found


Rerun = Callable[[timing.Measurement, list[str]], list[timing.Measurement]]


def extra_rounds(
    timings: timing.Timings,
    targets: Sequence[Target],
    rerun: Rerun,
    max_repeats: int,
    deadline: float,
) -> None:
    """Time the implementations of inconclusive targets again, a round at a time.

    Each round, for every case with an inconclusive target, ``rerun(m, names)``
    times the implementations ``names`` of ``m``'s case once more, taking turns,
    and the new samples join ``timings``' measurements. It stops when every
    target is decided, when a target's implementations have ``max_repeats``
    samples, or at ``deadline`` (a ``time.perf_counter()`` value).
    """
    while time.perf_counter() < deadline:
        by_case: dict[tuple[str, str], list[str]] = {}
        for v in verdicts(timings, targets):
            t = v.target
            samples = timings.find(t.benchmark, t.case, t.implementation).seconds
            if v.verdict == "inconclusive" and len(samples) < max_repeats:
                names = by_case.setdefault((t.benchmark, t.case), [])
                names += [n for n in (t.implementation, t.reference) if n not in names]
        if not by_case:
            return
        for (benchmark, case), names in by_case.items():
            for m in rerun(timings.find(benchmark, case, names[0]), names):
                timings.find(m.benchmark, m.case, m.implementation).seconds += m.seconds


def run_benchmark(
    config: BenchConfig | None = None,
    epoch_data: tuple[Tensor, Tensor] | None = None,
    progress: bool | None = None,
) -> BenchResult:
    """Run every benchmark of ``config`` and collect the measurements.

    Args:
        config: what to time; the full benchmark by default.
        epoch_data: ``(images, labels)`` for the epoch benchmark; MNIST's
            training split (48,000 images) is loaded when None and needed.
        progress: show progress bars; default from ``BOOK_SRC_PROGRESS``.
    """
    config = config or BenchConfig()
    device = torch.device(config.device) if config.device else default_device()
    start = time.perf_counter()
    impls = config.implementations
    common = dict(device=device, progress=progress)
    layer = dict(
        channels=config.layer_channels,
        batch_size=config.batch_size,
        min_seconds=config.min_seconds,
        **common,
    )
    timings = timing.Timings(
        [],
        device=str(device),
        batch_size=config.batch_size,
        channels=config.layer_channels,
    )
    if config.models:
        timings.measurements += timing.time_train_steps(
            config.models,
            impls,
            config.batch_size,
            config.repeats,
            config.min_seconds,
            **common,
        )
    for ndim, sizes in ((1, config.lengths_1d), (2, config.sides_2d)):
        for size in sizes:  # the position loops up to slow_max_size only
            slow_max = config.slow_max_size[ndim - 1]
            timed = [
                i for i in impls if i not in SLOW_IMPLEMENTATIONS or size <= slow_max
            ]
            timings.measurements += timing.time_layers(
                ndim, [size], timed, repeats=config.repeats, **layer
            )

    def rerun(m: timing.Measurement, names: list[str]) -> list[timing.Measurement]:
        if m.benchmark == "train step":
            return timing.time_train_steps(
                [m.case],
                names,
                config.batch_size,
                1,
                config.min_seconds,
                **{**common, "progress": False},
            )
        ndim = 1 if m.case.startswith("Conv1D") else 2
        return timing.time_layers(
            ndim, [m.size], names, repeats=1, **{**layer, "progress": False}
        )

    # Extra rounds for inconclusive targets share one time budget.
    extra_rounds(
        timings, config.targets, rerun, config.max_repeats, start + config.extra_seconds
    )
    if device.type == "cpu":
        memory_impls = [i for i in impls if i not in SLOW_IMPLEMENTATIONS]
        for ndim, sizes in ((1, config.memory_lengths_1d), (2, config.memory_sides_2d)):
            if sizes and memory_impls:
                timings.memory[f"Conv{ndim}D"] = timing.peak_memories(
                    ndim, sizes, memory_impls, config.batch_size, config.layer_channels
                )
    if config.epoch and config.models:
        if epoch_data is None:
            epoch_data = mnist_training_split()
        images, labels = epoch_data
        timings.measurements += time_epochs(
            config.models,
            images,
            labels,
            impls,
            config.batch_size,
            config.epoch_batches,
            config.loop_epoch_batches,
            **common,
        )
    return BenchResult(timings, config, time.perf_counter() - start)


@dataclass
class EpochMeasurement(timing.Measurement):
    """The seconds of one epoch, and a note on how they were obtained."""

    note: str = ""


def build_model(name: str, implementation: str) -> nn.Module:
    """``cnn1d`` or ``cnn2d`` built on ``implementation``'s convolution."""
    set_seed(0)
    conv = timing.conv_class(implementation, 1 if name == "cnn1d" else 2)
    return {"cnn1d": models.cnn1d, "cnn2d": models.cnn2d}[name](conv=conv)


def train_step(model: nn.Module) -> Callable[[Tensor, Tensor], Tensor]:
    """A function doing one training step (Adam, cross-entropy) of ``model``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(images: Tensor, labels: Tensor) -> Tensor:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def time_epochs(
    model_names: Iterable[str],
    images: Tensor,
    labels: Tensor,
    implementations: Sequence[str] = timing.IMPLEMENTATIONS,
    batch_size: int = 64,
    max_batches: int | None = None,
    loop_max_batches: int | None = None,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> list[EpochMeasurement]:
    """Seconds per training epoch of each network, once per implementation.

    The data is held in memory (on ``device``) and shuffled once (seed 0),
    so only the model's work is timed: forward, loss, backward and Adam step,
    with ``loss.item()`` every batch as ``book_src.training.fit`` does.

    An implementation timed on fewer batches than a full epoch gets its time
    scaled up to the full epoch (a loop step costs the same on every batch),
    and its measurement's note says so.

    Args:
        model_names: ``"cnn1d"`` and/or ``"cnn2d"``.
        images: ``(samples, 1, 28, 28)`` MNIST images in [0, 1]; cnn1d sees
            them flattened to ``(1, 784)``.
        labels: ``(samples,)`` class labels.
        implementations: which of ``timing.IMPLEMENTATIONS`` to time.
        batch_size: images per step; a last incomplete batch is dropped.
        max_batches: time at most this many batches (None: a full epoch).
        loop_max_batches: at most this many for the position loops
            (:data:`SLOW_IMPLEMENTATIONS`; None: as many as the others).
        device: where to run.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
    """
    device = torch.device(device)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    images, labels = images[order].to(device), labels[order].to(device)
    full = len(images) // batch_size
    measurements = []
    show = show_progress(progress)
    for name in model_names:
        x = images.reshape(len(images), *timing.INPUT_SHAPES[name])
        for impl in implementations:
            batches = min(full, max_batches or full)
            if impl in SLOW_IMPLEMENTATIONS:
                batches = min(batches, loop_max_batches or full)
            step = train_step(build_model(name, impl).to(device))
            start = timing.clock(device)
            for b in tqdm(
                range(batches),
                desc=f"epoch {name} {impl}",
                disable=not show,
                file=sys.stderr,
            ):
                batch = slice(b * batch_size, (b + 1) * batch_size)
                step(x[batch], labels[batch]).item()
            seconds = timing.clock(device) - start
            if batches == full:
                note = f"full epoch: {full} batches"
            else:
                seconds *= full / batches
                note = (
                    f"estimated: first {batches} of {full} batches timed, "
                    "scaled to a full epoch"
                )
            measurements.append(
                EpochMeasurement("epoch", name, 0, impl, [seconds], note)
            )
    return measurements


def mnist_training_split(seed: int = 0) -> tuple[Tensor, Tensor]:
    """The 48,000 training images of ``make_loaders``'s split, as tensors.

    Returns ``(images (48000, 1, 28, 28) in [0, 1], labels (48000,))``: the
    training part of :func:`book_src.training.make_loaders` with ``seed``.
    """
    from book_src.data import mnist

    dataset = mnist(train=True)
    train = make_loaders(dataset, dataset, seed=seed).train.dataset
    index = torch.tensor(train.indices)
    return dataset.images[index], dataset.labels[index]


# --- Reporting and the command line -------------------------------------------


# The widths of the number columns of timing.format_table, min to loop / median.
WIDTHS = (9, 9, 9, 2, 17, 13)


def format_table(timings: timing.Timings) -> str:
    """:func:`book_src.timing.format_table` in columns, closed by the epochs' notes."""
    lines = []
    for line in timing.format_table(timings).splitlines():
        cells = line.split(" | ")
        if len(cells) == 2 + len(WIDTHS):  # a row: case, implementation, numbers
            numbers = [f"{c:>{w}}" for c, w in zip(cells[2:], WIDTHS)]
            line = " | ".join(cells[:2] + numbers)
        lines.append(line)
    notes: dict[str, list[str]] = {}
    for m in timings.measurements:
        if isinstance(m, EpochMeasurement) and m.note:
            if m.implementation not in notes.setdefault(m.note, []):
                notes[m.note].append(m.implementation)
    lines += [f"({', '.join(impls)}: {note})" for note, impls in notes.items()]
    return "\n".join(lines)


def format_verdicts(result: BenchResult) -> str:
    """Each target the run measured: median ratio, its interval, and the verdict."""
    lines = ["Targets (median ratios in this run; the interval holds both spreads):"]
    if result.timings.device != "cpu":
        lines.append(
            f"  (these targets were set for a 2-core CPU; on {result.timings.device} "
            "they are for comparison only)"
        )
    for v in result.verdicts():
        t = v.target
        sign = "<=" if t.at_most else ">="
        lines.append(
            f"  {t.benchmark}, {t.case}: {t.implementation} / {t.reference} = "
            f"{v.ratio:.2f}x (interval {v.low:.2f}x to {v.high:.2f}x; target "
            f"{sign} {t.bound}x): {v.verdict}"
        )
    return "\n".join(lines)


def save(result: BenchResult, out: str | Path) -> tuple[Path, Path]:
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


def save_figures(result: BenchResult, out: Path) -> list[Path]:
    """Draw the figures the run has data for into ``out``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {
        "train_step.png": plots.plot_step_times,
        "scaling.png": plots.plot_scaling,
    }
    if result.timings.memory:
        figures["memory.png"] = plots.plot_memory
    paths = []
    for name, plot in figures.items():
        fig = plot(result.timings)
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
        default=BenchConfig.repeats,
        help="interleaved rounds of every timing, at least",
    )
    parser.add_argument(
        "--max-repeats",
        type=int,
        default=BenchConfig.max_repeats,
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
    config = BenchConfig(
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
    result = run_benchmark(config)
    print(format_table(result.timings))
    print()
    print(format_verdicts(result))
    csv_path, json_path = save(result, args.out)
    save_figures(result, args.out)
    print(
        f"\nSaved {csv_path}, {json_path} and the figures in {args.out}/ "
        f"(whole run: {result.seconds:.0f} s on {result.timings.device}, "
        f"{result.timings.threads} thread{'s' if result.timings.threads != 1 else ''}, "
        f"PyTorch {result.torch_version})."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
