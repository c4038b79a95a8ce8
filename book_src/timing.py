"""Timing the rungs of chapter 6's ladder, and the tables of what was measured."""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

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
    "conv_class",
    "format_medians",
    "format_table",
    "peak_memories",
    "time_layers",
    "time_train_steps",
]

# Chapter 6's ladder, (a) to (e), and every implementation: the baseline too.
LADDER: tuple[str, ...] = ("loop", "unbind", "taps", "im2col", "torch.nn")
IMPLEMENTATIONS: tuple[str, ...] = ("original", *LADDER)
# The networks' input shape: MNIST images, read as sequences by cnn1d.
INPUT_SHAPES = {"cnn1d": (1, 784), "cnn2d": (1, 28, 28)}


# --- The baseline: the original course's loop -------------------------------


class OriginalConv1D(nn.Module):
    """BASELINE FOR TIMING ONLY: the original course's 1D convolution loop.

    No dilation, groups or checks: it shows that the book's loop costs no more.
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

    The reshape to ``(N, C_out, H // s, W // s)`` is right for kernel 3, padding 1.
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
    """The class of ``implementation`` (:data:`IMPLEMENTATIONS`) in 1D or 2D."""
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
        key = (benchmark, case, implementation)
        for m in self.measurements:
            if (m.benchmark, m.case, m.implementation) == key:
                return m
        raise KeyError(key)

    def ratio(
        self, m: Measurement, top: str | None, bottom: str | None
    ) -> float | None:
        """Median of ``top`` over median of ``bottom`` on ``m``'s case, or None.

        None for ``top`` or ``bottom`` stands for ``m``; None if one was not measured.
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
    fns: dict[str, Timed], repeats: int, min_seconds: float, bar: tqdm
) -> dict[str, list[tuple[float, ...]]]:
    """Time every function ``repeats`` times, taking turns: a slow moment hits all.

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
            bar.update(1)
    return samples


def _time_cases(
    cases: list[tuple[str, int, Callable[[str], Timed]]],
    implementations: Sequence[str],
    phases: Sequence[str],
    repeats: int,
    min_seconds: float,
    progress: bool | None,
) -> list[Measurement]:
    """:func:`interleave` the implementations of each ``(name, size, make)`` case.

    ``make(implementation)`` gives what to time. With two phases (forward,
    backward), a ``"layer"`` measurement adds them up, sample by sample.
    """
    found = []
    total = len(cases) * len(implementations) * repeats
    with tqdm(total=total, disable=not show_progress(progress), file=sys.stderr) as bar:
        for case, size, make in cases:
            bar.set_description(case)
            fns = {impl: make(impl) for impl in implementations}
            for impl, rounds in interleave(fns, repeats, min_seconds, bar).items():
                if len(phases) > 1:
                    layer = [sum(r) for r in rounds]
                    found.append(Measurement("layer", case, size, impl, layer))
                found += [
                    Measurement(phase, case, size, impl, [r[i] for r in rounds])
                    for i, phase in enumerate(phases)
                ]
    return found


def timed_step(
    name: str, impl: str, batch_size: int = 64, device: torch.device | str = "cpu"
) -> Timed:
    """One training step (Adam, cross-entropy) of ``name`` built on ``impl``, timed.

    The same weights and the same random batch for every implementation.
    """
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(batch_size, *INPUT_SHAPES[name], generator=generator).to(device)
    labels = torch.randint(0, 10, (batch_size,), generator=generator).to(device)
    set_seed(0)
    ndim = 1 if name == "cnn1d" else 2
    network = models.cnn1d if ndim == 1 else models.cnn2d
    model = network(conv=conv_class(impl, ndim)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def run() -> tuple[float, ...]:
        start = clock(images.device)
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return (clock(images.device) - start,)

    return run


def time_train_steps(
    model_names: Sequence[str] = ("cnn1d", "cnn2d"),
    implementations: Sequence[str] = IMPLEMENTATIONS,
    batch_size: int = 64,
    repeats: int = 5,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> list[Measurement]:
    """Seconds per training step (forward, backward, Adam step) of each network.

    The implementations take turns, ``repeats`` times, each sample lasting
    ``min_seconds`` at least; ``progress`` defaults to ``BOOK_SRC_PROGRESS``.
    """
    step = partial(timed_step, batch_size=batch_size, device=device)
    cases = [(name, 0, partial(step, name)) for name in model_names]
    phases = ["train step"]
    return _time_cases(cases, implementations, phases, repeats, min_seconds, progress)


def layer_and_data(
    impl: str,
    ndim: int,
    size: int,
    batch_size: int = 64,
    channels: tuple[int, int] = (16, 32),
    device: torch.device | str = "cpu",
) -> tuple[nn.Module, Tensor, Tensor]:
    """One layer of ``impl``, an input that requires a gradient, an output gradient.

    Kernel 3, stride 1 and padding 1: the output is as large as the input. Every
    implementation gets the same weights and the same data.
    """
    set_seed(0)
    layer = conv_class(impl, ndim)(*channels, kernel_size=3, padding=1)
    generator = torch.Generator().manual_seed(0)
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
    batch_size: int = 64,
    channels: tuple[int, int] = (16, 32),
    repeats: int = 3,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    progress: bool | None = None,
) -> list[Measurement]:
    """Seconds per forward and per backward pass of one layer, per input size.

    The backward pass computes the gradients of the input, weight and bias, as
    inside a network. Each size gives a ``"layer"``, a ``"forward"`` and a
    ``"backward"`` measurement per implementation; the other arguments are
    :func:`time_train_steps`'.
    """

    def timed(impl: str, size: int) -> Timed:
        layer = layer_and_data(impl, ndim, size, batch_size, channels, device)
        return forward_backward(*layer)

    case = "Conv1D L={0}" if ndim == 1 else "Conv2D {0}x{0}"  # its size in {0}
    cases = [(case.format(s), s, partial(timed, size=s)) for s in sizes]
    phases = ["forward", "backward"]
    return _time_cases(cases, implementations, phases, repeats, min_seconds, progress)


def peak_memories(
    ndim: int,
    sizes: Sequence[int],
    implementations: Sequence[str] = ("taps", "im2col", "torch.nn"),
    batch_size: int = 64,
    channels: tuple[int, int] = (16, 32),
) -> dict[str, dict[int, int]]:
    """Peak bytes of one layer's forward and backward, per implementation and size.

    The layer of :func:`time_layers`, on the CPU, after a warm-up.
    """
    peaks: dict[str, dict[int, int]] = {impl: {} for impl in implementations}
    for size in sizes:
        for impl in implementations:
            layer, x, grad = layer_and_data(impl, ndim, size, batch_size, channels)
            layer(x).backward(grad)  # warm-up, outside the count
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
COLUMNS = ("min", "median", "max", "n", "median / torch.nn", "loop / median")


def format_table(result: Timings, benchmarks: Sequence[str] | None = None) -> str:
    """The measurements as text tables, one per benchmark (all, or ``benchmarks``).

    ``loop / median`` is the speed-up over the loop layer. Cells are not padded
    into columns: only the numbers change from run to run, which the notebook
    tests rely on.
    """
    lines = [
        f"Measured on {result.device} with {result.threads} "
        f"thread{'s' if result.threads != 1 else ''}; "
        "implementations interleaved, round after round."
    ]
    tables: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        if benchmarks is None or m.benchmark in benchmarks:
            tables.setdefault(m.benchmark, []).append(m)
    width = max((len(m.case) for ms in tables.values() for m in ms), default=5)

    def row(first: str, second: str, cells: Iterable[str]) -> str:
        return f"{first:<{width}} | {second:<14} | " + " | ".join(cells)

    for benchmark, ms in tables.items():
        lines += ["", f"{TITLES[benchmark]} (batch {result.batch_size}):"]
        lines.append(row("case", "implementation", COLUMNS))
        for m in ms:
            cells = [format_time(t) for t in (m.min, m.median, m.max)]
            cells.append(str(len(m.seconds)))
            for top, bottom in ((None, "torch.nn"), ("loop", None)):
                value = result.ratio(m, top, bottom)
                cells.append("-" if value is None else f"{value:.1f}x")
            lines.append(row(m.case, m.implementation, cells))
    return "\n".join(lines)


def format_medians(
    result: Timings, benchmark: str, implementations: Sequence[str] | None = None
) -> str:
    """One row per case, one column per implementation: median times, ``-`` if none."""
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
