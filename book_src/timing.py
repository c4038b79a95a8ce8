"""Timing the rungs of chapter 6's ladder, and drawing what was measured (chapter 6).

The implementations of one convolution (:data:`IMPLEMENTATIONS`):

* ``original``: the original course's loop, kept as a timing baseline only
  (:class:`OriginalConv1D`, :class:`OriginalConv2D`);
* ``loop`` (a): this book's loop layers, :mod:`book_src.layers`;
* ``unbind`` (b) and ``taps`` (c): :mod:`book_src.ladder`;
* ``im2col`` (d): :mod:`book_src.vectorized`;
* ``torch.nn`` (e): PyTorch's own ``nn.Conv1d`` and ``nn.Conv2d``.

How it times: every function runs once before it is timed; each sample repeats
it until ``min_seconds`` have passed; the implementations take turns, round
after round, so that a slow moment of the machine hits all of them; and every
:class:`Measurement` keeps all its samples. ``make bench`` (``tools/bench.py``)
runs the same functions at full size and with more rounds.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from book_src import ladder, layers, models, vectorized
from book_src.profiling import format_time, peak_memory
from book_src.training import set_seed, show_progress

__all__ = [
    "IMPLEMENTATIONS",
    "INPUT_SHAPES",
    "LADDER",
    "Measurement",
    "OriginalConv1D",
    "OriginalConv2D",
    "Timings",
    "build_model",
    "conv_class",
    "format_medians",
    "format_table",
    "layer_case",
    "peak_memories",
    "time_layers",
    "time_train_steps",
]

IMPLEMENTATIONS: tuple[str, ...] = (
    "original",
    "loop",
    "unbind",
    "taps",
    "im2col",
    "torch.nn",
)
# Chapter 6's ladder, (a) to (e).
LADDER: tuple[str, ...] = ("loop", "unbind", "taps", "im2col", "torch.nn")
# The networks' input shape: MNIST images, read as sequences by cnn1d.
INPUT_SHAPES = {"cnn1d": (1, 784), "cnn2d": (1, 28, 28)}


# --- The baseline: the original course's loop -------------------------------


class OriginalConv1D(nn.Module):
    """BASELINE FOR TIMING ONLY: the original course's 1D convolution loop.

    Its algorithm, re-expressed: pad, cut ``x[:, :, i - k:i]`` for ``i`` in
    ``range(k, L + 1, stride)``, apply the Linear, stack. No dilation, groups or
    checks; used nowhere but here, to show that the book's loop costs no more.
    """

    spatial_dims = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
    ) -> None:
        super().__init__()
        self.k, self.stride, self.padding = kernel_size, stride, padding
        self.out_channels = out_channels
        size = in_channels * kernel_size**self.spatial_dims
        self.kernel = nn.Linear(size, out_channels)

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``(N, C_in, L)`` into ``(N, C_out, positions)``."""
        x, k = F.pad(x, (self.padding, self.padding)), self.k
        outputs = [
            self.kernel(x[:, :, i - k : i].reshape(x.shape[0], -1))
            for i in range(k, x.shape[2] + 1, self.stride)
        ]
        return torch.stack(outputs, dim=2)


class OriginalConv2D(OriginalConv1D):
    """BASELINE FOR TIMING ONLY: the original course's 2D loop and its reshape.

    Two nested loops cut ``x[:, :, i - k:i, j - k:j]``; the stacked result is
    reshaped to ``(N, C_out, H // s, W // s)``, right for kernel 3, padding 1.
    """

    spatial_dims = 2

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``(N, C_in, H, W)`` into ``(N, C_out, H // s, W // s)``."""
        (b, _, h, w), p, k, s = x.shape, self.padding, self.k, self.stride
        x = F.pad(x, (p, p, p, p))
        outputs = []
        for i in range(k, x.shape[2] + 1, s):
            for j in range(k, x.shape[3] + 1, s):
                window = x[:, :, i - k : i, j - k : j].reshape(x.shape[0], -1)
                outputs.append(self.kernel(window))
        out = torch.stack(outputs, dim=2)
        return out.reshape(b, self.out_channels, h // s, w // s)


def conv_class(implementation: str, ndim: int) -> type[nn.Module]:
    """The class of ``implementation`` (:data:`IMPLEMENTATIONS`) in 1D or 2D.

    Raises:
        ValueError: an unknown implementation or dimension.
    """
    classes: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
        "original": (OriginalConv1D, OriginalConv2D),
        "loop": (layers.Conv1D, layers.Conv2D),
        "unbind": (ladder.UnbindConv1D, ladder.UnbindConv2D),
        "taps": (ladder.TapConv1D, ladder.TapConv2D),
        "im2col": (vectorized.Im2colConv1D, vectorized.Im2colConv2D),
        "torch.nn": (nn.Conv1d, nn.Conv2d),
    }
    if implementation not in classes or ndim not in (1, 2):
        raise ValueError(
            f"unknown implementation {implementation!r} or ndim {ndim}: expected "
            f"one of {IMPLEMENTATIONS} and 1 or 2"
        )
    return classes[implementation][ndim - 1]


def build_model(name: str, implementation: str, seed: int = 0) -> nn.Module:
    """``cnn1d`` or ``cnn2d`` built on ``implementation``'s convolution."""
    set_seed(seed)
    conv = conv_class(implementation, 1 if name == "cnn1d" else 2)
    return {"cnn1d": models.cnn1d, "cnn2d": models.cnn2d}[name](conv=conv)


# --- What is measured --------------------------------------------------------


@dataclass
class Measurement:
    """The samples of one implementation on one case, in seconds.

    ``benchmark`` is ``"train step"``, ``"layer"`` (forward and backward),
    ``"forward"`` or ``"backward"``; ``case`` what was timed (``"cnn1d"``,
    ``"Conv2D 64x64"``), ``size`` a layer's input length or side (0 otherwise).
    """

    benchmark: str
    case: str
    size: int
    implementation: str
    seconds: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        """Median over the samples."""
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        """Fastest sample."""
        return min(self.seconds)

    @property
    def max(self) -> float:
        """Slowest sample."""
        return max(self.seconds)


@dataclass
class Timings:
    """What one run measured, where, and the layer sizes.

    ``memory`` holds the peak bytes of :func:`peak_memories`, per panel
    (``"Conv1D"``, ``"Conv2D"``), implementation and size.
    """

    measurements: list[Measurement]
    memory: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    device: str = "cpu"
    threads: int = field(default_factory=torch.get_num_threads)
    batch_size: int = 64
    channels: tuple[int, int] = (16, 32)

    def find(self, benchmark: str, case: str, implementation: str) -> Measurement:
        """The measurement of one implementation on one case (KeyError if none)."""
        for m in self.measurements:
            if (m.benchmark, m.case, m.implementation) == (
                benchmark,
                case,
                implementation,
            ):
                return m
        raise KeyError((benchmark, case, implementation))

    def ratio(
        self, m: Measurement, top: str | None, bottom: str | None
    ) -> float | None:
        """Median of ``top`` over median of ``bottom`` on ``m``'s case.

        None stands for ``m`` itself; the result is None when one of the two
        was not measured.
        """
        try:
            a = self.find(m.benchmark, m.case, top) if top else m
            b = self.find(m.benchmark, m.case, bottom) if bottom else m
        except KeyError:
            return None
        return a.median / b.median

    @property
    def implementations(self) -> list[str]:
        """The implementations measured, in the order of :data:`IMPLEMENTATIONS`."""
        found = {m.implementation for m in self.measurements}
        found |= {impl for by_impl in self.memory.values() for impl in by_impl}
        return [impl for impl in IMPLEMENTATIONS if impl in found]


# --- How it times ------------------------------------------------------------

# A timed function runs once and returns the seconds of each of its phases:
# (step,) for a training step, (forward, backward) for a layer.
Timed = Callable[[], tuple[float, ...]]


def clock(device: torch.device) -> float:
    """Seconds, after waiting for the GPU to finish what was queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def interleave(
    fns: dict[str, Timed], repeats: int, min_seconds: float, bar: Any = None
) -> dict[str, list[tuple[float, ...]]]:
    """Time every function ``repeats`` times, taking turns.

    Each function first runs once (a warm-up) to find how many runs fill
    ``min_seconds``; a sample is the mean over that many runs in a row. Returns
    ``{name: [per-phase seconds per run, one tuple per round]}``.
    """
    numbers = {}
    for name, fn in fns.items():
        once = sum(fn())
        numbers[name] = max(1, min(1000, math.ceil(min_seconds / max(once, 1e-9))))
    samples: dict[str, list[tuple[float, ...]]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            runs = [fn() for _ in range(numbers[name])]
            samples[name].append(tuple(sum(p) / len(runs) for p in zip(*runs)))
            if bar is not None:
                bar.update(1)
    return samples


def measure(
    fns: dict[str, Timed],
    case: str,
    size: int,
    phases: Sequence[str],
    repeats: int,
    min_seconds: float,
    bar: Any = None,
) -> list[Measurement]:
    """:func:`interleave` ``fns``, one :class:`Measurement` per phase of each.

    With two phases (forward, backward), a ``"layer"`` measurement adds them up,
    sample by sample.
    """
    found = []
    for impl, rounds in interleave(fns, repeats, min_seconds, bar).items():
        if len(phases) > 1:
            found.append(
                Measurement("layer", case, size, impl, [sum(r) for r in rounds])
            )
        found += [
            Measurement(phase, case, size, impl, [r[i] for r in rounds])
            for i, phase in enumerate(phases)
        ]
    return found


def progress_bar(total: int, desc: str, progress: bool | None) -> tqdm:
    """A progress bar on stderr; ``progress=None`` asks ``BOOK_SRC_PROGRESS``."""
    return tqdm(
        total=total, desc=desc, disable=not show_progress(progress), file=sys.stderr
    )


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


def timed_step(model: nn.Module, images: Tensor, labels: Tensor) -> Timed:
    """One training step of ``model`` on one batch, timed."""
    step = train_step(model.to(images.device))

    def run() -> tuple[float, ...]:
        start = clock(images.device)
        step(images, labels)
        return (clock(images.device) - start,)

    return run


def time_train_steps(
    model_names: Iterable[str] = ("cnn1d", "cnn2d"),
    implementations: Sequence[str] = IMPLEMENTATIONS,
    batch_size: int = 64,
    repeats: int = 5,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
) -> list[Measurement]:
    """Seconds per training step (forward, backward, Adam step) of each network.

    Every implementation trains the same network (``"cnn1d"``, ``"cnn2d"``) from
    the same weights on the same random batch of MNIST's shape; they take turns,
    ``repeats`` times, each sample lasting ``min_seconds`` at least. ``seed``
    seeds the weights and the batch; ``progress`` shows a progress bar (default
    from ``BOOK_SRC_PROGRESS``).
    """
    model_names, found = list(model_names), []
    total = len(model_names) * len(implementations) * repeats
    with progress_bar(total, "training steps", progress) as bar:
        for name in model_names:
            generator = torch.Generator().manual_seed(seed)
            shape = INPUT_SHAPES[name]
            images = torch.rand(batch_size, *shape, generator=generator).to(device)
            labels = torch.randint(0, 10, (batch_size,), generator=generator)
            fns = {
                impl: timed_step(
                    build_model(name, impl, seed), images, labels.to(device)
                )
                for impl in implementations
            }
            found += measure(fns, name, 0, ["train step"], repeats, min_seconds, bar)
    return found


def layer_case(ndim: int, size: int) -> str:
    """The name of a single-layer case: ``"Conv1D L=1024"``, ``"Conv2D 64x64"``."""
    return f"Conv1D L={size}" if ndim == 1 else f"Conv2D {size}x{size}"


def layer_and_data(
    impl: str,
    ndim: int,
    size: int,
    channels: tuple[int, int] = (16, 32),
    kernel_size: int = 3,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> tuple[nn.Module, Tensor, Tensor]:
    """One layer of ``impl``, an input that requires a gradient, an output gradient.

    The layer maps ``channels[0]`` to ``channels[1]`` channels with stride 1 and
    padding ``kernel_size // 2`` (the output is as large as the input); every
    implementation gets the same weights and the same data from ``seed``.
    """
    set_seed(seed)
    cls = conv_class(impl, ndim)
    layer = cls(*channels, kernel_size=kernel_size, padding=kernel_size // 2)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((batch_size, channels[0], *(size,) * ndim), generator=generator)
    grad = torch.randn((batch_size, channels[1], *(size,) * ndim), generator=generator)
    return layer.to(device), x.to(device).requires_grad_(), grad.to(device)


def forward_backward(layer: nn.Module, x: Tensor, grad: Tensor) -> Timed:
    """One forward and one backward pass of ``layer``, timed apart."""

    def run() -> tuple[float, float]:
        x.grad = None
        layer.zero_grad(set_to_none=True)
        start = clock(x.device)
        out = layer(x)
        middle = clock(x.device)
        out.backward(grad)
        return middle - start, clock(x.device) - middle

    return run


def time_layers(
    ndim: int,
    sizes: Sequence[int],
    implementations: Sequence[str] = LADDER,
    channels: tuple[int, int] = (16, 32),
    kernel_size: int = 3,
    batch_size: int = 64,
    repeats: int = 3,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
) -> list[Measurement]:
    """Seconds per forward and per backward pass of one layer, per input size.

    The layer and data are :func:`layer_and_data`'s, in ``ndim`` (1: length
    ``size``, 2: ``size x size`` images); the backward pass computes the
    gradients of the input, weight and bias, as inside a network. Each size
    gives three measurements per implementation: ``"layer"``, ``"forward"``
    and ``"backward"``. The other arguments are :func:`time_train_steps`'.
    """
    found: list[Measurement] = []
    total = len(sizes) * len(implementations) * repeats
    with progress_bar(total, f"{ndim}D layer sizes", progress) as bar:
        for size in sizes:
            fns = {
                impl: forward_backward(
                    *layer_and_data(
                        impl,
                        ndim,
                        size,
                        channels,
                        kernel_size,
                        batch_size,
                        device,
                        seed,
                    )
                )
                for impl in implementations
            }
            case = layer_case(ndim, size)
            found += measure(
                fns, case, size, ["forward", "backward"], repeats, min_seconds, bar
            )
    return found


def peak_memories(
    ndim: int,
    sizes: Sequence[int],
    implementations: Sequence[str] = ("taps", "im2col", "torch.nn"),
    channels: tuple[int, int] = (16, 32),
    kernel_size: int = 3,
    batch_size: int = 64,
    seed: int = 0,
) -> dict[str, dict[int, int]]:
    """Peak bytes of one layer's forward and backward, per implementation and size.

    The layer of :func:`time_layers`, on the CPU, measured by
    :func:`book_src.profiling.peak_memory` after a warm-up:
    ``{implementation: {size: peak bytes}}``.
    """
    peaks: dict[str, dict[int, int]] = {impl: {} for impl in implementations}
    for size in sizes:
        for impl in implementations:
            layer, x, grad = layer_and_data(
                impl, ndim, size, channels, kernel_size, batch_size, "cpu", seed
            )
            forward_backward(layer, x, grad)()  # warm-up, outside the count
            x.grad = None
            layer.zero_grad(set_to_none=True)
            peaks[impl][size] = peak_memory(lambda: layer(x).backward(grad))  # noqa: B023
    return peaks


# --- Tables -------------------------------------------------------------------

TITLES = {
    "train step": "Training step: forward, backward and Adam step",
    "layer": "One layer, forward and backward",
    "forward": "One layer, forward pass",
    "backward": "One layer, backward pass",
    "epoch": "One training epoch",
}
COLUMNS = {"min": 9, "median": 9, "max": 9, "n": 2, "median / torch.nn": 17}
COLUMNS["loop / median"] = 13  # the column and its width with align=True


def format_table(
    result: Timings,
    align: bool = False,
    benchmarks: Sequence[str] | None = None,
    implementations: Sequence[str] | None = None,
) -> str:
    """The measurements as text tables, one per benchmark (all, or ``benchmarks``).

    Columns: the fastest, median and slowest sample, their number, the median
    divided by torch.nn's, and the loop's median divided by this one (the
    speed-up over the loop layer). ``align`` pads the cells into columns, for a
    terminal; without it only the numbers change from run to run, which the
    notebook tests rely on. Notes (``Measurement.note``) close each table.
    """
    lines = [
        f"Measured on {result.device} with {result.threads} "
        f"thread{'s' if result.threads != 1 else ''}; "
        "implementations interleaved, round after round."
    ]
    tables: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        if (benchmarks is None or m.benchmark in benchmarks) and (
            implementations is None or m.implementation in implementations
        ):
            tables.setdefault(m.benchmark, []).append(m)
    width = max((len(m.case) for ms in tables.values() for m in ms), default=5)

    def row(first: str, second: str, cells: Iterable[str]) -> str:
        if align:
            cells = [f"{c:>{w}}" for c, w in zip(cells, COLUMNS.values())]
        return f"{first:<{width}} | {second:<14} | " + " | ".join(cells)

    for benchmark, ms in tables.items():
        lines += ["", f"{TITLES[benchmark]} (batch {result.batch_size}):"]
        lines.append(row("case", "implementation", COLUMNS))
        notes: dict[str, list[str]] = {}
        for m in ms:
            cells = [format_time(t) for t in (m.min, m.median, m.max)]
            cells.append(str(len(m.seconds)))
            for top, bottom in ((None, "torch.nn"), ("loop", None)):
                value = result.ratio(m, top, bottom)
                cells.append("-" if value is None else f"{value:.1f}x")
            lines.append(row(m.case, m.implementation, cells))
            if m.note and m.implementation not in notes.setdefault(m.note, []):
                notes[m.note].append(m.implementation)
        lines += [f"({', '.join(impls)}: {note})" for note, impls in notes.items()]
    return "\n".join(lines)


def format_medians(
    result: Timings, benchmark: str, implementations: Sequence[str] | None = None
) -> str:
    """One row per case, one column per implementation: the median times.

    A compact view of one benchmark (``"forward"``, ``"backward"``...); ``-``
    where an implementation was not timed.
    """
    impls = list(implementations or result.implementations)
    cases: dict[str, dict[str, Measurement]] = {}
    for m in result.measurements:
        if m.benchmark == benchmark and m.implementation in impls:
            cases.setdefault(m.case, {})[m.implementation] = m
    width = max([len(c) for c in cases] + [len(benchmark)])
    lines = [f"{benchmark:<{width}} | " + " | ".join(impls)]
    for case, by_impl in cases.items():
        cells = [format_time(by_impl[i].median) if i in by_impl else "-" for i in impls]
        lines.append(f"{case:<{width}} | " + " | ".join(cells))
    return "\n".join(lines)
