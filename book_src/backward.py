"""The backward pass of the loop convolution, written as loops (chapter 7).

Autograd differentiates chapter 1's loop for us. Here we write its gradients
ourselves. At every position ``i`` the forward pass computes ``y_i = W x_i + b``
from the flattened input window ``x_i`` (``W`` is the kernel). Given the upstream
gradient ``g_i = dL/dy_i``:

- ``dL/dW = sum_i g_i x_i^T``: the same ``W`` is used at every position (weight
  sharing), so the gradients of all positions add up, over every sample too;
- ``dL/db = sum_i g_i``: the bias is shared the same way;
- ``dL/dx_i = W^T g_i``, added into the input elements that window ``i`` covers:
  windows overlap, so an input element collects a share from every window it is in.

:class:`LoopConvolution` packages these loops as a ``torch.autograd.Function``,
:class:`LoopPadding` the gradient of padding. :class:`GradLoopConv1D`, ``2D`` and
``3D`` are the loop layers of :mod:`book_src.layers` with these two Functions in
place of autograd's backward: same outputs, gradients from our loops.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import Tensor

from book_src.layers import Conv1D, Conv2D, Conv3D, ConvNd

__all__ = [
    "GradLoopConv1D",
    "GradLoopConv2D",
    "GradLoopConv3D",
    "GradLoopConvNd",
    "LoopConvolution",
    "LoopPadding",
    "conv_backward",
    "conv_forward",
    "group_windows",
    "pad_backward",
    "padding_sources",
]


def group_windows(
    layer: ConvNd, position: tuple[int, ...]
) -> Iterator[tuple[slice, tuple[slice, ...]]]:
    """For each channel group: its rows of ``W`` and the index of its window.

    With ``groups = 1`` there is one group: every row, every input channel.
    Group ``g`` owns output channels (rows) ``g * C_out/groups ...`` and reads
    input channels ``g * C_in/groups ...`` of the window at ``position``.
    """
    _, _, *spatial = layer.window_index(position)
    c_in = layer.in_channels // layer.groups
    c_out = layer.out_channels // layer.groups
    for g in range(layer.groups):
        rows = slice(g * c_out, (g + 1) * c_out)
        index = (slice(None), slice(g * c_in, (g + 1) * c_in), *spatial)
        yield rows, index


def conv_forward(
    x: Tensor, weight: Tensor, bias: Tensor | None, layer: ConvNd, out_size: list[int]
) -> Tensor:
    """The forward loop with ``W`` and ``b`` passed in: ``y_i = W x_i + b`` (ch. 7).

    ``x`` is the padded input; the same numbers as ``layer.convolve(x, out_size)``.
    """
    n = x.shape[0]
    out = x.new_zeros(n, layer.out_channels, *out_size)
    for position in layer.positions(out_size):
        for rows, index in group_windows(layer, position):
            window = x[index].reshape(n, weight.shape[1])  # (N, fan_in)
            out[(slice(None), rows, *position)] = window @ weight[rows].T
    if bias is not None:
        out += bias.view(1, -1, *([1] * len(out_size)))
    return out


def conv_backward(
    x: Tensor, weight: Tensor, grad_output: Tensor, layer: ConvNd
) -> tuple[Tensor, Tensor, Tensor]:
    """``dL/dx``, ``dL/dW`` and ``dL/db`` of the loop convolution, as loops (ch. 7).

    ``x`` is the padded input the forward pass saw (``dL/dx`` comes back padded too)
    and ``weight`` the Linear's matrix ``(C_out, C_in // groups * prod(kernel))``.
    """
    n = x.shape[0]
    grad_input = torch.zeros_like(x)
    grad_weight = torch.zeros_like(weight)
    grad_bias = grad_output.new_zeros(layer.out_channels)
    for position in layer.positions(grad_output.shape[2:]):
        upstream = grad_output[(slice(None), slice(None), *position)]  # (N, C_out)
        grad_bias += upstream.sum(dim=0)  # every position adds its share to b
        for rows, index in group_windows(layer, position):
            g = upstream[:, rows]  # (N, C_out // groups)
            window = x[index]  # (N, C_in // groups, *kernel_size)
            # dL/dW: upstream gradient x window, summed over samples and positions.
            grad_weight[rows] += g.T @ window.reshape(n, weight.shape[1])
            # dL/dx: W^T g, added back into the elements this window covers.
            grad_input[index] += (g @ weight[rows]).reshape(window.shape)
    return grad_input, grad_weight, grad_bias


def padding_sources(size: int, left: int, right: int, mode: str) -> list[int | None]:
    """The input element each element of a padded dimension copies (None: a zero).

    ``'zeros'`` pads with constants; ``'replicate'`` repeats the edge element,
    ``'reflect'`` mirrors around it and ``'circular'`` wraps around (chapter 7).
    """
    sources: list[int | None] = []
    for q in range(left + size + right):
        i = q - left  # where this element would sit in the input
        if 0 <= i < size:
            sources.append(i)
        elif mode == "zeros":
            sources.append(None)
        elif mode == "replicate":
            sources.append(min(max(i, 0), size - 1))
        elif mode == "reflect":
            sources.append(-i if i < 0 else 2 * (size - 1) - i)
        else:  # circular
            sources.append(i % size)
    return sources


def pad_backward(grad_padded: Tensor, layer: ConvNd, sizes: Sequence[int]) -> Tensor:
    """The gradient of padding: each padded element's gradient goes to its source.

    A zero is a constant, so its gradient is dropped; a copied element adds its
    gradient to the input element it copies. One spatial dimension at a time.
    """
    grad = grad_padded
    for dim, ((left, right), size) in enumerate(zip(layer.padding_sides, sizes)):
        axis = 2 + dim
        shape = list(grad.shape)
        shape[axis] = size
        unpadded = grad.new_zeros(shape)
        sources = padding_sources(size, left, right, layer.padding_mode)
        for q, source in enumerate(sources):
            if source is not None:
                unpadded.narrow(axis, source, 1).add_(grad.narrow(axis, q, 1))
        grad = unpadded
    return grad


class LoopPadding(torch.autograd.Function):
    """Padding as in :mod:`book_src.layers`, with :func:`pad_backward` (chapter 7)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, layer: ConvNd) -> Tensor:
        """Pad ``x`` exactly as the loop layer does."""
        ctx.layer, ctx.sizes = layer, x.shape[2:]
        return ConvNd.pad(layer, x)

    @staticmethod
    def backward(ctx: Any, grad_padded: Tensor) -> tuple[Tensor, None]:
        """Send each padded element's gradient back to the element it copies."""
        return pad_backward(grad_padded, ctx.layer, ctx.sizes), None


