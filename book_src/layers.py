"""Convolutions written as plain Python loops (chapters 1, 4 and 5).

A convolution slides a window over its input and, at every window position,
applies the same small fully connected layer: one ``nn.Linear`` called ``kernel``
with ``in_channels // groups * prod(kernel_size)`` inputs and ``out_channels``
outputs. :meth:`ConvNd.convolve` is that loop, in 1, 2 and 3 dimensions.
Constructors mirror ``torch.nn``'s, so the tests compare every output and gradient
with PyTorch's; the argument checks are in :mod:`book_src.torch_twin`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src.torch_twin import IntOrTuple, TorchTwin, pad_pairs

__all__ = ["Conv1D", "Conv2D", "Conv3D", "ConvNd", "grouped_linear", "output_size"]


class ConvNd(TorchTwin):
    """A convolution: one ``nn.Linear``, ``self.kernel``, applied at every window.

    :class:`Conv1D`, :class:`Conv2D` and :class:`Conv3D` fix the number of
    dimensions; the arguments are ``torch.nn.Conv1d``'s.
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
        # Checked and stored as torch.nn stores them (see book_src.torch_twin).
        self.set_channels(in_channels, out_channels, groups, padding_mode)
        self.set_window(kernel_size, stride, dilation)
        self.set_padding(padding)
        # The one fully connected layer applied to every window.
        self.kernel = nn.Linear(
            in_channels // groups * math.prod(self.kernel_size),
            out_channels,
            bias=bias,
            device=device,
            dtype=dtype,
        )

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """The lesson itself: one Linear applied at every window position.

        ``x`` is the padded input ``(N, C_in, *spatial)``; returns
        ``(N, C_out, *out_size)`` (chapter 1).
        """
        outputs = []
        for position in self.positions(out_size):
            window = x[self.window_index(position)]  # (N, C_in, *kernel_size)
            outputs.append(self.apply_kernel(window))  # (N, C_out)
        # One column per position, then back to the spatial layout.
        out = torch.stack(outputs, dim=-1)  # (N, C_out, positions)
        return out.reshape(x.shape[0], self.out_channels, *out_size)

    def positions(self, out_size: Sequence[int]) -> Iterator[tuple[int, ...]]:
        """Every output position: ``(i,)`` in 1D, ``(i, j)`` in 2D, ``(t, i, j)`` in 3D.

        ``itertools.product`` over one ``range`` per dimension, so in 1D it is just
        ``range(L_out)`` (chapter 1; chapter 4 uses it in 2D).
        """
        return itertools.product(*(range(n) for n in out_size))

    def window_index(self, position: tuple[int, ...]) -> tuple[slice, ...]:
        """The index that cuts, from the padded input, the window at ``position``.

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

    def apply_kernel(self, window: Tensor) -> Tensor:
        """Apply the Linear to one window: ``(N, C_in, *kernel)`` -> ``(N, C_out)``.

        The window is flattened channel by channel (chapter 1). With ``groups``,
        channel group g sees only input group g, through its own rows of the
        same weight matrix (:func:`grouped_linear`).
        """
        n = window.shape[0]
        if self.groups == 1:
            return self.kernel(window.reshape(n, self.kernel.in_features))
        flat = window.reshape(n, self.groups * self.kernel.in_features)
        out = grouped_linear(flat, self.kernel.weight, self.groups)
        return out if self.kernel.bias is None else out + self.kernel.bias

    def forward(self, input: Tensor) -> Tensor:
        """Convolve ``(N, C_in, *spatial)`` or ``(C_in, *spatial)`` input."""
        x, unbatched = self.check_input(input, self.in_channels)
        padded = self.pad(x)
        self.check_fits(x.shape[2:], padded.shape[2:])
        out_size = [
            output_size(size, k, s, 0, d)
            for size, k, s, d in zip(
                padded.shape[2:], self.kernel_size, self.stride, self.dilation
            )
        ]
        out = self.convolve(padded, out_size)
        return out.squeeze(0) if unbatched else out

    def pad(self, x: Tensor) -> Tensor:
        """Pad every spatial dimension by its (left, right) amounts (chapter 1)."""
        if not any(left or right for left, right in self.padding_sides):
            return x
        self.check_padding_mode(x)
        if self.padding_mode == "zeros":
            return F.pad(x, pad_pairs(self.padding_sides))
        return F.pad(x, pad_pairs(self.padding_sides), mode=self.padding_mode)

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

    # --- Argument checks and the torch.nn layout ------------------------------

    def set_padding(self, padding: str | IntOrTuple) -> None:
        """Store ``padding`` as given and its (left, right) ``padding_sides``.

        ``'same'`` pads ``d * (k - 1)`` in all, the odd element on the right.
        """
        if padding == "valid":
            sides = [(0, 0)] * self.ndim
        elif padding == "same":
            if any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{self.name}: padding='same' needs stride 1, got stride "
                    f"{self.stride} (the output could not match the input size)"
                )
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            sides = [(t // 2, t - t // 2) for t in totals]
        elif isinstance(padding, str):
            raise ValueError(
                f"{self.name}: padding must be an int, a tuple, 'valid' or 'same', "
                f"got {padding!r}"
            )
        else:
            padding = self.int_padding(padding)
            sides = [(p, p) for p in padding]
        self.padding = padding
        self.padding_sides = tuple(sides)

    def check_padding_mode(self, x: Tensor) -> None:
        """Reflect and circular padding cannot pad more than the input holds."""
        if self.padding_mode not in ("reflect", "circular"):
            return
        for dim, ((left, right), size) in enumerate(
            zip(self.padding_sides, x.shape[2:])
        ):
            limit = size - 1 if self.padding_mode == "reflect" else size
            if max(left, right) > limit:
                raise ValueError(
                    f"{self.name}: padding_mode={self.padding_mode!r} can pad at most "
                    f"{limit} in spatial dimension {dim} (input size {size}), "
                    f"asked for {max(left, right)}"
                )

    def linear_weight(self, weight: Tensor) -> Tensor:
        """torch.nn's ``(out, in // groups, *kernel)`` weight as the Linear's rows."""
        return weight.reshape(self.kernel.weight.shape)


def output_size(
    length: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of window positions along one dimension (chapter 1).

    ``floor((length + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1``,
    or 0 when the kernel does not fit. With ``ceil_mode`` (pooling) the division
    rounds up, but, as in PyTorch, a last window starting in the right padding is
    dropped.
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


def grouped_linear(
    x: Tensor, weight: Tensor, groups: int, transpose: bool = False
) -> Tensor:
    """A Linear without bias whose inputs and outputs are split into ``groups``.

    ``x`` ``(N, groups * i)`` goes to ``(N, groups * o)``, group ``g`` through its
    own rows of ``weight`` ``(groups * o, i)``, rows ``g * o`` to ``(g + 1) * o``.
    With ``transpose``, ``(N, groups * o)`` goes back to ``(N, groups * i)``
    through each group's transposed rows, as a gradient does (chapter 7).
    """
    n, (rows, inputs) = x.shape[0], weight.shape
    per_group = weight.view(groups, rows // groups, inputs)
    if transpose:
        x = x.reshape(n, groups, rows // groups)
        return torch.einsum("ngo,goi->ngi", x, per_group).reshape(n, groups * inputs)
    x = x.reshape(n, groups, inputs)
    return torch.einsum("ngi,goi->ngo", x, per_group).reshape(n, rows)


class Conv1D(ConvNd):
    """1D convolution as a loop over window positions (chapter 1).

    Mirrors ``torch.nn.Conv1d``: input ``(N, C_in, L)`` or ``(C_in, L)``.
    """

    ndim = 1
    torch_class = nn.Conv1d


class Conv2D(ConvNd):
    """2D convolution as a loop over window positions (chapter 4).

    Mirrors ``torch.nn.Conv2d``: input ``(N, C_in, H, W)`` or ``(C_in, H, W)``.
    """

    ndim = 2
    torch_class = nn.Conv2d


class Conv3D(ConvNd):
    """3D convolution as a loop over window positions (chapter 5).

    Mirrors ``torch.nn.Conv3d``: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.
    """

    ndim = 3
    torch_class = nn.Conv3d
