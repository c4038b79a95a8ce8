"""Time the convolutions: the original loop, ours, the vectorised twins, torch.nn.

Chapter 6 runs a reduced version of this benchmark; ``make bench`` runs the
full one (``python -m book_src.bench --out _build/bench``) and writes the table
as CSV and JSON, with two figures. Four implementations of the same layers are
compared:

* ``original``: the original course's loop, re-expressed here as a timing
  baseline only (:class:`OriginalConv1D`, :class:`OriginalConv2D`); nothing
  else in the book uses it;
* ``loop``: this book's loop layers, :mod:`book_src.layers`;
* ``vectorized``: their im2col twins, :mod:`book_src.vectorized`;
* ``torch.nn``: PyTorch's own ``nn.Conv1d`` and ``nn.Conv2d``.

Three measurements:

* one training step (forward, backward, Adam step) of ``cnn1d`` and ``cnn2d``
  at MNIST shapes;
* one convolution layer, forward and backward, at growing input sizes (how
  the cost grows);
* one training epoch of each model over the MNIST training split (750 batches
  of 64 images held in memory, so data loading is not timed). The two loops are
  timed on the first 250 batches only and their time is scaled to the full
  epoch (``--full-epochs`` times all of it); the table says so.

Absolute times vary from machine to machine; the ratios measured within one
run are what to compare. The implementations are interleaved (every repeat
times each of them in turn) and each number is the median over repeats.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import json
import math
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode, resolve_name
from tqdm.auto import tqdm

from book_src import layers, models, vectorized
from book_src.training import default_device, make_loaders, set_seed, show_progress

__all__ = [
    "IMPLEMENTATIONS",
    "BenchConfig",
    "BenchResult",
    "Measurement",
    "OriginalConv1D",
    "OriginalConv2D",
    "build_model",
    "conv_class",
    "count_calls",
    "format_table",
    "format_targets",
    "format_time",
    "graph_size",
    "layer_case",
    "main",
    "mnist_training_split",
    "plot_scaling",
    "plot_step_times",
    "run_benchmark",
    "time_epochs",
    "time_layers",
    "time_train_steps",
]

IMPLEMENTATIONS: tuple[str, ...] = ("original", "loop", "vectorized", "torch.nn")
MODELS: dict[str, Callable[..., nn.Module]] = {
    "cnn1d": models.cnn1d,
    "cnn2d": models.cnn2d,
}
SLOW_IMPLEMENTATIONS = ("original", "loop")  # the Python loops
MODEL_NDIM = {"cnn1d": 1, "cnn2d": 2}
INPUT_SHAPES = {"cnn1d": (1, 784), "cnn2d": (1, 28, 28)}
BENCHMARKS = ("train step", "layer", "epoch")


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
        "vectorized": {1: vectorized.Conv1D, 2: vectorized.Conv2D},
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


# --- Results ----------------------------------------------------------------


@dataclass
class Measurement:
    """The repeated timings of one implementation on one case.

    Attributes:
        benchmark: ``"train step"``, ``"layer"`` or ``"epoch"``.
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


