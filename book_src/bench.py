"""Measure the convolutions: where time and memory go, and how they grow (chapter 6).

Chapter 6 calls these functions; ``make bench`` runs them at full size through
the command line in ``tools/bench.py``. The implementations of one convolution,
the rungs of chapter 6's ladder (:data:`IMPLEMENTATIONS`):

* ``original``: the original course's loop, re-expressed here as a timing
  baseline only (:class:`OriginalConv1D`, :class:`OriginalConv2D`);
* ``loop`` (a): this book's loop layers, :mod:`book_src.layers`;
* ``unbind`` (b): the same loop over the windows of one unfold view,
  :mod:`book_src.ladder`;
* ``taps`` (c): a loop over the kernel's taps, :mod:`book_src.ladder`;
* ``im2col`` (d): im2col and one matrix product, :mod:`book_src.vectorized`;
* ``torch.nn`` (e): PyTorch's own ``nn.Conv1d`` and ``nn.Conv2d``.

What is measured:

* **the profiler's view** of one forward and one backward pass
  (:func:`profile_passes`): every operation with its calls, self time and the
  memory it allocated;
* **one training step** (forward, backward, Adam step) of ``cnn1d`` and
  ``cnn2d`` at MNIST shapes (:func:`time_train_steps`);
* **one layer**, its forward and its backward timed apart, at growing input
  sizes (:func:`time_layers`);
* **peak memory** of one layer's forward and backward (:func:`peak_memory`);
* optionally one training epoch of each model (:func:`time_epochs`).

How it times: every function runs once before it is timed; each sample repeats
it until ``min_seconds`` have passed; the implementations take turns, round
after round, so that a slow moment of the machine hits all of them; every
number keeps all its samples, and the tables give min, median and max. A
target (:data:`TARGETS`) is judged on the median's confidence interval
(:func:`median_interval`): met, missed, or inconclusive when the interval of
the ratio straddles the limit.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode, resolve_name
from tqdm.auto import tqdm

from book_src import ladder, layers, models, vectorized
from book_src.training import default_device, make_loaders, set_seed, show_progress

__all__ = [
    "IMPLEMENTATIONS",
    "LADDER",
    "TARGETS",
    "BenchConfig",
    "BenchResult",
    "Measurement",
    "OpRow",
    "OriginalConv1D",
    "OriginalConv2D",
    "PassProfile",
    "Target",
    "Verdict",
    "build_model",
    "conv_class",
    "count_calls",
    "format_bytes",
    "format_medians",
    "format_profile",
    "format_table",
    "format_time",
    "format_verdicts",
    "graph_size",
    "judge",
    "layer_case",
    "median_interval",
    "mnist_training_split",
    "onednn_primitives",
    "peak_memories",
    "peak_memory",
    "plot_memory",
    "plot_scaling",
    "plot_step_times",
    "profile_passes",
    "run_benchmark",
    "time_epochs",
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
# The loops over positions: timed only up to BenchConfig.slow_max_size.
SLOW_IMPLEMENTATIONS = ("original", "loop", "unbind")
MODELS: dict[str, Callable[..., nn.Module]] = {
    "cnn1d": models.cnn1d,
    "cnn2d": models.cnn2d,
}
MODEL_NDIM = {"cnn1d": 1, "cnn2d": 2}
INPUT_SHAPES = {"cnn1d": (1, 784), "cnn2d": (1, 28, 28)}


# --- The baseline: the original course's loop -------------------------------


class OriginalConv1D(nn.Module):
    """BASELINE FOR TIMING ONLY: the original course's 1D convolution loop.

    A minimal re-expression of its algorithm: pad with ``F.pad``, then a list
    comprehension over ``range(kernel_size, L + 1, stride)`` that cuts
    ``x[:, :, i - k:i]``, reshapes it to ``(N, C * k)``, applies the Linear, and
    ``torch.stack`` at the end. No dilation, groups or checks. Used nowhere but
    in this benchmark, to show that the book's loop layers cost no more.
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
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_width = kernel_size
        self.stride = stride
        self.padding = padding
        self.kernel = nn.Linear(
            in_channels * kernel_size**self.spatial_dims, out_channels
        )

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``(N, C_in, L)`` into ``(N, C_out, positions)``."""
        x = F.pad(x, (self.padding, self.padding))
        k = self.kernel_width
        outputs = [
            self.kernel(x[:, :, i - k : i].reshape(x.shape[0], self.in_channels * k))
            for i in range(k, x.shape[2] + 1, self.stride)
        ]
        return torch.stack(outputs, dim=2)


class OriginalConv2D(OriginalConv1D):
    """BASELINE FOR TIMING ONLY: the original course's 2D convolution loop.

    Two nested loops over ``range(kernel_size, size + 1, stride)`` cut
    ``x[:, :, i - k:i, j - k:j]``, reshape it to ``(N, -1)`` and apply the
    Linear; the stacked result is reshaped to ``(N, C_out, H // s, W // s)``,
    which is right for the sizes timed here (kernel 3, padding 1).
    """

    spatial_dims = 2

    def forward(self, x: Tensor) -> Tensor:
        """Convolve ``(N, C_in, H, W)`` into ``(N, C_out, H // s, W // s)``."""
        b, _, h, w = x.shape
        p, k, s = self.padding, self.kernel_width, self.stride
        x = F.pad(x, (p, p, p, p))
        outputs = []
        for i in range(k, x.shape[2] + 1, s):
            for j in range(k, x.shape[3] + 1, s):
                window = x[:, :, i - k : i, j - k : j].reshape(x.shape[0], -1)
                outputs.append(self.kernel(window))
        out = torch.stack(outputs, dim=2)
        return out.reshape(b, self.out_channels, h // s, w // s)


def conv_class(implementation: str, ndim: int) -> type[nn.Module]:
    """The convolution class of ``implementation`` in ``ndim`` (1 or 2) dimensions.

    Args:
        implementation: one of :data:`IMPLEMENTATIONS`.
        ndim: 1 or 2.

    Raises:
        ValueError: an unknown implementation or dimension.
    """
    classes: dict[str, dict[int, type[nn.Module]]] = {
        "original": {1: OriginalConv1D, 2: OriginalConv2D},
        "loop": {1: layers.Conv1D, 2: layers.Conv2D},
        "unbind": {1: ladder.UnbindConv1D, 2: ladder.UnbindConv2D},
        "taps": {1: ladder.TapConv1D, 2: ladder.TapConv2D},
        "im2col": {1: vectorized.Conv1D, 2: vectorized.Conv2D},
        "torch.nn": {1: nn.Conv1d, 2: nn.Conv2d},
    }
    if implementation not in classes or ndim not in (1, 2):
        raise ValueError(
            f"unknown implementation {implementation!r} or ndim {ndim}: expected "
            f"one of {IMPLEMENTATIONS} and 1 or 2"
        )
    return classes[implementation][ndim]


def build_model(name: str, implementation: str, seed: int = 0) -> nn.Module:
    """``cnn1d`` or ``cnn2d`` built on ``implementation``'s convolution."""
    set_seed(seed)
    return MODELS[name](conv=conv_class(implementation, MODEL_NDIM[name]))


# --- Counting what a forward pass does -------------------------------------


class _CallCounter(TorchFunctionMode):
    """Counts every torch function and Tensor method called while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.counts[resolve_name(func) or getattr(func, "__name__", repr(func))] += 1
        return func(*args, **(kwargs or {}))


def count_calls(fn: Callable[[], object]) -> Counter[str]:
    """How many times each torch function runs while ``fn()`` runs.

    Counts the calls made from Python (``torch.nn.functional.linear``,
    ``torch.Tensor.reshape``, ...), through ``torch.overrides.TorchFunctionMode``:
    a loop over window positions shows up as counts that grow with the input.
    """
    with _CallCounter() as counter:
        fn()
    return counter.counts


def graph_size(output: Tensor) -> int:
    """Number of nodes of the autograd graph that produced ``output``.

    Each node is one backward function that ``loss.backward()`` will run.
    """
    seen, stack = set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(parent for parent, _ in node.next_functions)
    return len(seen)


# --- The profiler's view ----------------------------------------------------


def _quiet_profiler() -> None:
    """Keep the profiler library's start/stop log lines out of notebook outputs.

    Kineto, the library behind ``torch.profiler``, logs a line to stderr each
    time a profile starts and stops; level 6 silences it. It reads the setting
    when it starts, so this must run before the first profile of the process.
    A value the user set is left alone.
    """
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")


@dataclass
class OpRow:
    """One operation of a profile, summed over all its calls.

    Attributes:
        name: the operation, e.g. ``"aten::addmm"`` or ``"SliceBackward0"``.
        calls: how many times it ran.
        self_seconds: time inside it, not counting the operations it called.
        self_bytes: memory it allocated minus memory it freed, not counting the
            operations it called (allocations through PyTorch's CPU allocator).
    """

    name: str
    calls: int
    self_seconds: float
    self_bytes: int


@dataclass
class PassProfile:
    """The profile of one pass (forward or backward).

    Attributes:
        name: ``"forward"`` or ``"backward"``.
        seconds: wall time of the pass, profiler included.
        outside_seconds: the part of it spent in no operation at all: Python,
            and the profiler's own bookkeeping between operations.
        rows: one :class:`OpRow` per operation name.
    """

    name: str
    seconds: float
    outside_seconds: float
    rows: list[OpRow]

    def row(self, name: str) -> OpRow:
        """The row of operation ``name``; calls 0 if it never ran."""
        for r in self.rows:
            if r.name == name:
                return r
        return OpRow(name, 0, 0.0, 0)

    @property
    def calls(self) -> int:
        """Operations run in this pass, all names together."""
        return sum(r.calls for r in self.rows)


def profile_passes(
    fn: Callable[[], Tensor], grad: Tensor | None = None
) -> dict[str, PassProfile]:
    """Profile ``fn()`` (the forward pass) and the backward pass of its result.

    One ``torch.profiler`` session with ``profile_memory=True`` records every
    operation; ``record_function`` marks where the forward pass ends and the
    backward pass begins. The autograd engine's wrappers
    (``autograd::engine::evaluate_function: ...``) are left out: each only
    wraps one backward node, which is listed under its own name.

    Args:
        fn: computes the output, e.g. ``lambda: layer(x)``.
        grad: the gradient to send back from the output; None profiles the
            forward pass only.

    Returns:
        ``{"forward": ..., "backward": ...}`` (no ``"backward"`` without grad).
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    _quiet_profiler()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        with record_function("forward"):
            out = fn()
        if grad is not None:
            with record_function("backward"):
                out.backward(grad)
    passes = {}
    for event in prof.events():
        if event.cpu_parent is None and event.name in ("forward", "backward"):
            passes[event.name] = _summarise(event)
    return passes


def _summarise(marker: Any) -> PassProfile:
    """Sum the operations under one ``record_function`` marker by name.

    Rows come out by calls, most first, and among equal calls in the order
    of their first call: the same order every run, and it reads like the
    code (a forward's slice, reshape, linear...).
    """
    rows: dict[str, OpRow] = {}
    stack = sorted(marker.cpu_children, key=lambda e: e.time_range.start, reverse=True)
    while stack:  # depth first, in the order the operations started
        event = stack.pop()
        children = sorted(event.cpu_children, key=lambda e: e.time_range.start)
        stack.extend(reversed(children))
        if event.name.startswith("autograd::engine::evaluate_function"):
            continue
        row = rows.setdefault(event.name, OpRow(event.name, 0, 0.0, 0))
        row.calls += 1
        row.self_seconds += event.self_cpu_time_total / 1e6
        row.self_bytes += event.self_cpu_memory_usage
    first = {name: i for i, name in enumerate(rows)}
    ordered = sorted(rows.values(), key=lambda r: (-r.calls, first[r.name]))
    return PassProfile(
        marker.name,
        marker.cpu_time_total / 1e6,
        marker.self_cpu_time_total / 1e6,
        ordered,
    )


def format_bytes(n: float) -> str:
    """``"1.2 GB"``, ``"271.6 MB"``, ``"12.0 kB"`` or ``"512 B"`` (powers of 1000)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def format_profile(
    profile: PassProfile, limit: int = 12, names: Sequence[str] = ()
) -> str:
    """A profile as a text table: operation, calls, self memory, self time.

    Rows are ordered by calls, most first, then by first call (see
    :func:`profile_passes`), so the table is the same from run to run apart
    from the times, which come last. ``limit`` rows are shown, plus any
    operation listed in ``names``; a last line counts the rest.
    """
    shown = profile.rows[:limit]
    shown += [r for r in profile.rows[limit:] if r.name in names]
    width = max([len(r.name) for r in shown] + [len("operation")])
    lines = [
        f"{profile.name}: {profile.calls} operations, "
        f"{format_time(profile.seconds)} in all",
        f"{'operation':<{width}} | calls | self memory | self time",
    ]
    for r in shown:
        memory = format_bytes(r.self_bytes) if r.self_bytes else "-"
        lines.append(
            f"{r.name:<{width}} | {r.calls:>5} | {memory:>11} | "
            f"{format_time(r.self_seconds)}"
        )
    rest = len(profile.rows) - len(shown)
    if rest:
        lines.append(f"... and {rest} more operations, each called fewer times")
    return "\n".join(lines)


def onednn_primitives(fn: Callable[[], object]) -> list[dict[str, str]]:
    """What oneDNN itself reports running while ``fn()`` runs (CPU only).

    oneDNN, the library behind ``torch.nn``'s float32 convolutions on a CPU,
    can log every primitive it executes (``torch.backends.mkldnn.verbose``):
    its kind (``convolution``, ``reorder``: a copy into another memory
    layout), the implementation it picked for this processor, the pass
    (``forward_training``, ``backward_data``, ``backward_weights``) and, for
    a convolution, the algorithm (``convolution_direct``, ...). It writes to
    the process's standard output; this function catches those lines.

    Returns:
        One dict per primitive executed, with the keys ``kind``,
        ``implementation``, ``pass`` and ``algorithm`` (``""`` if none).
    """
    import ctypes
    import tempfile

    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    with tempfile.TemporaryFile() as log:
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                fn()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    found = []
    for line in lines:
        # onednn_verbose,v1,primitive,exec,cpu,<kind>,<implementation>,<pass>,...
        fields = line.split(",")
        if fields[:5] != ["onednn_verbose", "v1", "primitive", "exec", "cpu"]:
            continue
        algorithm = next((f[4:] for f in fields if f.startswith("alg:")), "")
        found.append(
            {
                "kind": fields[5],
                "implementation": fields[6],
                "pass": fields[7],
                "algorithm": algorithm,
            }
        )
    return found


def peak_memory(fn: Callable[[], object]) -> int:
    """Most bytes held at once by what ``fn()`` allocates, over its whole run.

    The profiler records every allocation and every free of PyTorch's CPU
    allocator with its time; the peak is the largest running total, counted
    from zero at the start (memory held before ``fn`` runs is not counted).
    Memory a library allocates by itself, outside PyTorch's allocator, is not
    seen.
    """
    from torch.profiler import ProfilerActivity, profile

    _quiet_profiler()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]"
    )
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak


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

    The same layer as :func:`time_layers`; the input requires a gradient, so
    the backward pass computes the gradients of the input, weight and bias.

    Returns:
        ``{implementation: {size: peak bytes}}``.
    """
    peaks: dict[str, dict[int, int]] = {impl: {} for impl in implementations}
    for size in sizes:
        x, grad = _layer_data(ndim, size, channels, batch_size, "cpu", seed)
        for impl in implementations:
            layer = _layer(impl, ndim, channels, kernel_size, "cpu", seed)
            _forward_backward(layer, x, grad)()  # warm-up, outside the count
            x.grad = None
            layer.zero_grad(set_to_none=True)
            peaks[impl][size] = peak_memory(lambda: layer(x).backward(grad))  # noqa: B023
            x.grad = None
    return peaks


# --- Statistics -------------------------------------------------------------


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


@dataclass
class Measurement:
    """The repeated timings of one implementation on one case.

    Attributes:
        benchmark: ``"train step"``, ``"layer"`` (forward and backward),
            ``"forward"``, ``"backward"`` or ``"epoch"``.
        case: what was timed, e.g. ``"cnn1d"`` or ``"Conv2D 64x64"``.
        size: the input length (1D) or image side (2D) of a layer; 0 otherwise.
        implementation: one of :data:`IMPLEMENTATIONS`.
        seconds: one value per repeat: seconds per step, per call or per epoch.
        note: anything the number needs said with it.
    """

    benchmark: str
    case: str
    size: int
    implementation: str
    seconds: list[float]
    note: str = ""

    @property
    def median(self) -> float:
        """Median over the repeats, in seconds."""
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        """Fastest repeat, in seconds."""
        return min(self.seconds)

    @property
    def max(self) -> float:
        """Slowest repeat, in seconds."""
        return max(self.seconds)

    def interval(self, confidence: float = 0.9) -> tuple[float, float]:
        """Confidence interval of the median (:func:`median_interval`)."""
        return median_interval(self.seconds, confidence)


# --- Targets and verdicts ---------------------------------------------------


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


# Issue 12's targets, for this 2-core CPU.
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


# --- Results ----------------------------------------------------------------


@dataclass
class BenchConfig:
    """What to time, and how often.

    Attributes:
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        models: networks for the training-step and epoch benchmarks.
        batch_size: samples per batch everywhere.
        repeats: interleaved rounds of every timing, at least.
        max_repeats: more rounds, up to this many, for the cases of a target
            that is still inconclusive (only the target's implementations are
            timed again); ``repeats`` or less: never more.
        extra_seconds: at most this long, in all, for those extra rounds.
        min_seconds: each timed sample runs the step or call enough times to
            last at least this long (one run if a single one is longer).
        layer_channels: ``(in, out)`` channels of the single-layer benchmark.
        kernel_size: its kernel size (padding ``kernel_size // 2``, stride 1).
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
        seed: seeds the weights and the data.
    """

    implementations: tuple[str, ...] = IMPLEMENTATIONS
    models: tuple[str, ...] = ("cnn1d", "cnn2d")
    batch_size: int = 64
    repeats: int = 5
    max_repeats: int = 15
    extra_seconds: float = 60.0
    min_seconds: float = 0.2
    layer_channels: tuple[int, int] = (16, 32)
    kernel_size: int = 3
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
    seed: int = 0


@dataclass
class BenchResult:
    """Every measurement of one run, and where it ran."""

    device: str
    threads: int
    torch_version: str
    config: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    # peak bytes: {"Conv1D": {implementation: {size: bytes}}, "Conv2D": ...}
    memory: dict[str, dict[str, dict[int, int]]] = field(default_factory=dict)
    seconds: float = 0.0  # the whole run

    def find(self, benchmark: str, case: str, implementation: str) -> Measurement:
        """The measurement of one implementation on one case.

        Raises:
            KeyError: nothing was measured for it.
        """
        for m in self.measurements:
            if (m.benchmark, m.case, m.implementation) == (
                benchmark,
                case,
                implementation,
            ):
                return m
        raise KeyError((benchmark, case, implementation))

    def ratio(
        self, benchmark: str, case: str, implementation: str, reference: str
    ) -> float:
        """Median time of ``implementation`` divided by that of ``reference``.

        Above 1: ``implementation`` is slower; ``ratio(..., "loop", "im2col")``
        is the im2col layer's speed-up over the loop.
        """
        return (
            self.find(benchmark, case, implementation).median
            / self.find(benchmark, case, reference).median
        )

    def verdicts(self, targets: Iterable[Target] | None = None) -> list[Verdict]:
        """Judge every target this run measured (:func:`judge`)."""
        if targets is None:
            targets = [Target(**t) for t in self.config.get("targets", ())]
        found = []
        for t in targets:
            try:
                top = self.find(t.benchmark, t.case, t.implementation)
                bottom = self.find(t.benchmark, t.case, t.reference)
            except KeyError:
                continue
            found.append(judge(t, top.seconds, bottom.seconds))
        return found

    def _ratio_or_none(
        self, m: Measurement, numerator: str | None, denominator: str | None
    ) -> float | None:
        try:
            top = self.find(m.benchmark, m.case, numerator) if numerator else m
            bottom = self.find(m.benchmark, m.case, denominator) if denominator else m
        except KeyError:
            return None
        return top.median / bottom.median

    def rows(self) -> list[dict[str, Any]]:
        """One flat record per measurement, with the ratios of the table."""
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
                "time_over_torch_nn": _round(self._ratio_or_none(m, None, "torch.nn")),
                # how many times faster than the book's loop layers
                "loop_time_over_time": _round(self._ratio_or_none(m, "loop", None)),
                "note": m.note,
            }
            for m in self.measurements
        ]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready: settings, rows, verdicts and every raw timing."""
        return {
            "device": self.device,
            "threads": self.threads,
            "torch": self.torch_version,
            "total_seconds": round(self.seconds, 1),
            "config": self.config,
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
            "peak_bytes": self.memory,
            "measurements": [dataclasses.asdict(m) for m in self.measurements],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- Timing -----------------------------------------------------------------


def _clock(device: torch.device) -> float:
    """Seconds, after waiting for the GPU to finish what was queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


# A timed function runs once and returns the seconds of each of its phases:
# (step,) for a training step, (forward, backward) for a layer.
Timed = Callable[[], tuple[float, ...]]


def _calibrate(fn: Timed, min_seconds: float) -> int:
    """Run ``fn`` once (a warm-up) and return how many runs fill ``min_seconds``."""
    once = sum(fn())
    return max(1, min(1000, math.ceil(min_seconds / max(once, 1e-9))))


def _sample(fn: Timed, number: int) -> tuple[float, ...]:
    """Seconds per run of each phase of ``fn``, over ``number`` runs in a row."""
    totals = [sum(phase) for phase in zip(*(fn() for _ in range(number)))]
    return tuple(t / number for t in totals)


def _interleaved(
    fns: dict[str, Timed],
    repeats: int,
    min_seconds: float,
    bar: tqdm,
    more: Callable[[dict[str, list[tuple[float, ...]]]], list[str]] | None = None,
    max_repeats: int = 0,
    deadline: float = math.inf,
) -> dict[str, list[tuple[float, ...]]]:
    """Time every function ``repeats`` times, taking turns.

    Then, while ``more(samples)`` names implementations (those of a target
    still inconclusive), time those again, taking turns, up to ``max_repeats``
    rounds in all or until ``deadline`` (a ``time.perf_counter()`` value).

    Returns:
        ``{name: [per-phase seconds per run, one tuple per round]}``.
    """
    numbers = {name: _calibrate(fn, min_seconds) for name, fn in fns.items()}
    samples: dict[str, list[tuple[float, ...]]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_sample(fn, numbers[name]))
            bar.update(1)
    rounds = repeats
    while more is not None and rounds < max_repeats and time.perf_counter() < deadline:
        again = more(samples)
        if not again:
            break
        for name in again:
            samples[name].append(_sample(fns[name], numbers[name]))
        rounds += 1
    return samples


def _more_for(
    targets: Sequence[Target], benchmark: str, case: str, phase: int | None = None
) -> Callable[[dict[str, list[tuple[float, ...]]]], list[str]]:
    """The ``more`` callback of :func:`_interleaved` for the targets of one case.

    ``phase`` picks one phase of the samples; None sums them.
    """
    mine = [t for t in targets if (t.benchmark, t.case) == (benchmark, case)]

    def seconds(rounds: list[tuple[float, ...]]) -> list[float]:
        return [sum(r) if phase is None else r[phase] for r in rounds]

    def more(samples: dict[str, list[tuple[float, ...]]]) -> list[str]:
        names: list[str] = []
        for t in mine:
            if t.implementation not in samples or t.reference not in samples:
                continue
            v = judge(
                t, seconds(samples[t.implementation]), seconds(samples[t.reference])
            )
            if v.verdict == "inconclusive":
                names += [n for n in (t.implementation, t.reference) if n not in names]
        return names

    return more


def _train_step(model: nn.Module) -> Callable[[Tensor, Tensor], Tensor]:
    """A function doing one training step (Adam, cross-entropy) of ``model``."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(images: Tensor, labels: Tensor) -> Tensor:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def _timed_step(
    step: Callable[[Tensor, Tensor], Tensor],
    images: Tensor,
    labels: Tensor,
    device: torch.device,
) -> Timed:
    def run() -> tuple[float, ...]:
        start = _clock(device)
        step(images, labels)
        return (_clock(device) - start,)

    return run


def _random_batch(
    model_name: str, batch_size: int, device: torch.device, seed: int
) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch_size, *INPUT_SHAPES[model_name], generator=generator)
    labels = torch.randint(0, 10, (batch_size,), generator=generator)
    return images.to(device), labels.to(device)


def _progress_bar(total: int, desc: str, progress: bool | None) -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        disable=not show_progress(progress),
        file=sys.stderr,
    )


def time_train_steps(
    model_names: Iterable[str] = ("cnn1d", "cnn2d"),
    implementations: Sequence[str] = IMPLEMENTATIONS,
    batch_size: int = 64,
    repeats: int = 5,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
    targets: Sequence[Target] = (),
    max_repeats: int = 0,
    deadline: float = math.inf,
) -> list[Measurement]:
    """Seconds per training step (forward, backward, Adam step) of each network.

    Every implementation trains the same network from the same weights on the
    same random batch of MNIST's shape; they take turns, ``repeats`` times,
    and more (up to ``max_repeats``) for an inconclusive target of
    ``targets`` (see :func:`_interleaved`).

    Args:
        model_names: ``"cnn1d"`` and/or ``"cnn2d"``.
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        batch_size: images per step.
        repeats: timed samples per implementation, at least.
        min_seconds: each sample repeats the step until it lasts this long.
        device: where to run.
        seed: seeds the weights and the batch.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
        targets: targets whose inconclusive verdict asks for more rounds.
        max_repeats: at most this many rounds in all.
        deadline: no extra round starts after this ``time.perf_counter()``.
    """
    device = torch.device(device)
    model_names = list(model_names)
    measurements = []
    total = len(model_names) * len(implementations) * repeats
    with _progress_bar(total, "training steps", progress) as bar:
        for name in model_names:
            images, labels = _random_batch(name, batch_size, device, seed)
            steps = {
                impl: _timed_step(
                    _train_step(build_model(name, impl, seed).to(device)),
                    images,
                    labels,
                    device,
                )
                for impl in implementations
            }
            samples = _interleaved(
                steps,
                repeats,
                min_seconds,
                bar,
                _more_for(targets, "train step", name),
                max_repeats,
                deadline,
            )
            measurements += [
                Measurement("train step", name, 0, impl, [s[0] for s in samples[impl]])
                for impl in implementations
            ]
    return measurements


def layer_case(ndim: int, size: int) -> str:
    """The name of a single-layer case: ``"Conv1D L=1024"``, ``"Conv2D 64x64"``."""
    return f"Conv1D L={size}" if ndim == 1 else f"Conv2D {size}x{size}"


def _layer(
    impl: str,
    ndim: int,
    channels: tuple[int, int],
    kernel_size: int,
    device: torch.device | str,
    seed: int,
) -> nn.Module:
    set_seed(seed)
    layer = conv_class(impl, ndim)(
        *channels, kernel_size=kernel_size, padding=kernel_size // 2
    )
    return layer.to(device)


def _layer_data(
    ndim: int,
    size: int,
    channels: tuple[int, int],
    batch_size: int,
    device: torch.device | str,
    seed: int,
) -> tuple[Tensor, Tensor]:
    """A random input that requires a gradient, and a gradient for the output."""
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, channels[0], *(size,) * ndim)
    x = torch.randn(shape, generator=generator).to(device).requires_grad_()
    grad = torch.randn(
        (batch_size, channels[1], *(size,) * ndim), generator=generator
    ).to(device)
    return x, grad


def _forward_backward(layer: nn.Module, x: Tensor, grad: Tensor) -> Timed:
    """One forward and one backward pass of ``layer``, timed apart."""
    device = x.device

    def run() -> tuple[float, float]:
        x.grad = None
        layer.zero_grad(set_to_none=True)
        start = _clock(device)
        out = layer(x)
        middle = _clock(device)
        out.backward(grad)
        return middle - start, _clock(device) - middle

    return run


def time_layers(
    ndim: int,
    sizes: Sequence[int],
    implementations: Sequence[str] = IMPLEMENTATIONS,
    channels: tuple[int, int] = (16, 32),
    kernel_size: int = 3,
    batch_size: int = 64,
    repeats: int = 3,
    min_seconds: float = 0.2,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
    slow_max_size: int | None = None,
    targets: Sequence[Target] = (),
    max_repeats: int = 0,
    deadline: float = math.inf,
) -> list[Measurement]:
    """Seconds per forward and per backward pass of one layer, per size.

    The layer maps ``channels[0]`` to ``channels[1]`` channels with stride 1 and
    padding ``kernel_size // 2`` (the output is as large as the input); the
    input requires a gradient, so the backward pass computes the gradients of
    the input, weight and bias, as for a layer inside a network.

    Each size gives three measurements per implementation: ``"forward"``,
    ``"backward"`` and ``"layer"`` (their sum, repeat by repeat).

    Args:
        ndim: 1 (input length ``size``) or 2 (``size x size`` images).
        sizes: the input lengths or image sides, smallest first.
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        channels: input and output channels.
        kernel_size: the kernel's size in each dimension.
        batch_size: samples per batch.
        repeats: timed samples per implementation and size, at least.
        min_seconds: each sample repeats the call until it lasts this long.
        device: where to run.
        seed: seeds the weights and the input.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
        slow_max_size: the position loops (:data:`SLOW_IMPLEMENTATIONS`) are
            timed on sizes up to this one only (None: all sizes).
        targets: targets whose inconclusive verdict asks for more rounds
            (judged on forward + backward).
        max_repeats: at most this many rounds in all.
        deadline: no extra round starts after this ``time.perf_counter()``.
    """
    device = torch.device(device)
    measurements = []
    timed = {
        size: [
            impl
            for impl in implementations
            if slow_max_size is None
            or impl not in SLOW_IMPLEMENTATIONS
            or size <= slow_max_size
        ]
        for size in sizes
    }
    total = sum(len(impls) for impls in timed.values()) * repeats
    with _progress_bar(total, f"{ndim}D layer sizes", progress) as bar:
        for size, impls in timed.items():
            x, grad = _layer_data(ndim, size, channels, batch_size, device, seed)
            calls = {
                impl: _forward_backward(
                    _layer(impl, ndim, channels, kernel_size, device, seed), x, grad
                )
                for impl in impls
            }
            case = layer_case(ndim, size)
            samples = _interleaved(
                calls,
                repeats,
                min_seconds,
                bar,
                _more_for(targets, "layer", case),
                max_repeats,
                deadline,
            )
            for impl in impls:
                forward, backward = zip(*samples[impl])
                layer = [f + b for f, b in samples[impl]]
                measurements += [
                    Measurement("layer", case, size, impl, layer),
                    Measurement("forward", case, size, impl, list(forward)),
                    Measurement("backward", case, size, impl, list(backward)),
                ]
    return measurements


def time_epochs(
    model_names: Iterable[str],
    images: Tensor,
    labels: Tensor,
    implementations: Sequence[str] = IMPLEMENTATIONS,
    batch_size: int = 64,
    max_batches: int | None = None,
    loop_max_batches: int | None = None,
    device: torch.device | str = "cpu",
    seed: int = 0,
    progress: bool | None = None,
) -> list[Measurement]:
    """Seconds per training epoch of each network, once per implementation.

    The data is held in memory (on ``device``) and shuffled once with ``seed``,
    so only the model's work is timed: forward, loss, backward and Adam step,
    with ``loss.item()`` every batch as :func:`book_src.training.fit` does.

    An implementation timed on fewer batches than a full epoch gets its time
    scaled up to the full epoch (a loop step costs the same on every batch),
    and its measurement's note says so.

    Args:
        model_names: ``"cnn1d"`` and/or ``"cnn2d"``.
        images: ``(samples, 1, 28, 28)`` MNIST images in [0, 1]; cnn1d sees
            them flattened to ``(1, 784)``.
        labels: ``(samples,)`` class labels.
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        batch_size: images per step; a last incomplete batch is dropped.
        max_batches: time at most this many batches (None: a full epoch).
        loop_max_batches: at most this many for the position loops
            (:data:`SLOW_IMPLEMENTATIONS`; None: as many as the others).
        device: where to run.
        seed: seeds the weights and the order of the samples.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
    """
    device = torch.device(device)
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    images, labels = images[order].to(device), labels[order].to(device)
    full = len(images) // batch_size
    measurements = []
    show = show_progress(progress)
    for name in model_names:
        x = images.reshape(len(images), *INPUT_SHAPES[name])
        for impl in implementations:
            batches = min(full, max_batches or full)
            if impl in SLOW_IMPLEMENTATIONS:
                batches = min(batches, loop_max_batches or full)
            step = _train_step(build_model(name, impl, seed).to(device))
            start = _clock(device)
            for b in tqdm(
                range(batches),
                desc=f"epoch {name} {impl}",
                disable=not show,
                file=sys.stderr,
            ):
                batch = slice(b * batch_size, (b + 1) * batch_size)
                step(x[batch], labels[batch]).item()
            seconds = _clock(device) - start
            if batches == full:
                note = f"full epoch: {full} batches"
            else:
                seconds *= full / batches
                note = (
                    f"estimated: first {batches} of {full} batches timed, "
                    "scaled to a full epoch"
                )
            measurements.append(Measurement("epoch", name, 0, impl, [seconds], note))
    return measurements


# --- The whole benchmark ----------------------------------------------------


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
    result = BenchResult(
        device=str(device),
        threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        config=dataclasses.asdict(config),
    )
    impls = config.implementations
    common = dict(device=device, seed=config.seed, progress=progress)
    # Extra rounds for inconclusive targets share one time budget.
    adaptive = dict(
        targets=config.targets,
        max_repeats=config.max_repeats,
        deadline=start + config.extra_seconds,
    )
    if config.models:
        result.measurements += time_train_steps(
            config.models,
            impls,
            config.batch_size,
            config.repeats,
            config.min_seconds,
            **common,
            **adaptive,
        )
    for ndim, sizes in ((1, config.lengths_1d), (2, config.sides_2d)):
        if sizes:
            result.measurements += time_layers(
                ndim,
                sizes,
                impls,
                config.layer_channels,
                config.kernel_size,
                config.batch_size,
                config.repeats,
                config.min_seconds,
                slow_max_size=config.slow_max_size[ndim - 1],
                **common,
                **adaptive,
            )
    if device.type == "cpu":
        memory_impls = [i for i in impls if i not in SLOW_IMPLEMENTATIONS]
        for ndim, sizes in ((1, config.memory_lengths_1d), (2, config.memory_sides_2d)):
            if sizes and memory_impls:
                result.memory[f"Conv{ndim}D"] = peak_memories(
                    ndim,
                    sizes,
                    memory_impls,
                    config.layer_channels,
                    config.kernel_size,
                    config.batch_size,
                    config.seed,
                )
    if config.epoch and config.models:
        if epoch_data is None:
            epoch_data = mnist_training_split(config.seed)
        images, labels = epoch_data
        result.measurements += time_epochs(
            config.models,
            images,
            labels,
            impls,
            config.batch_size,
            config.epoch_batches,
            config.loop_epoch_batches,
            **common,
        )
    result.seconds = time.perf_counter() - start
    return result


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


# --- Reporting --------------------------------------------------------------

TITLES = {
    "train step": "Training step: forward, backward and Adam step",
    "layer": "One layer, forward and backward",
    "forward": "One layer, forward pass",
    "backward": "One layer, backward pass",
    "epoch": "One training epoch",
}


def format_time(seconds: float) -> str:
    """``"5.12 s"``, ``"43.1 ms"`` or ``"512 µs"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{1000 * seconds:.1f} ms"
    return f"{1e6 * seconds:.0f} µs"


COLUMNS = ("min", "median", "max", "n", "median / torch.nn", "loop / median")
COLUMN_WIDTHS = (9, 9, 9, 2, 17, 13)


def format_table(
    result: BenchResult,
    align: bool = False,
    benchmarks: Sequence[str] | None = None,
    implementations: Sequence[str] | None = None,
) -> str:
    """The measurements as text tables, one per benchmark.

    Columns: the fastest, median and slowest repeat, the number of repeats,
    the median divided by torch.nn's, and the book's loop median divided by
    this one (the speed-up over the loop layer). Times print as ``43.1 ms``,
    ratios as ``7.3x``.

    Args:
        result: what :func:`run_benchmark` returned.
        align: pad the numbers into columns (for a terminal). Without it,
            nothing but the numbers themselves changes from run to run, which
            the book's notebook tests rely on.
        benchmarks: which benchmarks to show (default: all).
        implementations: which implementations to show (default: all).
    """
    lines = [
        f"Measured on {result.device} with {result.threads} "
        f"thread{'s' if result.threads != 1 else ''}; "
        "implementations interleaved, round after round."
    ]
    cases: dict[str, dict[str, list[Measurement]]] = {}
    for m in result.measurements:
        if benchmarks is not None and m.benchmark not in benchmarks:
            continue
        if implementations is not None and m.implementation not in implementations:
            continue
        cases.setdefault(m.benchmark, {}).setdefault(m.case, []).append(m)
    width = max((len(c) for b in cases.values() for c in b), default=5)
    impl_width = len("implementation")
    for benchmark, by_case in cases.items():
        batch = result.config.get("batch_size")
        header = list(COLUMNS)
        if align:
            header = [f"{h:>{w}}" for h, w in zip(header, COLUMN_WIDTHS)]
        lines += [
            "",
            f"{TITLES[benchmark]} (batch {batch}):",
            f"{'case':<{width}} | {'implementation':<{impl_width}} | "
            + " | ".join(header),
        ]
        notes: dict[str, list[str]] = {}
        for case, ms in by_case.items():
            for m in ms:
                cells = [format_time(t) for t in (m.min, m.median, m.max)]
                cells.append(str(len(m.seconds)))
                for top, bottom in ((None, "torch.nn"), ("loop", None)):
                    value = result._ratio_or_none(m, top, bottom)
                    cells.append("-" if value is None else f"{value:.1f}x")
                if align:
                    cells = [f"{c:>{w}}" for c, w in zip(cells, COLUMN_WIDTHS)]
                lines.append(
                    f"{case:<{width}} | {m.implementation:<{impl_width}} | "
                    + " | ".join(cells)
                )
                if m.note:
                    impls = notes.setdefault(m.note, [])
                    if m.implementation not in impls:
                        impls.append(m.implementation)
        lines += [f"({', '.join(impls)}: {note})" for note, impls in notes.items()]
    return "\n".join(lines)


def format_medians(
    result: BenchResult,
    benchmark: str,
    implementations: Sequence[str] | None = None,
) -> str:
    """One row per case, one column per implementation: the median times.

    A compact view of one benchmark (``"forward"``, ``"backward"``...);
    ``-`` where an implementation was not timed.
    """
    impls = list(implementations or result.config["implementations"])
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


def format_verdicts(result: BenchResult) -> str:
    """Each target the run measured: median ratio, its interval, and the verdict."""
    lines = ["Targets (median ratios in this run; the interval holds both spreads):"]
    if result.device != "cpu":
        lines.append(
            f"  (these targets were set for a 2-core CPU; on {result.device} "
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


COLOURS = {
    "original": "tab:gray",
    "loop": "tab:red",
    "unbind": "tab:orange",
    "taps": "tab:purple",
    "im2col": "tab:blue",
    "torch.nn": "tab:green",
}


def _figure(rows: int, cols: int, size: tuple[float, float]) -> tuple[Any, Any]:
    """A figure with a white background (it stays readable in dark mode)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=size, squeeze=False)
    fig.patch.set_facecolor("white")
    return fig, axes


def plot_step_times(result: BenchResult, benchmark: str = "train step") -> Any:
    """Bar chart: median time of each implementation, one group per network.

    Each bar's whisker spans the fastest to the slowest repeat. Returns the
    matplotlib Figure (log scale: the bars span two decades).
    """
    cases: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        if m.benchmark == benchmark:
            cases.setdefault(m.case, []).append(m)
    impls = [i for i in IMPLEMENTATIONS if i in result.config["implementations"]]
    fig, axes = _figure(1, 1, (7, 3))
    ax = axes[0, 0]
    width = 0.8 / max(1, len(impls))
    for k, impl in enumerate(impls):
        xs, heights, spans = [], [], []
        for c, case in enumerate(cases):
            try:
                m = result.find(benchmark, case, impl)
            except KeyError:
                continue
            xs.append(c + (k - (len(impls) - 1) / 2) * width)
            heights.append(1000 * m.median)
            spans.append((1000 * (m.median - m.min), 1000 * (m.max - m.median)))
        bars = ax.bar(
            xs,
            heights,
            width,
            label=impl,
            color=COLOURS[impl],
            yerr=list(zip(*spans)) if spans else None,
            ecolor="black",
            capsize=2,
        )
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)
    ax.set_xticks(range(len(cases)), list(cases))
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{TITLES[benchmark]}, batch {result.config['batch_size']}")
    ax.legend(fontsize=8, ncols=3)
    ax.margins(y=0.25)
    fig.tight_layout()
    return fig


def _positions(case: str, size: int) -> int:
    """Output positions of a layer case (padding keeps the input's size)."""
    return size if case.startswith("Conv1D") else size * size


def _reference_slopes(ax: Any, x0: float, y0: float, x1: float) -> None:
    """Dashed lines of slope 1 and 2 on a log-log plot, through ``(x0, y0)``."""
    for slope, style in ((1, "--"), (2, ":")):
        ax.plot(
            [x0, x1],
            [y0, y0 * (x1 / x0) ** slope],
            style,
            color="black",
            linewidth=1,
            label=f"slope {slope}",
        )


def plot_scaling(
    result: BenchResult, implementations: Sequence[str] | None = None
) -> Any:
    """Log-log plots of the forward and the backward time against the positions.

    One row per dimension (1D, 2D), one column per pass, one line per
    implementation; the x axis counts output positions (the length in 1D,
    side squared in 2D), so that slope 1 means "proportional to the number
    of positions" in both rows. Dashed lines of slope 1 and 2 run from the
    loop's first point to its last. Returns the matplotlib Figure.
    """
    from matplotlib.ticker import NullLocator

    impls = implementations or [
        i for i in IMPLEMENTATIONS if i in result.config["implementations"]
    ]
    panels = sorted({m.case.split()[0] for m in result.measurements if m.size})
    fig, axes = _figure(len(panels), 2, (9, 3.3 * len(panels)))
    channels = result.config["layer_channels"]
    for row, panel in zip(axes, panels):
        for ax, benchmark in zip(row, ("forward", "backward")):
            ms = [
                m
                for m in result.measurements
                if m.benchmark == benchmark and m.case.startswith(panel)
            ]
            for impl in impls:
                points = sorted(
                    (_positions(m.case, m.size), 1000 * m.median)
                    for m in ms
                    if m.implementation == impl
                )
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, "o-", label=impl, color=COLOURS[impl], markersize=4)
            sizes = sorted({_positions(m.case, m.size) for m in ms})
            anchor = "loop" if "loop" in impls else impls[0]
            first = [m for m in ms if m.implementation == anchor]
            if first:  # from the loop's first point to its last
                low = min(first, key=lambda m: m.size)
                high = max(first, key=lambda m: m.size)
                _reference_slopes(
                    ax,
                    _positions(low.case, low.size),
                    1000 * low.median,
                    _positions(high.case, high.size),
                )
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [f"{s:,}" for s in sizes], fontsize=8)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_yscale("log")
            ax.set_xlabel(
                "output positions (= length)"
                if panel == "Conv1D"
                else "output positions (= side²)"
            )
            ax.set_ylabel("milliseconds")
            ax.set_title(f"{panel} {channels[0]}→{channels[1]}, {benchmark}")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def plot_memory(result: BenchResult) -> Any:
    """Log-log plot of the peak memory of one layer against the input size.

    One panel per dimension, one line per implementation, and the size of
    the input itself (dashed) for scale. Returns the matplotlib Figure.
    """
    panels = sorted(result.memory)
    fig, axes = _figure(1, len(panels), (4.5 * len(panels), 3.3))
    c_in = result.config["layer_channels"][0]
    batch = result.config["batch_size"]
    for ax, panel in zip(axes[0], panels):
        sizes: list[int] = []
        for impl, peaks in result.memory[panel].items():
            points = sorted((int(s), b / 1e6) for s, b in peaks.items())
            xs, ys = zip(*points)
            sizes = list(xs)
            ax.plot(xs, ys, "o-", label=impl, color=COLOURS[impl], markersize=4)
        ndim = 1 if panel == "Conv1D" else 2
        inputs = [batch * c_in * s**ndim * 4 / 1e6 for s in sizes]
        ax.plot(sizes, inputs, "--", color="black", linewidth=1, label="the input")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(s) for s in sizes])
        ax.set_yscale("log")
        ax.set_xlabel("input length" if ndim == 1 else "image side (pixels)")
        ax.set_ylabel("peak MB (forward + backward)")
        ax.set_title(f"{panel}, batch {batch}, float32")
        ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig
