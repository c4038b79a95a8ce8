"""The loop layers without the loop: im2col and one matrix product (chapter 6).

The loop layers of :mod:`book_src.layers` apply one ``nn.Linear`` (``kernel``) to
every window, one window at a time. The twins here apply the very same Linear to
all windows at once:

1. **im2col** copies every window of the padded input into one column of a
   matrix, ``(N, C_in * prod(kernel_size), positions)``: the windows are read as
   a strided *view* of the input (``Tensor.as_strided``), then copied once.
2. **One matrix product** multiplies the Linear's weight with that matrix and
   adds its bias; the result is already laid out as ``(N, C_out, positions)``.

The backward of im2col is written by hand (:class:`Im2Col`, :func:`col2im`): one
strided slice addition per kernel offset, much cheaper than the generic backward
of ``as_strided``. Each twin subclasses its loop layer and overrides only
``convolve``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from book_src import layers
from book_src.ladder import tap_index

__all__ = [
    "Im2Col",
    "Im2colConv1D",
    "Im2colConv2D",
    "Im2colConvNd",
    "col2im",
    "im2col",
    "window_view",
]


def window_view(
    x: Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out_size: Sequence[int],
) -> Tensor:
    """Every window of the padded input ``x`` as a strided view, copying nothing.

    The view has shape ``(N, C, *kernel_size, *out_size)``: one step along a kernel
    axis moves ``dilation`` elements in ``x``, one step along a position axis moves
    ``stride`` elements. In 2D, ``[n, c, a, b, i, j]`` is
    ``x[n, c, i * s + a * d, j * s + b * d]``.
    """
    spatial = x.stride()[2:]
    return x.as_strided(
        (*x.shape[:2], *kernel_size, *out_size),
        (
            *x.stride()[:2],
            *(d * step for d, step in zip(dilation, spatial)),
            *(s * step for s, step in zip(stride, spatial)),
        ),
        x.storage_offset(),
    )


def col2im(
    cols: Tensor,
    input_shape: Sequence[int],
    kernel_size: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out_size: Sequence[int],
) -> Tensor:
    """The adjoint of im2col: add every column back where its window was read.

    A loop over the kernel offsets (``prod(kernel_size)`` of them, not over the
    positions): offset ``(a, b)`` of every window at once is one strided slice
    of the input (:func:`book_src.ladder.tap_index`), so each step is a single
    addition of a whole slice. Each input element receives the sum of the column
    entries that were copies of it.
    """
    n, c = input_shape[:2]
    cols = cols.reshape(n, c, *kernel_size, *out_size)
    out = cols.new_zeros(input_shape)
    for offset in itertools.product(*(range(k) for k in kernel_size)):
        # add_ on the slice (a view) writes straight into ``out``; ``+=`` would
        # also copy the slice back onto itself.
        out[tap_index(offset, stride, dilation, out_size)].add_(
            cols[(slice(None), slice(None), *offset)]
        )
    return out


class Im2Col(torch.autograd.Function):
    """im2col with a hand-written backward (:func:`col2im`); use :func:`im2col`."""

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        kernel_size: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
        out_size: tuple[int, ...],
    ) -> Tensor:
        """Copy the strided view of the windows into one matrix."""
        ctx.geometry = (x.shape, kernel_size, stride, dilation, out_size)
        windows = window_view(x, kernel_size, stride, dilation, out_size)
        cols = x.new_empty(windows.shape)
        cols.copy_(windows)  # the one copy: windows overlap, columns do not
        n, c = x.shape[:2]
        return cols.view(n, c * math.prod(kernel_size), math.prod(out_size))

    @staticmethod
    def backward(ctx: Any, grad_cols: Tensor) -> tuple[Tensor | None, ...]:
        """Send each column's gradient back to the input elements it copied."""
        grad_x = col2im(grad_cols, *ctx.geometry) if ctx.needs_input_grad[0] else None
        return grad_x, None, None, None, None


def im2col(
    x: Tensor,
    kernel_size: Sequence[int],
    stride: Sequence[int] | None = None,
    dilation: Sequence[int] | None = None,
) -> Tensor:
    """Copy every window of the padded ``x`` into one column of a matrix.

    Returns ``(N, C * prod(kernel_size), positions)``: column ``p`` holds the
    window at position ``p``, flattened as the loop layer flattens it (channel
    first, then the kernel offsets). Stride and dilation default to 1.
    """
    ndim = len(kernel_size)
    stride = tuple(stride or (1,) * ndim)
    dilation = tuple(dilation or (1,) * ndim)
    out_size = tuple(
        layers.output_size(size, k, s, 0, d)
        for size, k, s, d in zip(x.shape[2:], kernel_size, stride, dilation)
    )
    return Im2Col.apply(x, tuple(kernel_size), stride, dilation, out_size)


class Im2colConvNd(layers.ConvNd):
    """(d) A convolution computed as im2col followed by one batched matrix product."""

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """All windows at once: ``weight @ im2col(x) + bias``, for every sample."""
        n, groups = x.shape[0], self.groups
        rows, inputs = self.out_channels // groups, self.kernel.in_features
        cols = Im2Col.apply(
            x, self.kernel_size, self.stride, self.dilation, tuple(out_size)
        )  # (N, C_in * k, P): one column per window
        # Group g sees only its own input channels, through its own rows of the
        # weight: split both by group and let (sample, group) be the batch. The
        # weight and bias are broadcast over the samples: with one group, expand
        # and reshape copy nothing (with several, reshape copies the small weight).
        cols = cols.view(n * groups, inputs, math.prod(out_size))
        weight = self.kernel.weight.view(1, groups, rows, inputs)
        weight = weight.expand(n, -1, -1, -1).reshape(n * groups, rows, inputs)
        if self.kernel.bias is None:
            out = torch.bmm(weight, cols)
        else:
            bias = self.kernel.bias.view(1, groups, rows, 1).expand(n, -1, -1, -1)
            out = torch.baddbmm(bias.reshape(n * groups, rows, 1), weight, cols)
        # (N * groups, C_out / groups, P) is (N, C_out, P) in memory: a view.
        return out.view(n, self.out_channels, *out_size)


class Im2colConv1D(Im2colConvNd, layers.Conv1D):
    """``layers.Conv1D`` computed with im2col and one matrix product."""


class Im2colConv2D(Im2colConvNd, layers.Conv2D):
    """``layers.Conv2D`` computed with im2col and one matrix product."""