@dataclass
class BenchConfig:
    """What to time, and how often.

    Attributes:
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        models: networks for the training-step and epoch benchmarks.
        batch_size: samples per batch everywhere.
        repeats: interleaved repeats of every training-step timing.
        min_seconds: each timed sample runs the step or call enough times to
            last at least this long (one run if a single one is longer).
        layer_channels: ``(in, out)`` channels of the single-layer benchmark.
        kernel_size: its kernel size (padding ``kernel_size // 2``, stride 1).
        lengths_1d: input lengths of the 1D layer benchmark.
        sides_2d: image sides of the 2D layer benchmark.
        layer_repeats: interleaved repeats of every layer timing.
        epoch: time one training epoch of each model.
        epoch_batches: batches per timed epoch (None: the 750 of a full epoch).
        loop_epoch_batches: at most this many for ``"original"`` and ``"loop"``,
            whose full epochs take minutes (their time is scaled to a full
            epoch, and the table says so); None times their full epochs too.
        device: ``"cpu"``, ``"cuda"``; None picks CUDA when present.
        seed: seeds the weights and the data.
    """

    implementations: tuple[str, ...] = IMPLEMENTATIONS
    models: tuple[str, ...] = ("cnn1d", "cnn2d")
    batch_size: int = 64
    repeats: int = 5
    min_seconds: float = 0.2
    layer_channels: tuple[int, int] = (16, 32)
    kernel_size: int = 3
    lengths_1d: tuple[int, ...] = (64, 128, 256, 512, 1024)
    sides_2d: tuple[int, ...] = (8, 16, 32, 64)
    layer_repeats: int = 3
    epoch: bool = True
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

        Above 1: ``implementation`` is slower; ``ratio(..., "loop", "vectorized")``
        is the vectorised twin's speed-up over the loop.
        """
        return (
            self.find(benchmark, case, implementation).median
            / self.find(benchmark, case, reference).median
        )

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
                "median_ms": round(1000 * m.median, 4),
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
        """Everything, JSON-ready: the settings, the rows and every raw timing."""
        return {
            "device": self.device,
            "threads": self.threads,
            "torch": self.torch_version,
            "total_seconds": round(self.seconds, 1),
            "config": self.config,
            "rows": self.rows(),
            "measurements": [dataclasses.asdict(m) for m in self.measurements],
        }

    def save(self, out: str | Path) -> tuple[Path, Path]:
        """Write ``bench.csv`` (the rows) and ``bench.json`` (everything) in ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        rows = self.rows()
        csv_path, json_path = out / "bench.csv", out / "bench.json"
        with csv_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["case"])
            writer.writeheader()
            writer.writerows(rows)
        json_path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return csv_path, json_path


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


# --- Timing -----------------------------------------------------------------


def _clock(device: torch.device) -> float:
    """Seconds, after waiting for the GPU to finish what was queued."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def _calibrate(
    fn: Callable[[], object], device: torch.device, min_seconds: float
) -> int:
    """Run ``fn`` once (a warm-up) and return how many runs fill ``min_seconds``."""
    start = _clock(device)
    fn()
    once = _clock(device) - start
    return max(1, min(1000, math.ceil(min_seconds / max(once, 1e-9))))


def _time(fn: Callable[[], object], number: int, device: torch.device) -> float:
    """Seconds per run of ``fn``, over ``number`` runs in a row."""
    start = _clock(device)
    for _ in range(number):
        fn()
    return (_clock(device) - start) / number


def _interleaved(
    fns: dict[str, Callable[[], object]],
    repeats: int,
    min_seconds: float,
    device: torch.device,
    bar: tqdm,
) -> dict[str, list[float]]:
    """Time every function ``repeats`` times, taking turns; seconds per run."""
    numbers = {name: _calibrate(fn, device, min_seconds) for name, fn in fns.items()}
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            times[name].append(_time(fn, numbers[name], device))
            bar.update(1)
    return times


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


def _random_batch(
    model_name: str, batch_size: int, device: torch.device, seed: int
) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(batch_size, *INPUT_SHAPES[model_name], generator=generator)
    labels = torch.randint(0, 10, (batch_size,), generator=generator)
    return images.to(device), labels.to(device)


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

    Every implementation trains the same network from the same weights on the
    same random batch of MNIST's shape; they take turns, ``repeats`` times.

    Args:
        model_names: ``"cnn1d"`` and/or ``"cnn2d"``.
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        batch_size: images per step.
        repeats: timed samples per implementation.
        min_seconds: each sample repeats the step until it lasts this long.
        device: where to run.
        seed: seeds the weights and the batch.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
    """
    device = torch.device(device)
    model_names = list(model_names)
    measurements = []
    with tqdm(
        total=len(model_names) * len(implementations) * repeats,
        desc="training steps",
        disable=not show_progress(progress),
        file=sys.stderr,
    ) as bar:
        for name in model_names:
            images, labels = _random_batch(name, batch_size, device, seed)
            steps = {
                impl: functools.partial(
                    _train_step(build_model(name, impl, seed).to(device)),
                    images,
                    labels,
                )
                for impl in implementations
            }
            times = _interleaved(steps, repeats, min_seconds, device, bar)
            measurements += [
                Measurement("train step", name, 0, impl, times[impl])
                for impl in implementations
            ]
    return measurements


