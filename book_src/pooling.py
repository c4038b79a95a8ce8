"""Max and average pooling written as plain Python loops (chapter 2).

Pooling slides the convolution's window (the same ``positions`` and
``window_index`` as :class:`book_src.layers.ConvNd`) and keeps, per channel, the
largest value of each window or their mean: no Linear, no weights. Chapter 2
teaches the 1D loops; the 2D classes are the same loops over ``(i, j)``, and
``MaxPoolNd`` and ``AvgPoolNd`` work in any number of dimensions. Constructors
mirror ``torch.nn``'s pools.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src.layers import ConvNd, output_size
from book_src.torch_twin import IntOrTuple, TorchTwin, as_tuple, pad_pairs

__all__ = [
    "AvgPool1D",
    "AvgPool2D",
    "AvgPoolNd",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPoolNd",
    "PoolNd",
]


class PoolNd(TorchTwin):
    """What max and average pooling share: the window, its padding, the repr.

    ``stride=None`` means ``kernel_size``; the padding is at most half the kernel.
    """

    # The convolution's sliding window (chapter 1), unchanged.
    positions = ConvNd.positions
    window_index = ConvNd.window_index

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None,
        padding: IntOrTuple,
        dilation: IntOrTuple,
        ceil_mode: bool,
    ) -> None:
        super().__init__()
        # stride=None: one window right after the other.
        self.set_window(
            kernel_size, kernel_size if stride is None else stride, dilation
        )
        self.padding = as_tuple(padding, self.ndim, "padding", self.name)
        if any(p < 0 or p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"{self.name}: padding must be between 0 and half the kernel size "
                f"(kernel_size {self.kernel_size}), got {self.padding}"
            )
        self.ceil_mode = bool(ceil_mode)

    def extra_repr(self) -> str:
        """What torch.nn's pools print first (kernel size to ceil_mode)."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, ceil_mode={self.ceil_mode}"
        )


