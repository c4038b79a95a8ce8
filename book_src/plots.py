"""Figures of chapters 3 to 6: digits, filters, feature maps, curves, timings.

Each function draws one matplotlib figure, opaque white (readable on a dark page),
and returns it: assign it (``fig = plot_history(...)``) so a notebook shows it once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator
from torch import Tensor

from book_src.timing import TITLES, Measurement, Timings
from book_src.training import History

__all__ = [
    "confusion_matrix",
    "largest_confusions",
    "plot_confusion_matrix",
    "plot_history",
    "plot_memory",
    "plot_scaling",
    "plot_step_times",
    "show_filters",
    "show_grid",
    "show_images",
]


def _figure(rows: int, cols: int, size: tuple[float, float]) -> tuple[Figure, Any]:
    """A grid of axes on a white figure."""
    return plt.subplots(rows, cols, figsize=size, squeeze=False, facecolor="white")


def show_images(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.2,
    cmap: str = "gray",
) -> Figure:
    """Draw ``(N, H, W)`` or ``(N, 1, H, W)`` images in a grid, ``size`` inches each.

    A flattened MNIST digit of 784 pixels is reshaped to 28 x 28.
    """
    images = [_as_2d(img) for img in images]
    nrows = max(1, math.ceil(len(images) / ncols))
    ncols = min(ncols, max(1, len(images)))
    inches = (size * ncols, size * nrows * 1.15)
    fig, axes = _figure(nrows, ncols, inches)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(images):
            ax.imshow(images[k].numpy(), cmap=cmap)
            if titles is not None:
                ax.set_title(titles[k], fontsize=9)
    fig.tight_layout()
    return fig


def show_grid(
    maps: Tensor,
    title: str | None = None,
    ncols: int = 8,
    cmap: str = "viridis",
    shared: bool = True,
    size: float = 1.2,
) -> Figure:
    """Draw the channels of one ``(C, H, W)`` tensor, such as a layer's feature maps.

    ``shared``: one colour scale (and a colour bar) for all, so channels compare;
    else each channel is stretched to its own range.
    """
    maps = maps.detach().cpu()
    titles = [str(c) for c in range(len(maps))]
    fig = show_images(list(maps), titles=titles, ncols=ncols, size=size, cmap=cmap)
    low, high = maps.min().item(), maps.max().item()
    for ax, image in zip(fig.axes, maps):
        if not shared:
            low, high = image.min().item(), image.max().item()
        ax.images[0].set_clim(low, high)
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    if shared:
        fig.colorbar(fig.axes[0].images[0], ax=fig.axes, shrink=0.8, pad=0.02)
    return fig


def show_filters(
    weights: Tensor, title: str | None = None, ncols: int = 4, size: float = 1.4
) -> Figure:
    """Draw 2D filters ``(C, kH, kW)`` with a diverging colour map centred on zero.

    Positive weights are red, negative ones blue, zero white; all filters share
    one symmetric scale, ``-m`` to ``m`` with ``m`` the largest absolute weight,
    shown by a colour bar. Each weight's value is written in its square.
    """
    weights = weights.detach().cpu()
    reach = max(weights.abs().max().item(), 1e-12)
    titles = [str(c) for c in range(len(weights))]
    fig = show_images(
        list(weights), titles=titles, ncols=ncols, size=size, cmap="RdBu_r"
    )
    for ax, image in zip(fig.axes, weights):
        ax.images[0].set_clim(-reach, reach)
        for (r, c), w in np.ndenumerate(image.double().numpy()):
            color = "white" if abs(w) > 0.6 * reach else "black"
            label = f"{round(float(w), 1) + 0.0:.1f}"  # + 0.0: no "-0.0"
            ax.text(c, r, label, ha="center", va="center", fontsize=8, color=color)
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    colorbar = fig.colorbar(fig.axes[0].images[0], ax=fig.axes, shrink=0.8, pad=0.02)
    colorbar.set_label("weight", fontsize=8)
    return fig


def plot_history(histories: History | Mapping[str, History]) -> Figure:
    """Training and validation loss per epoch, for one run or several named runs."""
    if isinstance(histories, History):
        histories = {"": histories}
    fig, ax = plt.subplots(figsize=(6, 3.5), facecolor="white")
    for k, (name, history) in enumerate(histories.items()):
        epochs = range(1, history.epochs + 1)
        color = f"C{k}"
        label = f"{name} " if name else ""
        ax.plot(epochs, history.train_loss, "o-", color=color, label=f"{label}train")
        ax.plot(
            epochs, history.val_loss, "s--", color=color, label=f"{label}validation"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_xticks(range(1, max(h.epochs for h in histories.values()) + 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def confusion_matrix(
    predictions: Tensor, labels: Tensor, num_classes: int = 10
) -> Tensor:
    """Counts ``(num_classes, num_classes)``: row = true class, column = predicted."""
    pairs = labels.long() * num_classes + predictions.long()  # (true, predicted)
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    return counts.view(num_classes, num_classes)


def largest_confusions(counts: Tensor, n: int = 5) -> list[tuple[int, int, int]]:
    """``(true, predicted, count)`` of the ``n`` largest mistakes, largest first."""
    mistakes = counts.clone().fill_diagonal_(0).flatten()
    order = sorted(range(len(mistakes)), key=lambda k: -mistakes[k].item())
    size = counts.shape[1]
    return [
        (k // size, k % size, mistakes[k].item()) for k in order[:n] if mistakes[k] > 0
    ]


def plot_confusion_matrix(
    predictions: Tensor, labels: Tensor, num_classes: int = 10
) -> Figure:
    """Counts of (true, predicted) class; the colours leave out the diagonal."""
    counts = confusion_matrix(predictions, labels, num_classes)
    mistakes = counts.clone().fill_diagonal_(0)
    fig, ax = plt.subplots(figsize=(5.5, 5), facecolor="white")
    ax.imshow(mistakes.numpy(), cmap="Reds")
    high = max(mistakes.max().item(), 1)
    for i in range(num_classes):
        for j in range(num_classes):
            value = counts[i, j].item()
            if value:
                weight = "bold" if i == j else "normal"
                color = "white" if i != j and value > 0.6 * high else "black"
                cell = {"ha": "center", "va": "center", "fontsize": 8}
                ax.text(j, i, value, weight=weight, color=color, **cell)
    ax.set_xticks(range(num_classes))
    ax.set_yticks(range(num_classes))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return fig


def _as_2d(image: Tensor) -> Tensor:
    image = image.detach().cpu().squeeze()
    if image.dim() == 1:
        side = math.isqrt(image.numel())
        image = image.reshape(side, side)
    return image


# --- Chapter 6: what timing.py measured ---------------------------------------

COLOURS = {
    "original": "tab:gray",
    "loop": "tab:red",
    "unbind": "tab:orange",
    "taps": "tab:purple",
    "im2col": "tab:blue",
    "torch.nn": "tab:green",
}


def plot_step_times(result: Timings, benchmark: str = "train step") -> Any:
    """Median time per implementation and network; whiskers: fastest to slowest."""
    cases = [m.case for m in result.measurements if m.benchmark == benchmark]
    cases = list(dict.fromkeys(cases))  # each once, in the order measured
    impls = result.implementations
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
    ax.set_xticks(range(len(cases)), cases)
    ax.set_yscale("log")
    ax.set_ylabel("milliseconds")
    ax.set_title(f"{TITLES[benchmark]}, batch {result.batch_size}")
    ax.legend(fontsize=8, ncols=3)
    ax.margins(y=0.25)
    fig.tight_layout()
    return fig


def _positions(m: Measurement) -> int:
    """Output positions of a layer case (padding keeps the input's size)."""
    return m.size if m.case.startswith("Conv1D") else m.size * m.size


def plot_scaling(result: Timings, implementations: Sequence[str] | None = None) -> Any:
    """Log-log forward and backward time against output positions, per dimension.

    Dashed lines of slope 1 and 2 run from the loop's first point to its last.
    """
    impls = implementations or result.implementations
    panels = sorted({m.case.split()[0] for m in result.measurements if m.size})
    fig, axes = _figure(len(panels), 2, (9, 3.3 * len(panels)))
    channels = result.channels
    for row, panel in zip(axes, panels):
        in_panel = [m for m in result.measurements if m.case.startswith(panel)]
        for ax, benchmark in zip(row, ("forward", "backward")):
            ms = [m for m in in_panel if m.benchmark == benchmark]
            for impl in impls:
                mine = [m for m in ms if m.implementation == impl]
                points = sorted((_positions(m), 1000 * m.median) for m in mine)
                if points:
                    xs, ys = zip(*points)
                    ax.plot(xs, ys, "o-", label=impl, color=COLOURS[impl], markersize=4)
            sizes = sorted({_positions(m) for m in ms})
            anchor = "loop" if "loop" in impls else impls[0]
            first = [m for m in ms if m.implementation == anchor]
            if first:  # from the loop's first point to its last
                low = min(first, key=lambda m: m.size)
                high = max(first, key=lambda m: m.size)
                x0, x1 = _positions(low), _positions(high)
                y0 = 1000 * low.median
                for slope, style in ((1, "--"), (2, ":")):
                    ys = [y0, y0 * (x1 / x0) ** slope]
                    line = {"color": "black", "linewidth": 1, "label": f"slope {slope}"}
                    ax.plot([x0, x1], ys, style, **line)
            ax.set_xscale("log", base=2)
            ax.set_xticks(sizes, [f"{s:,}" for s in sizes], fontsize=8)
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_yscale("log")
            unit = "length" if panel == "Conv1D" else "side²"
            ax.set_xlabel(f"output positions (= {unit})")
            ax.set_ylabel("milliseconds")
            ax.set_title(f"{panel} {channels[0]}→{channels[1]}, {benchmark}")
            ax.grid(True, which="major", alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncols=2)
    fig.tight_layout()
    return fig


def plot_memory(result: Timings) -> Any:
    """Log-log peak memory against input size, with the input's own size dashed."""
    panels = sorted(result.memory)
    fig, axes = _figure(1, len(panels), (4.5 * len(panels), 3.3))
    c_in = result.channels[0]
    batch = result.batch_size
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
