"""Seeding, data loaders and the fit/evaluate loop of chapters 3 to 7.

Everything random takes an explicit seed: the initial weights (``set_seed``), the
train/validation split and the order of the training batches. With the same seed
and the same number of threads, a run repeats bit for bit. Progress bars show
unless ``BOOK_SRC_PROGRESS=0``, which ``make notebooks`` and ``make test`` set so
that committed outputs hold none.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, random_split
from tqdm.auto import tqdm

__all__ = [
    "Evaluation",
    "History",
    "Loaders",
    "default_device",
    "evaluate",
    "fit",
    "make_loaders",
    "predict",
    "set_seed",
    "show_progress",
]


def set_seed(seed: int = 0) -> None:
    """Seed Python's, NumPy's and PyTorch's random generators."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (seeds the legacy global generator)
    torch.manual_seed(seed)


def default_device() -> torch.device:
    """CUDA when a GPU is present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def show_progress(progress: bool | None = None) -> bool:
    """``progress`` if given, else whether ``BOOK_SRC_PROGRESS`` is not ``0``."""
    if progress is not None:
        return progress
    return os.environ.get("BOOK_SRC_PROGRESS", "1") != "0"


@dataclass
class Loaders:
    """The three data loaders of an experiment."""

    train: DataLoader
    val: DataLoader
    test: DataLoader


def make_loaders(
    train_set: Dataset,
    test_set: Dataset,
    batch_size: int = 64,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Loaders:
    """Split ``train_set`` into train and validation, and batch all three sets.

    ``seed`` draws the split and the order of the training batches; validation and
    test batches keep their order.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    split = torch.Generator().manual_seed(seed)
    train, val = random_split(train_set, [1 - val_fraction, val_fraction], split)
    shuffle = torch.Generator().manual_seed(seed)
    return Loaders(
        train=DataLoader(train, batch_size=batch_size, shuffle=True, generator=shuffle),
        val=DataLoader(val, batch_size=batch_size),
        test=DataLoader(test_set, batch_size=batch_size),
    )


@dataclass
class History:
    """What ``fit`` measured, one entry per completed epoch."""

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train_loss)


@dataclass
class Evaluation:
    """Mean loss and accuracy (in percent) of a model on one data set."""

    loss: float
    accuracy: float
    correct: int
    total: int


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader,
    epochs: int = 5,
    lr: float = 1e-3,
    device: torch.device | str | None = None,
    progress: bool | None = None,
    log: Callable[[str], None] | None = print,
) -> History:
    """Train ``model`` with Adam and cross-entropy, validating after each epoch.

    Interrupted (Ctrl-C, the stop button), it returns the epochs completed so far.
    A loss that becomes NaN or infinite raises a FloatingPointError.
    """
    device = torch.device(device) if device is not None else default_device()
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    history = History()
    show = show_progress(progress)
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            model.train()
            total, batches = 0.0, 0
            bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}", disable=not show)
            for images, labels in bar:
                images, labels = images.to(device), labels.to(device)
                loss = criterion(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                value = loss.item()
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch}, batch {batches + 1}"
                        f"; try a smaller learning rate (lr={lr})"
                    )
                total += value
                batches += 1
                bar.set_postfix(loss=f"{total / batches:.4f}", refresh=False)
            bar.close()
            val = evaluate(model, val_loader, device)
            history.train_loss.append(total / batches)
            history.val_loss.append(val.loss)
            history.val_accuracy.append(val.accuracy)
            history.epoch_seconds.append(time.perf_counter() - start)
            if log is not None:
                log(
                    f"epoch {epoch}/{epochs}: train loss {history.train_loss[-1]:.4f}, "
                    f"val loss {val.loss:.4f}, val accuracy {val.accuracy:.2f} % "
                    f"({history.epoch_seconds[-1]:.1f} s)"
                )
    except KeyboardInterrupt:
        if log is not None:
            log(
                f"interrupted: keeping the {history.epochs} completed epoch(s) "
                "and the weights reached so far"
            )
    return history


@torch.no_grad()
def predict(
    model: nn.Module, loader: DataLoader, device: torch.device | str | None = None
) -> tuple[Tensor, Tensor]:
    """Predicted and true labels of every sample in ``loader``, on the CPU."""
    device = torch.device(device) if device is not None else default_device()
    model.to(device).eval()
    predictions, labels = [], []
    for images, targets in loader:
        predictions.append(model(images.to(device)).argmax(dim=1).cpu())
        labels.append(targets)
    return torch.cat(predictions), torch.cat(labels)


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, device: torch.device | str | None = None
) -> Evaluation:
    """Mean cross-entropy and accuracy of ``model`` over ``loader``."""
    device = torch.device(device) if device is not None else default_device()
    model.to(device).eval()
    loss_sum, correct, total = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        scores = model(images)
        loss_sum += nn.functional.cross_entropy(scores, labels, reduction="sum").item()
        correct += (scores.argmax(dim=1) == labels).sum().item()
        total += labels.numel()
    if total == 0:
        raise ValueError("evaluate: the loader yielded no samples")
    return Evaluation(loss_sum / total, 100 * correct / total, correct, total)
