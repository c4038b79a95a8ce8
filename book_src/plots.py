"""Figures shared by chapters 3 to 5: digits, training curves, confusion matrices.

Each function draws one matplotlib figure and returns it. In a notebook, assign
the result (``fig = plot_history(...)``) so the figure shows once.
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
    "plot_confusion_matrix",
    "plot_history",
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
        nrows, ncols, figsize=(size * ncols, size * nrows * 1.15), squeeze=False
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
    maps: Tensor, title: str | None = None, ncols: int = 8, cmap: str = "viridis"
) -> Figure:
    """Draw the channels of one ``(C, H, W)`` tensor (filters or feature maps)."""
    maps = maps.detach().cpu()
    fig = show_images(
        list(maps), titles=[str(c) for c in range(len(maps))], ncols=ncols
    )
    for ax, image in zip(fig.axes, maps):
        ax.images[0].set_cmap(cmap)
        ax.images[0].set_clim(image.min().item(), image.max().item())
    if title:
        fig.suptitle(title)
        fig.tight_layout()
    return fig


def plot_history(histories: History | Mapping[str, History]) -> Figure:
    """Training and validation loss per epoch, for one run or several named runs."""
    if isinstance(histories, History):
        histories = {"": histories}
    fig, ax = plt.subplots(figsize=(6, 3.5))
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


def plot_confusion_matrix(
    predictions: Tensor, labels: Tensor, num_classes: int = 10
) -> Figure:
    """Counts of (true class, predicted class) for a classifier's predictions.

    The diagonal (the correct answers) is left out of the colour scale so that
    the mistakes stand out.
    """
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    counts.index_put_(
        (labels.long(), predictions.long()),
        torch.ones_like(labels.long()),
        accumulate=True,
    )
    mistakes = counts.clone().fill_diagonal_(0)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(mistakes.numpy(), cmap="Reds")
    for i in range(num_classes):
        for j in range(num_classes):
            value = counts[i, j].item()
            if value:
                weight = "bold" if i == j else "normal"
                ax.text(
                    j, i, value, ha="center", va="center", fontsize=8, weight=weight
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