def layer_case(ndim: int, size: int) -> str:
    """The name of a single-layer case: ``"Conv1D L=1024"``, ``"Conv2D 64x64"``."""
    return f"Conv1D L={size}" if ndim == 1 else f"Conv2D {size}x{size}"


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
) -> list[Measurement]:
    """Seconds per forward and backward pass of one convolution layer, per size.

    The layer maps ``channels[0]`` to ``channels[1]`` channels with stride 1 and
    padding ``kernel_size // 2`` (the output is as large as the input); the
    backward pass computes the gradients of the input, weight and bias, as for
    a layer inside a network.

    Args:
        ndim: 1 (input length ``size``) or 2 (``size x size`` images).
        sizes: the input lengths or image sides, smallest first.
        implementations: which of :data:`IMPLEMENTATIONS` to time.
        channels: input and output channels.
        kernel_size: the kernel's size in each dimension.
        batch_size: samples per batch.
        repeats: timed samples per implementation and size.
        min_seconds: each sample repeats the call until it lasts this long.
        device: where to run.
        seed: seeds the weights and the input.
        progress: show a progress bar; default from ``BOOK_SRC_PROGRESS``.
    """
    device = torch.device(device)
    measurements = []
    with tqdm(
        total=len(sizes) * len(implementations) * repeats,
        desc=f"{ndim}D layer sizes",
        disable=not show_progress(progress),
        file=sys.stderr,
    ) as bar:
        for size in sizes:
            generator = torch.Generator().manual_seed(seed)
            shape = (batch_size, channels[0], *(size,) * ndim)
            x = torch.randn(shape, generator=generator).to(device).requires_grad_()
            grad = torch.randn(
                (batch_size, channels[1], *(size,) * ndim), generator=generator
            ).to(device)
            calls = {}
            for impl in implementations:
                set_seed(seed)
                layer = conv_class(impl, ndim)(
                    *channels, kernel_size=kernel_size, padding=kernel_size // 2
                ).to(device)
                calls[impl] = _forward_backward(layer, x, grad)
            times = _interleaved(calls, repeats, min_seconds, device, bar)
            measurements += [
                Measurement("layer", layer_case(ndim, size), size, impl, times[impl])
                for impl in implementations
            ]
    return measurements


