"""Convolution and pooling layers written as plain Python loops.

The idea the whole course rests on: a convolution slides a window over its input
and, at every window position, applies the same small fully connected layer. Each
convolution here owns exactly one ``nn.Linear`` called ``kernel`` with
``in_channels // groups * prod(kernel_size)`` inputs and ``out_channels`` outputs,
and its ``forward`` is a readable ``for`` loop over the output positions.
Pooling layers loop the same way, with a max or a mean in place of the Linear.

Chapter 1 teaches ``Conv1D``, chapter 2 the 1D pools, chapter 4 ``Conv2D`` and
chapter 5 ``Conv3D``; the 2D and 3D pools are the same loop, used by no chapter.
One loop serves 1, 2 and 3 dimensions: a position is ``(i,)`` in 1D, ``(i, j)``
in 2D and ``(t, i, j)`` in 3D.

This file reads top-down as the lesson: the output-size formula, the loop pieces
(``positions``, ``window``, ``convolve``, ``apply_kernel``), the pooling loops,
then the public classes. Argument checks, error messages and the conversions to
and from ``torch.nn`` (``from_torch``, ``to_torch``) live in
:mod:`book_src._plumbing`. Constructors mirror ``torch.nn`` (same argument
names, order and defaults), so the tests can check outputs and gradients
against PyTorch.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src._plumbing import ConvTwin, IntOrTuple, PoolTwin, TorchTwin, pad_pairs

__all__ = [
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "output_size",
]


def output_size(
    length: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions along one dimension (chapter 1).

    ``floor((length + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``.
    With ``ceil_mode`` the division rounds up, but, as in PyTorch, a last window
    that would start in the right padding is dropped. Returns 0 or less when the
    kernel does not fit.
    """
    span = dilation * (kernel_size - 1) + 1  # how far one window reaches
    room = length + 2 * padding - span  # how far its start can travel
    if room < 0:
        return 0
    if not ceil_mode:
        return room // stride + 1
    size = -(-room // stride) + 1  # ceiling division
    if (size - 1) * stride >= length + padding:
        size -= 1
    return size


class _SlidingWindowNd(TorchTwin):
    """What every layer here shares: a window slid over 1, 2 or 3 dimensions."""

    def positions(self, out_size: Sequence[int]) -> Iterator[tuple[int, ...]]:
        """Every output position: ``(i,)`` in 1D, ``(i, j)`` in 2D, ``(t, i, j)`` in 3D.

        ``itertools.product`` over one ``range`` per dimension, so in 1D it is just
        ``range(L_out)`` (chapter 1; chapter 4 uses it in 2D).
        """
        return itertools.product(*(range(n) for n in out_size))

    def window(self, position: tuple[int, ...]) -> tuple[slice, ...]:
        """The index that cuts, from the padded input, the window for ``position``.

        Every sample, every channel, and per dimension the slice
        ``p * s : p * s + d * (k - 1) + 1 : d``: ``k`` elements spaced ``d`` apart,
        starting at ``p * s`` (chapter 1).
        """
        return (
            slice(None),  # every sample of the batch
            slice(None),  # every channel
            *(
                # start at p * s; take k elements spaced d apart
                slice(p * s, p * s + d * (k - 1) + 1, d)
                for p, s, d, k in zip(
                    position, self.stride, self.dilation, self.kernel_size
                )
            ),
        )


class _ConvNd(ConvTwin, _SlidingWindowNd):
    """A convolution: one ``nn.Linear`` (``self.kernel``) applied at every position.

    Args:
        in_channels: channels of the input.
        out_channels: channels of the output, i.e. outputs of the Linear.
        kernel_size: window size, an int or one int per spatial dimension.
        stride: step between two windows.
        padding: added on both sides, an int or a tuple, or ``'valid'`` (none)
            or ``'same'`` (output as large as the input; stride 1 only).
        dilation: spacing between the elements of one window.
        groups: split the channels into groups convolved separately.
        bias: whether the Linear has a bias.
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device: where the parameters live.
        dtype: the parameters' dtype.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: str | IntOrTuple = 0,
        dilation: IntOrTuple = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        # Checked, turned into tuples and stored as torch.nn stores them.
        self._set_arguments(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            padding_mode,
        )
        # The one fully connected layer applied to every window.
        self.kernel = nn.Linear(
            in_channels // groups * math.prod(self.kernel_size),
            out_channels,
            bias=bias,
            device=device,
            dtype=dtype,
        )

    def forward(self, input: Tensor) -> Tensor:
        """Convolve ``(N, C_in, *spatial)`` or ``(C_in, *spatial)`` input."""
        x, unbatched = self._split_batch(input, self.in_channels)
        padded = self.pad(x)
        self._check_fits(x.shape[2:], padded.shape[2:])
        out_size = [
            output_size(size, k, s, 0, d)
            for size, k, s, d in zip(
                padded.shape[2:], self.kernel_size, self.stride, self.dilation
            )
        ]
        out = self.convolve(padded, out_size)
        return out.squeeze(0) if unbatched else out

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """The lesson itself: one Linear applied at every window position.

        ``x`` is the padded input ``(N, C_in, *spatial)``; returns
        ``(N, C_out, *out_size)`` (chapter 1).
        """
        outputs = []
        for position in self.positions(out_size):
            window = x[self.window(position)]  # (N, C_in, *kernel_size)
            outputs.append(self.apply_kernel(window))  # (N, C_out)
        # One column per position, then back to the spatial layout.
        out = torch.stack(outputs, dim=-1)  # (N, C_out, positions)
        return out.reshape(x.shape[0], self.out_channels, *out_size)

    def apply_kernel(self, window: Tensor) -> Tensor:
        """Apply the Linear to one window: ``(N, C_in, *kernel)`` -> ``(N, C_out)``.

        The window is flattened channel by channel (chapter 1). With ``groups``,
        channel group g sees only input group g, through its own rows of the
        same weight matrix.
        """
        n = window.shape[0]
        if self.groups == 1:
            return self.kernel(window.reshape(n, self.kernel.in_features))
        window = window.reshape(n, self.groups, self.kernel.in_features)
        weight = self.kernel.weight.view(self.groups, -1, self.kernel.in_features)
        out = torch.einsum("ngi,goi->ngo", window, weight).reshape(n, self.out_channels)
        return out if self.kernel.bias is None else out + self.kernel.bias

    def pad(self, x: Tensor) -> Tensor:
        """Pad every spatial dimension by its (left, right) amounts (chapter 1)."""
        if not any(left or right for left, right in self._sides):
            return x
        self._check_padding_mode(x)
        if self.padding_mode == "zeros":
            return F.pad(x, pad_pairs(self._sides))
        return F.pad(x, pad_pairs(self._sides), mode=self.padding_mode)

    @property
    def weight(self) -> Tensor:
        """The kernel's weights seen as torch.nn's ``(out, in // groups, *kernel)``."""
        return self.kernel.weight.view(
            self.out_channels, self.in_channels // self.groups, *self.kernel_size
        )

    @property
    def bias(self) -> Tensor | None:
        """The kernel's bias, one value per output channel (or None)."""
        return self.kernel.bias


class _PoolNd(PoolTwin, _SlidingWindowNd):
    """What max and average pooling share: windows that may reach into padding."""

    def _pad_and_size(
        self, x: Tensor, value: float
    ) -> tuple[Tensor, list[int], list[tuple[int, int]]]:
        """Pad ``x`` with ``value`` so that every window lies inside it.

        Returns the padded tensor, the output size and the (left, right) amounts.
        With ``ceil_mode`` the last window may run past the padding: the extra
        right-hand elements are padded too, and count for nothing.
        """
        sizes = x.shape[2:]
        self._check_fits(sizes, [s + 2 * p for s, p in zip(sizes, self.padding)])
        out_size, sides = [], []
        for size, k, s, p, d in zip(
            sizes, self.kernel_size, self.stride, self.padding, self.dilation
        ):
            out = output_size(size, k, s, p, d, self.ceil_mode)
            reach = (out - 1) * s + d * (k - 1) + 1  # end of the last window
            out_size.append(out)
            sides.append((p, max(p, reach - size - p)))
        return F.pad(x, pad_pairs(sides), value=value), out_size, sides


class _MaxPoolNd(_PoolNd):
    """Max pooling: the largest value of every window, one channel at a time.

    Args:
        kernel_size: window size, an int or one int per spatial dimension.
        stride: step between two windows; ``None`` means ``kernel_size``.
        padding: implicit ``-inf`` added on both sides, at most half the kernel.
        dilation: spacing between the elements of one window.
        return_indices: also return where each maximum came from, as a flat
            index into the input's spatial dimensions (as ``torch.nn``).
        ceil_mode: round the output size up instead of down.
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
        super().__init__()
        self._set_arguments(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Max-pool ``(N, C, *spatial)`` or ``(C, *spatial)`` input."""
        x, unbatched = self._split_batch(input, channels=None)
        n, c, *sizes = x.shape
        padded, out_size, sides = self._pad_and_size(x, value=-math.inf)
        # Where each padded element sits in the input, as a flat index; -1 in padding.
        where = torch.arange(math.prod(sizes), device=x.device).view(sizes)
        where = F.pad(where, pad_pairs(sides), value=-1)

        values, indices = [], []
        for position in self.positions(out_size):
            index = self.window(position)
            inside = where[index[2:]].flatten()  # input positions of this window
            real = inside >= 0  # padding never wins, as in torch.nn
            if not real.any():
                raise ValueError(
                    f"{self._name}: the window at output position {position} holds "
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
        return super().extra_repr() + f", dilation={self.dilation}"


class _AvgPoolNd(_PoolNd):
    """Average pooling: the mean of every window, one channel at a time.

    Args:
        kernel_size: window size, an int or one int per spatial dimension.
        stride: step between two windows; ``None`` means ``kernel_size``.
        padding: implicit zeros added on both sides, at most half the kernel.
        ceil_mode: round the output size up instead of down.
        count_include_pad: divide by the window size including the padding
            (True) or by the number of real input elements in it (False).
        divisor_override: if set, always divide by this number (2D and 3D only).
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
        super().__init__()
        self._set_arguments(kernel_size, stride, padding, 1, ceil_mode)
        if divisor_override is not None and (
            not isinstance(divisor_override, int) or divisor_override == 0
        ):
            raise ValueError(
                f"{self._name}: divisor_override must be a non-zero int or None, "
                f"got {divisor_override!r}"
            )
        self.count_include_pad = bool(count_include_pad)
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        """Average-pool ``(N, C, *spatial)`` or ``(C, *spatial)`` input."""
        x, unbatched = self._split_batch(input, channels=None)
        n, c, *sizes = x.shape
        padded, out_size, sides = self._pad_and_size(x, value=0.0)
        # Two masks tell what a window covers: the real input, and the input plus
        # its padding (ceil_mode can reach past both; that part never counts).
        real = F.pad(x.new_ones(sizes), pad_pairs(sides))
        in_padding = F.pad(
            x.new_ones([size + 2 * p for size, p in zip(sizes, self.padding)]),
            [a for (p, right) in reversed(sides) for a in (0, right - p)],
        )

        values = []
        for position in self.positions(out_size):
            index = self.window(position)
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
        return super().extra_repr() + f", count_include_pad={self.count_include_pad}"


class Conv1D(_ConvNd):
    """1D convolution as a loop over window positions (chapter 1).

    Mirrors ``torch.nn.Conv1d``: input ``(N, C_in, L)`` or ``(C_in, L)``.
    """

    ndim = 1
    torch_class = nn.Conv1d


class Conv2D(_ConvNd):
    """2D convolution as a loop over window positions (chapter 4).

    Mirrors ``torch.nn.Conv2d``: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    """

    ndim = 2
    torch_class = nn.Conv2d


class Conv3D(_ConvNd):
    """3D convolution as a loop over window positions (chapter 5).

    Mirrors ``torch.nn.Conv3d``: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.
    """

    ndim = 3
    torch_class = nn.Conv3d


class MaxPool1D(_MaxPoolNd):
    """1D max pooling as a loop (chapter 2). Mirrors ``torch.nn.MaxPool1d``."""

    ndim = 1
    torch_class = nn.MaxPool1d


class MaxPool2D(_MaxPoolNd):
    """2D max pooling as a loop. Mirrors ``torch.nn.MaxPool2d``.

    Chapter 2 teaches the 1D loop; this is the same loop over ``(i, j)``. No
    chapter's network uses it (cnn2d shrinks its images with stride 2).
    """

    ndim = 2
    torch_class = nn.MaxPool2d


class MaxPool3D(_MaxPoolNd):
    """3D max pooling as a loop. Mirrors ``torch.nn.MaxPool3d``.

    Chapter 2 teaches the 1D loop; this is the same loop over ``(t, i, j)``.
    """

    ndim = 3
    torch_class = nn.MaxPool3d


class AvgPool1D(_AvgPoolNd):
    """1D average pooling as a loop (chapter 2). Mirrors ``torch.nn.AvgPool1d``.

    Like ``torch.nn.AvgPool1d`` it takes no ``divisor_override``.
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


class AvgPool2D(_AvgPoolNd):
    """2D average pooling as a loop. Mirrors ``torch.nn.AvgPool2d``.

    Chapter 2 teaches the 1D loop; this is the same loop over ``(i, j)``.
    """

    ndim = 2
    torch_class = nn.AvgPool2d


class AvgPool3D(_AvgPoolNd):
    """3D average pooling as a loop. Mirrors ``torch.nn.AvgPool3d``.

    Chapter 2 teaches the 1D loop; this is the same loop over ``(t, i, j)``.
    """

    ndim = 3
    torch_class = nn.AvgPool3d
