"""Two steps between the loop and im2col: unbound windows, and kernel taps (chapter 6).

Chapter 6 climbs a ladder of five implementations of the same convolution, each
computing exactly what ``torch.nn`` computes:

(a) the course's position loop, :mod:`book_src.layers`;
(b) the same loop over the windows of **one unfold view**, taken apart with
    ``unbind`` (:class:`UnbindConv1D`, ...);
(c) a loop over the kernel's **taps** instead of the positions: ``k`` shifted
    slices of the input, each multiplied by one ``C_out x C_in`` matrix
    (:class:`TapConv1D`, ...);
(d) im2col and one matrix product, :mod:`book_src.vectorized`;
(e) ``torch.nn`` itself.

Each class here subclasses its loop layer and overrides only ``convolve``: the
constructor, the checks, the padding and the ``nn.Linear`` called ``kernel`` are
inherited.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import Tensor

from book_src import layers

__all__ = [
    "TapConv1D",
    "TapConv2D",
    "TapConvNd",
    "UnbindConv1D",
    "UnbindConv2D",
    "UnbindConvNd",
    "tap_index",
]


class UnbindConvNd(layers.ConvNd):
    """(b) The position loop, over windows cut by one view instead of slices."""

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """(b) Cut every window at once with ``unfold``, then loop over them.

        ``unfold(dim, span, stride)`` views ``x`` as windows of ``span`` elements,
        ``stride`` apart; ``[..., ::d]`` keeps every ``d``-th (dilation). In
        the backward pass, ``unbind`` stacks the windows' gradients into one
        tensor, where slicing gave each window a zero-filled copy of the input.
        """
        windows = x
        for dim, (k, s, d) in enumerate(
            zip(self.kernel_size, self.stride, self.dilation)
        ):
            windows = windows.unfold(2 + dim, d * (k - 1) + 1, s)[..., ::d]
        # (N, C_in, *out_size, *kernel_size): move the positions to the front
        ndim = len(out_size)
        windows = [windows.movedim(tuple(range(2, 2 + ndim)), tuple(range(ndim)))]
        for _ in range(ndim):  # take the position axes apart, one at a time
            windows = [w for row in windows for w in row.unbind(0)]
        outputs = [self.apply_kernel(window) for window in windows]  # (N, C_out)
        out = torch.stack(outputs, dim=-1)  # (N, C_out, positions)
        return out.reshape(x.shape[0], self.out_channels, *out_size)


class TapConvNd(layers.ConvNd):
    """(c) A loop over the kernel's taps instead of the window positions."""

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """(c) For each tap, one shifted slice of ``x`` times a ``C_out x C_in`` matrix.

        Tap ``offset`` of every window at once is one strided slice of ``x``,
        ``(N, C_in, *out_size)``. The loop runs ``prod(kernel_size)`` times (3 in
        1D, 9 for a 3 x 3 kernel), whatever the size of the input.
        """
        n, g = x.shape[0], self.groups
        c_out, c_in = self.out_channels // g, self.in_channels // g
        positions = math.prod(out_size)
        # One matrix per tap and group: (taps, groups, C_out / g, C_in / g)
        matrices = self.weight.reshape(g, c_out, c_in, len(self.taps()))
        matrices = matrices.permute(3, 0, 1, 2).contiguous()
        # One output, allocated once; each tap adds its products into it in place.
        out = x.new_zeros(n * g, c_out, positions)
        for tap, offset in enumerate(self.taps()):
            index = tap_index(offset, self.stride, self.dilation, out_size)
            shifted = x[index].reshape(
                n * g, c_in, positions
            )  # a copy: (N * g, C_in / g, P)
            # Every (sample, group) pair: (C_out / g, C_in / g) @ (C_in / g, P)
            w_tap = matrices[tap].expand(n, g, c_out, c_in).reshape(n * g, c_out, c_in)
            out.baddbmm_(w_tap, shifted)  # out += w_tap @ shifted
        out = out.view(n, g, c_out, positions)
        if self.bias is not None:
            out = out + self.bias.view(1, g, -1, 1)
        return out.reshape(n, self.out_channels, *out_size)

    def taps(self) -> list[tuple[int, ...]]:
        """Every kernel offset, in the order of the Linear's flattened inputs."""
        return list(itertools.product(*(range(k) for k in self.kernel_size)))


def tap_index(
    offset: Sequence[int],
    stride: Sequence[int],
    dilation: Sequence[int],
    out_size: Sequence[int],
) -> tuple[slice, ...]:
    """The index that cuts tap ``offset`` of every window at once: a strided slice.

    Per dimension ``o * d : o * d + s * (P - 1) + 1 : s``: it starts at the
    tap's place in the first window and steps from window to window (chapter 6;
    :func:`book_src.vectorized.col2im` adds into the same slices).
    """
    return (
        slice(None),  # every sample
        slice(None),  # every channel
        *(
            slice(o * d, o * d + s * (p - 1) + 1, s)
            for o, s, d, p in zip(offset, stride, dilation, out_size)
        ),
    )


class UnbindConv1D(UnbindConvNd, layers.Conv1D):
    """(b) ``layers.Conv1D``, looping over the windows of one unfold view."""


class UnbindConv2D(UnbindConvNd, layers.Conv2D):
    """(b) ``layers.Conv2D``, looping over the windows of one unfold view."""


class TapConv1D(TapConvNd, layers.Conv1D):
    """(c) ``layers.Conv1D``, looping over the kernel's taps."""


class TapConv2D(TapConvNd, layers.Conv2D):
    """(c) ``layers.Conv2D``, looping over the kernel's taps."""