class LoopConvolution(torch.autograd.Function):
    """The loop convolution, with the backward pass written as loops (chapter 7).

    ``LoopConvolution.apply(x, weight, bias, layer, out_size)`` on the padded
    input ``x``; ``bias`` may be None.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        bias: Tensor | None,
        layer: ConvNd,
        out_size: list[int],
    ) -> Tensor:
        """Run :func:`conv_forward`, keeping what the backward pass needs."""
        ctx.save_for_backward(x, weight)
        ctx.layer, ctx.has_bias = layer, bias is not None
        return conv_forward(x, weight, bias, layer, out_size)

    @staticmethod
    def backward(
        ctx: Any, grad_output: Tensor
    ) -> tuple[Tensor, Tensor, Tensor | None, None, None]:
        """Run :func:`conv_backward`: one gradient per input of ``forward``."""
        x, weight = ctx.saved_tensors
        grad_input, grad_weight, grad_bias = conv_backward(
            x, weight, grad_output, ctx.layer
        )
        return grad_input, grad_weight, grad_bias if ctx.has_bias else None, None, None


class GradLoopConvNd(ConvNd):
    """A loop convolution whose gradients come from this module's loops."""

    def pad(self, x: Tensor) -> Tensor:
        """Pad as :mod:`book_src.layers` does; gradient from :func:`pad_backward`."""
        if not any(left or right for left, right in self.padding_sides):
            return x
        return LoopPadding.apply(x, self)

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """The loop of chapter 1; the gradients from :func:`conv_backward`."""
        return LoopConvolution.apply(
            x, self.kernel.weight, self.kernel.bias, self, out_size
        )


class GradLoopConv1D(GradLoopConvNd, Conv1D):
    """``layers.Conv1D`` with our loop backward instead of autograd's (chapter 7)."""


class GradLoopConv2D(GradLoopConvNd, Conv2D):
    """``layers.Conv2D`` with our loop backward instead of autograd's (chapter 7)."""


class GradLoopConv3D(GradLoopConvNd, Conv3D):
    """``layers.Conv3D`` with our loop backward instead of autograd's (chapter 7)."""
