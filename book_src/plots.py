"""Figures shared by chapters 3 to 5: digits, filters, feature maps, training curves.

Each function draws one matplotlib figure and returns it. In a notebook, assign
the result (``fig = plot_history(...)``) so the figure shows once. Every figure
has an opaque white background, so it stays readable on a dark page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import Tensor

from book_src.training import History

__all__ = [
    "confusion_matrix",
    "largest_confusions",
    "plot_confusion_matrix",
    "plot_history",
    "show_filters",
    "show_grid",
    "show_images",
]


def show_images(
    images: Tensor | Sequence[Tensor],
    titles: Sequence[str] | None = None,
    ncols: int = 8,
    size: float = 1.2,
    cmap: str = "gray",
) -> Figure:
    """Draw single-channel images in a grid, each with an optional title.

    Args:
        images: ``(N, H, W)`` or ``(N, 1, H, W)`` (a flattened MNIST digit of 784
            pixels is reshaped to 28 x 28).
        titles: one short title per image.
        ncols: images per row.
        size: inches per image.
        cmap: matplotlib colour map.
    """
    images = [_as_2d(img) for img in images]
    nrows = max(1, math.ceil(len(images) / ncols))
    ncols = min(ncols, max(1, len(images)))
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols, size * nrows * 1.15),
        squeeze=False,
        facecolor="white",
    )
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

    Args:
        maps: one image per channel.
        title: drawn above the grid.
        ncols: images per row.
        cmap: matplotlib colour map.
        shared: one colour scale for every channel, from the smallest to the
            largest value of the whole tensor, shown by a colour bar, so that
            channels compare (a dark map has small values). If ``False``, each
            channel is stretched to its own range (its pattern shows, its
            strength does not) and there is no colour bar.
        size: inches per image.
    """
    maps = maps.detach().cpu()
    fig = show_images(
        list(maps),
        titles=[str(c) for c in range(len(maps))],
        ncols=ncols,
        size=size,
        cmap=cmap,
    )
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
    fig = show_images(
        list(weights),
        titles=[str(c) for c in range(len(weights))],
        ncols=ncols,
        size=size,
        cmap="RdBu_r",
    )
    for ax, image in zip(fig.axes, weights):
        ax.images[0].set_clim(-reach, reach)
        for (r, c), w in _cells(image):
            color = "white" if abs(w) > 0.6 * reach else "black"
            label = f"{round(w, 1) + 0.0:.1f}"  # + 0.0: no "-0.0"
            ax.text(c, r, label, ha="center", va="center", fontsize=8, color=color)
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    colorbar = fig.colorbar(fig.axes[0].images[0], ax=fig.axes, shrink=0.8, pad=0.02)
    colorbar.set_label("weight", fontsize=8)
    return fig


def _cells(image: Tensor):
    """``((row, column), value)`` for every pixel of a 2D tensor."""
    rows, cols = image.shape
    return (((r, c), image[r, c].item()) for r in range(rows) for c in range(cols))


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
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    counts.index_put_(
        (labels.long(), predictions.long()),
        torch.ones_like(labels.long()),
        accumulate=True,
    )
    return counts


def largest_confusions(counts: Tensor, n: int = 5) -> list[tuple[int, int, int]]:
    """The ``n`` largest off-diagonal cells of a confusion matrix.

    Returns:
        ``(true class, predicted class, count)``, largest count first (ties in
        row-major order).
    """
    mistakes = counts.clone().fill_diagonal_(0).flatten()
    order = sorted(range(len(mistakes)), key=lambda k: -mistakes[k].item())
    size = counts.shape[1]
    return [
        (k // size, k % size, mistakes[k].item()) for k in order[:n] if mistakes[k] > 0
    ]


def plot_confusion_matrix(
    predictions: Tensor, labels: Tensor, num_classes: int = 10
) -> Figure:
    """Counts of (true class, predicted class) for a classifier's predictions.

    The diagonal (the correct answers) is left out of the colour scale so that
    the mistakes stand out.
    """
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
                ax.text(
                    j,
                    i,
                    value,
                    ha="center",
                    va="center",
                    fontsize=8,
                    weight=weight,
                    color=color,
                )
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
