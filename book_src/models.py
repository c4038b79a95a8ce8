"""The networks of the course: cnn1d (chapter 3), cnn2d (chapter 4), cnn3d (chapter 5).

Each takes a ``conv`` argument: the convolution class to build it from. The default
is this course's loop layer; ``torch.nn.Conv1d`` (or any class with the same
signature, such as ``book_src.vectorized.Im2colConv1D``) builds the same architecture
on another implementation, so one network can be compared across all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from book_src.layers import Conv1D, Conv2D, Conv3D, output_size

__all__ = ["cnn1d", "cnn2d", "cnn3d", "count_parameters"]

ConvFactory = Callable[..., nn.Module]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class cnn1d(nn.Module):
    """MNIST read as a sequence of 784 pixels, through three 1D convolutions.

    Convolutions 1 -> 8 -> 16 -> 32 channels, kernel 3, padding 1, stride 2 each
    (784 -> 392 -> 196 -> 98 positions), ReLU after each, then
    ``Linear(32 * 98 = 3136, 10)``: 33,370 parameters. Input ``(N, 1, 784)``.
    """

    def __init__(self, conv: ConvFactory = Conv1D) -> None:
        super().__init__()
        self.conv1 = conv(1, 8, kernel_size=3, stride=2, padding=1)
        self.conv2 = conv(8, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = conv(16, 32, kernel_size=3, stride=2, padding=1)
        self.fc = nn.Linear(3136, 10)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores ``(N, 10)`` for images flattened to ``(N, 1, 784)``."""
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        return self.fc(x.flatten(1))  # (N, 32, 98) -> (N, 3136) -> (N, 10)


class cnn2d(nn.Module):
    """MNIST as 28 x 28 images, through three 2D convolutions.

    Convolutions 1 -> 8 -> 16 -> 32 channels, kernel 3, padding 1, strides 2, 2, 1
    (28 -> 14 -> 7 -> 7 pixels a side), ReLU after each, then
    ``Linear(32 * 7 * 7 = 1568, 10)``: 21,578 parameters. Input ``(N, 1, 28, 28)``.
    """

    def __init__(self, conv: ConvFactory = Conv2D) -> None:
        super().__init__()
        self.conv1 = conv(1, 8, kernel_size=3, stride=2, padding=1)
        self.conv2 = conv(8, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = conv(16, 32, kernel_size=3, stride=1, padding=1)
        self.fc = nn.Linear(1568, 10)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores ``(N, 10)`` for images ``(N, 1, 28, 28)``."""
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        return self.fc(x.flatten(1))  # (N, 32, 7, 7) -> (N, 1568) -> (N, 10)


class cnn3d(nn.Module):
    """Short videos ``(N, 1, T, H, W)`` through three 3D convolutions.

    Convolutions 1 -> 8 -> 16 -> 32 channels, kernel 3, padding 1, stride 2 in
    time and space, ReLU after each, then a Linear, sized from ``clip_shape``
    ``(T, H, W)``, to ``num_classes`` scores.
    """

    def __init__(
        self,
        clip_shape: Sequence[int] = (8, 32, 32),
        num_classes: int = 4,
        conv: ConvFactory = Conv3D,
    ) -> None:
        super().__init__()
        self.conv1 = conv(1, 8, kernel_size=3, stride=2, padding=1)
        self.conv2 = conv(8, 16, kernel_size=3, stride=2, padding=1)
        self.conv3 = conv(16, 32, kernel_size=3, stride=2, padding=1)
        sizes = list(clip_shape)
        for _ in range(3):  # each convolution halves T, H and W (rounding up)
            sizes = [output_size(s, kernel_size=3, stride=2, padding=1) for s in sizes]
        self.fc = nn.Linear(32 * sizes[0] * sizes[1] * sizes[2], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores ``(N, num_classes)`` for clips ``(N, 1, T, H, W)``."""
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.relu(self.conv3(x))
        return self.fc(x.flatten(1))