class MaxPoolNd(PoolNd):
    """Max pooling: the largest value of every window, one channel at a time.

    The arguments are ``torch.nn.MaxPool1d``'s; the padding is ``-inf``;
    ``return_indices`` also returns where each maximum came from, as a flat index
    into the input's spatial dimensions.
    """

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Max-pool ``(N, C, *spatial)`` or ``(C, *spatial)`` input."""
        x, unbatched = self.check_input(input, channels=None)
        n, c, *sizes = x.shape
        padded, out_size, sides = pad_for_pooling(self, x, value=-math.inf)
        # Where each padded element sits in the input, as a flat index; -1 in padding.
        where = torch.arange(math.prod(sizes), device=x.device).view(sizes)
        where = F.pad(where, pad_pairs(sides), value=-1)

        values, indices = [], []
        for position in self.positions(out_size):
            index = self.window_index(position)
            inside = where[index[2:]].flatten()  # input positions of this window
            real = inside >= 0  # padding never wins, as in torch.nn
            if not real.any():
                raise ValueError(
                    f"{self.name}: the window at output position {position} holds "
                    f"only padding (kernel_size {self.kernel_size}, dilation "
                    f"{self.dilation}, padding {self.padding}), so it has no maximum;"
                    " use less padding or dilation"
                )
            window = padded[index].flatten(2)[:, :, real]  # (N, C, elements)
            best, arg = window.max(dim=2)  # ties: the first element wins
            values.append(best)
            indices.append(inside[real][arg])
        out = torch.stack(values, dim=-1).reshape(n, c, *out_size)
        idx = torch.stack(indices, dim=-1).reshape(n, c, *out_size)
        if unbatched:
            out, idx = out.squeeze(0), idx.squeeze(0)
        return (out, idx) if self.return_indices else out

    def extra_repr(self) -> str:
        """The arguments, as ``torch.nn.MaxPool1d`` prints them."""
        return super().extra_repr() + f", dilation={self.dilation}"


class AvgPoolNd(PoolNd):
    """Average pooling: the mean of every window, one channel at a time.

    The arguments are ``torch.nn.AvgPool2d``'s: ``count_include_pad`` divides by
    the window size including the padding (zeros), else by the number of input
    elements in it; ``divisor_override``, if set, is always the divisor.
    """

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        if divisor_override is not None and (
            not isinstance(divisor_override, int) or divisor_override == 0
        ):
            raise ValueError(
                f"{self.name}: divisor_override must be a non-zero int or None, "
                f"got {divisor_override!r}"
            )
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        """Average-pool ``(N, C, *spatial)`` or ``(C, *spatial)`` input."""
        x, unbatched = self.check_input(input, channels=None)
        n, c, *sizes = x.shape
        padded, out_size, sides = pad_for_pooling(self, x, value=0.0)
        # Two masks tell what a window covers: the real input, and the input plus
        # its padding (ceil_mode can reach past both; that part never counts).
        real = F.pad(x.new_ones(sizes), pad_pairs(sides))
        in_padding = F.pad(
            x.new_ones([size + 2 * p for size, p in zip(sizes, self.padding)]),
            [a for (p, right) in reversed(sides) for a in (0, right - p)],
        )

        values = []
        for position in self.positions(out_size):
            index = self.window_index(position)
            total = padded[index].flatten(2).sum(dim=2)  # (N, C)
            if self.divisor_override is not None:
                divisor = self.divisor_override
            elif self.count_include_pad:
                divisor = in_padding[index[2:]].sum()
            else:
                divisor = real[index[2:]].sum()
            values.append(total / divisor)
        out = torch.stack(values, dim=-1).reshape(n, c, *out_size)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        """The arguments, as ``torch.nn.AvgPool1d`` prints them."""
        return super().extra_repr() + f", count_include_pad={self.count_include_pad}"


def pad_for_pooling(
    pool: PoolNd, x: Tensor, value: float
) -> tuple[Tensor, list[int], list[tuple[int, int]]]:
    """Pad ``x`` with ``value`` so that every window lies inside it.

    Returns the padded tensor, the output size and the (left, right) amounts.
    With ``ceil_mode`` the last window may run past the padding: the extra
    right-hand elements are padded too, and count for nothing.
    """
    sizes = x.shape[2:]
    pool.check_fits(sizes, [s + 2 * p for s, p in zip(sizes, pool.padding)])
    out_size, sides = [], []
    for size, k, s, p, d in zip(
        sizes, pool.kernel_size, pool.stride, pool.padding, pool.dilation
    ):
        out = output_size(size, k, s, p, d, pool.ceil_mode)
        reach = (out - 1) * s + d * (k - 1) + 1  # end of the last window
        out_size.append(out)
        sides.append((p, max(p, reach - size - p)))
    return F.pad(x, pad_pairs(sides), value=value), out_size, sides


class MaxPool1D(MaxPoolNd):
    """1D max pooling as a loop (chapter 2). Mirrors ``torch.nn.MaxPool1d``."""

    ndim = 1
    torch_class = nn.MaxPool1d


class MaxPool2D(MaxPoolNd):
    """2D max pooling as a loop. Mirrors ``torch.nn.MaxPool2d``."""

    ndim = 2
    torch_class = nn.MaxPool2d


class AvgPool1D(AvgPoolNd):
    """1D average pooling as a loop (chapter 2), like ``torch.nn.AvgPool1d``.

    ``torch.nn.AvgPool1d`` takes no ``divisor_override``, so neither does this one.
    """

    ndim = 1
    torch_class = nn.AvgPool1d

    def __init__(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None = None,
        padding: IntOrTuple = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)


class AvgPool2D(AvgPoolNd):
    """2D average pooling as a loop. Mirrors ``torch.nn.AvgPool2d``."""

    ndim = 2
    torch_class = nn.AvgPool2d