def _forward_backward(layer: nn.Module, x: Tensor, grad: Tensor) -> Callable[[], None]:
    def call() -> None:
        x.grad = None
        layer.zero_grad(set_to_none=True)
        layer(x).backward(grad)

    return call


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
        loop_max_batches: at most this many for the slow loop implementations,
            ``"original"`` and ``"loop"`` (None: as many as the others).
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
    if config.models:
        result.measurements += time_train_steps(
            config.models,
            impls,
            config.batch_size,
            config.repeats,
            config.min_seconds,
            **common,
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
                config.layer_repeats,
                config.min_seconds,
                **common,
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
    images = dataset.data[index].unsqueeze(1).float() / 255
    return images, dataset.targets[index]


# --- Reporting --------------------------------------------------------------

TITLES = {
    "train step": "Training step: forward, backward and Adam step",
    "layer": "One layer, forward and backward",
    "epoch": "One training epoch",
}


def format_time(seconds: float) -> str:
    """``"5.12 s"``, ``"43.1 ms"`` or ``"512 µs"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{1000 * seconds:.1f} ms"
    return f"{1e6 * seconds:.0f} µs"


COLUMN_WIDTHS = (9, 15, 16)  # time, time / torch.nn, loop time / time


def format_table(result: BenchResult, align: bool = False) -> str:
    """The measurements as text tables, one per benchmark.

    Columns: the median time, that time divided by torch.nn's, and the book's
    loop time divided by it (the speed-up over the loop layers). Times print as
    ``43.1 ms`` and ratios as ``7.3x``.

    Args:
        result: what :func:`run_benchmark` returned.
        align: pad the numbers into columns (for a terminal). Without it,
            nothing but the numbers themselves changes from run to run, which
            the book's notebook tests rely on.
    """
    lines = [
        f"Measured on {result.device} with {result.threads} threads; "
        "medians over interleaved repeats."
    ]
    cases = {}
    for m in result.measurements:
        cases.setdefault(m.benchmark, {}).setdefault(m.case, []).append(m)
    width = max((len(c) for b in cases.values() for c in b), default=5)
    impl_width = len("implementation")
    for benchmark, by_case in cases.items():
        batch = result.config.get("batch_size")
        repeats = max(len(m.seconds) for ms in by_case.values() for m in ms)
        header = ["time", "time / torch.nn", "loop time / time"]
        if align:
            header = [f"{h:>{w}}" for h, w in zip(header, COLUMN_WIDTHS)]
        lines += [
            "",
            f"{TITLES[benchmark]} (batch {batch}, median of {repeats}):",
            f"{'case':<{width}} | {'implementation':<{impl_width}} | "
            + " | ".join(header),
        ]
        notes: dict[str, list[str]] = {}
        for case, ms in by_case.items():
            for m in ms:
                cells = [format_time(m.median)]
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


# Targets of the issue that introduced this benchmark: (benchmark, case,
# implementation, reference, bound, at most). Ratios are time / reference time.
TARGETS: list[tuple[str, str, str, str, float, bool]] = [
    ("train step", "cnn1d", "loop", "original", 1.1, True),
    ("train step", "cnn2d", "loop", "original", 1.1, True),
    ("train step", "cnn1d", "vectorized", "torch.nn", 1.2, True),
    ("train step", "cnn2d", "vectorized", "torch.nn", 2.0, True),
    ("layer", "Conv1D L=1024", "loop", "vectorized", 30.0, False),
    ("layer", "Conv2D 64x64", "loop", "vectorized", 15.0, False),
    ("layer", "Conv1D L=1024", "vectorized", "torch.nn", 3.0, True),
    ("layer", "Conv2D 64x64", "vectorized", "torch.nn", 5.0, True),
]


def format_targets(result: BenchResult) -> str:
    """Each target ratio the run could measure: its value, and whether it holds."""
    lines = ["Targets (ratios of median times measured in this run):"]
    if result.device != "cpu":
        lines.append(
            f"  (these targets were set for a 2-core CPU; on {result.device} "
            "they are for comparison only)"
        )
    for benchmark, case, impl, reference, bound, at_most in TARGETS:
        try:
            value = result.ratio(benchmark, case, impl, reference)
        except KeyError:
            continue
        ok = value <= bound if at_most else value >= bound
        sign = "<=" if at_most else ">="
        lines.append(
            f"  {benchmark}, {case}: {impl} / {reference} = {value:.2f}x "
            f"(target {sign} {bound}x): {'ok' if ok else 'MISSED'}"
        )
    return "\n".join(lines)


COLOURS = {
    "original": "tab:gray",
    "loop": "tab:red",
    "vectorized": "tab:blue",
    "torch.nn": "tab:green",
}


def plot_step_times(result: BenchResult, benchmark: str = "train step") -> Any:
    """Bar chart: median time of each implementation, one group per network.

    Returns the matplotlib Figure (log scale: the bars span two decades).
    """
    import matplotlib.pyplot as plt

    cases: dict[str, list[Measurement]] = {}
    for m in result.measurements:
        if m.benchmark == benchmark:
            cases.setdefault(m.case, []).append(m)
    impls = [i for i in IMPLEMENTATIONS if i in result.config["implementations"]]
    fig, ax = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(1, len(impls))
    for k, impl in enumerate(impls):
        xs, heights = [], []
        for c, case in enumerate(cases):
            try:
                heights.append(1000 * result.find(benchmark, case, impl).median)
            except KeyError:
                continue
            xs.append(c + (k - (len(impls) - 1) / 2) * width)
        bars = ax.bar(xs, heights, width, label=impl, color=COLOURS[impl])
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)
    ax.set_xticks(range(len(cases)), list(cases))
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{TITLES[benchmark]}, batch {result.config['batch_size']}")
    ax.legend(fontsize=8, ncols=2)
    ax.margins(y=0.2)
    fig.tight_layout()
    return fig


def plot_scaling(result: BenchResult) -> Any:
    """Log-log plot of the single-layer time against the input size.

    One panel per dimension (length in 1D, side in 2D), one line per
    implementation. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    layer = [m for m in result.measurements if m.benchmark == "layer"]
    panels = sorted({m.case.split()[0] for m in layer})
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4 * len(panels), 3.2), squeeze=False
    )
    for ax, panel in zip(axes.flat, panels):
        for impl in IMPLEMENTATIONS:
            points = sorted(
                (m.size, 1000 * m.median)
                for m in layer
                if m.implementation == impl and m.case.startswith(panel)
            )
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, "o-", label=impl, color=COLOURS[impl], markersize=4)
        ax.set_xscale("log", base=2)
        sizes = sorted({m.size for m in layer if m.case.startswith(panel)})
        ax.set_xticks(sizes, [str(size) for size in sizes])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_yscale("log")
        ax.set_xlabel("input length" if panel == "Conv1D" else "image side (pixels)")
        ax.set_ylabel("milliseconds")
        channels = result.config["layer_channels"]
        ax.set_title(f"{panel} {channels[0]}→{channels[1]}, forward + backward")
        ax.grid(True, which="major", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


# --- Command line -----------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m book_src.bench [--out DIR] [--quick] ...``.

    Args:
        argv: arguments without the program name; ``sys.argv[1:]`` if None.

    Returns:
        The exit status, 0.
    """
    parser = argparse.ArgumentParser(
        prog="python -m book_src.bench",
        description="Time the original loop, the book's loop layers, their "
        "vectorised twins and torch.nn; print a table, save CSV, JSON and figures.",
    )
    parser.add_argument("--out", type=Path, default=Path("_build/bench"))
    parser.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    parser.add_argument("--repeats", type=int, default=BenchConfig.repeats)
    parser.add_argument(
        "--epoch-batches",
        type=int,
        default=None,
        help="time at most this many batches per epoch (default: all 750)",
    )
    parser.add_argument(
        "--full-epochs",
        action="store_true",
        help="time full epochs of the loops too (default: their first "
        f"{BenchConfig.loop_epoch_batches} batches, scaled up; adds minutes)",
    )
    parser.add_argument("--no-epoch", action="store_true", help="skip the epochs")
    parser.add_argument(
        "--quick", action="store_true", help="a fast smoke run: small sizes, 2 repeats"
    )
    args = parser.parse_args(argv)
    config = BenchConfig(
        repeats=args.repeats,
        epoch=not args.no_epoch,
        epoch_batches=args.epoch_batches,
        loop_epoch_batches=None if args.full_epochs else BenchConfig.loop_epoch_batches,
        device=args.device,
    )
    if args.quick:
        config = dataclasses.replace(
            config,
            repeats=2,
            layer_repeats=2,
            min_seconds=0.05,
            lengths_1d=(64, 256),
            sides_2d=(8, 16),
            epoch_batches=args.epoch_batches or 20,
        )
    result = run_benchmark(config)
    print(format_table(result, align=True))
    print()
    print(format_targets(result))
    csv_path, json_path = result.save(args.out)
    import matplotlib

    matplotlib.use("Agg")
    plot_step_times(result).savefig(args.out / "train_step.png", dpi=120)
    plot_scaling(result).savefig(args.out / "scaling.png", dpi=120)
    print(
        f"\nSaved {csv_path}, {json_path} and two figures in {args.out}/ "
        f"(whole run: {result.seconds:.0f} s)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
