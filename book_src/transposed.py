"""Transposed convolutions written as plain Python loops (chapter 7).

A convolution reads a window at every output position and applies one
``nn.Linear`` to it. A transposed convolution runs the other way round: at every
*input* position it applies one ``nn.Linear`` (``kernel``) to the ``in_channels``
numbers there, which gives one whole output window, and adds that window into the
output where a convolution with the same stride and dilation would have read it.
Windows overlap, so the output elements they share collect a sum. This is how the
gradient of a convolution reaches its input (chapter 7), and how autoencoders and
segmentation networks upsample feature maps back to images.

As in ``torch.nn``, ``padding`` then crops both ends of the result,
``output_padding`` keeps extra elements at the far end, and the bias is added once
to every output element (as the Linear's, it would be added once per window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from book_src.layers import ConvNd, grouped_linear
from book_src.torch_twin import IntOrTuple, TorchTwin, as_tuple

__all__ = [
    "ConvTranspose1D",
    "ConvTranspose2D",
    "ConvTransposeNd",
    "LoopConvTranspose",
    "transposed_backward",
    "transposed_output_size",
]


class ConvTransposeNd(TorchTwin):
    """A transposed convolution: one ``nn.Linear`` per input position, spread out.

    The arguments are ``torch.nn.ConvTranspose1d``'s; ``padding_mode`` can only be
    ``'zeros'``, as there.
    """

    # The convolution's sliding window (chapter 1), unchanged.
    positions = ConvNd.positions
    window_index = ConvNd.window_index

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple = 1,
        padding: IntOrTuple = 0,
        output_padding: IntOrTuple = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntOrTuple = 1,
        padding_mode: str = "zeros",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if isinstance(padding, str):
            raise ValueError(
                f"{self.name}: padding must be an int or a tuple of {self.ndim} ints "
                f"('same' and 'valid' are for convolutions), got {padding!r}"
            )
        self.set_channels(in_channels, out_channels, groups, padding_mode)
        if padding_mode != "zeros":
            raise ValueError(
                f"{self.name}: padding_mode must be 'zeros' (the only mode torch.nn's "
                f"transposed convolutions support), got {padding_mode!r}"
            )
        self.set_window(kernel_size, stride, dilation)
        self.padding = self.int_padding(padding)
        self.output_padding = as_tuple(
            output_padding, self.ndim, "output_padding", self.name
        )
        # The one fully connected layer applied at every input position: the
        # C_in // groups numbers of one group in, that group's output window out.
        # torch.nn's initialisation is drawn below, so skip the Linear's own.
        self.kernel = nn.utils.skip_init(
            nn.Linear,
            in_channels // groups,
            out_channels * math.prod(self.kernel_size),
            bias=False,
            device=torch.get_default_device() if device is None else device,
            dtype=dtype,
        )
        # Added once to every output element, so not the Linear's bias.
        if bias:
            self.bias = nn.Parameter(
                torch.empty(out_channels, device=device, dtype=dtype)
            )
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """The lesson: each input position's Linear output added into its window.

        ``x`` is the input ``(N, C_in, *spatial)``; returns the uncropped output
        ``(N, C_out, *out_size)`` (chapter 7).
        """
        out = x.new_zeros(x.shape[0], self.out_channels, *out_size)
        for position in self.positions(x.shape[2:]):  # every INPUT position
            vector = x[(slice(None), slice(None), *position)]  # (N, C_in)
            out[self.window_index(position)] += self.apply_kernel(vector)
        return out

    def apply_kernel(self, vector: Tensor) -> Tensor:
        """Apply the Linear at one input position: ``(N, C_in)`` -> ``(N, C_out, *k)``.

        With ``groups``, group g's input channels go through its own rows of the
        same weight matrix and fill group g's output channels.
        """
        if self.groups == 1:
            out = self.kernel(vector)  # (N, C_out * prod(kernel_size))
        else:
            out = grouped_linear(vector, self.kernel.weight, self.groups)
        return out.reshape(vector.shape[0], self.out_channels, *self.kernel_size)

    def forward(
        self, input: Tensor, output_size: Sequence[int] | None = None
    ) -> Tensor:
        """Transposed-convolve ``(N, C_in, *spatial)`` or ``(C_in, *spatial)`` input.

        ``output_size`` (the spatial sizes, optionally preceded by the batch and
        channel sizes) picks the output size where a stride makes several possible;
        it replaces ``output_padding``.
        """
        x, unbatched = self.check_input(input, self.in_channels)
        in_size = list(x.shape[2:])
        if 0 in in_size:
            raise ValueError(
                f"{self.name}: every spatial size must be positive, got an input "
                f"of shape {tuple(input.shape)}"
            )
        out_size = self.out_size_for(input, in_size, output_size)
        if any(size <= 0 for size in out_size):
            raise ValueError(
                f"{self.name}: the output would have size {out_size} for an input "
                f"of spatial size {tuple(in_size)}: padding {self.padding} crops "
                "more than the windows cover"
            )
        # The whole area the windows cover, plus output_padding at the far end.
        full_size = [size + 2 * p for size, p in zip(out_size, self.padding)]
        full = LoopConvTranspose.apply(x, self.kernel.weight, self, full_size)
        out = full[
            (..., *(slice(p, p + size) for p, size in zip(self.padding, out_size)))
        ]
        if self.bias is not None:
            out = out + self.bias.view(-1, *([1] * self.ndim))
        return out.squeeze(0) if unbatched else out

    @property
    def weight(self) -> Tensor:
        """The kernel's weights seen as torch.nn's ``(in, out // groups, *kernel)``."""
        g, k = self.groups, self.kernel_size
        rows = self.kernel.weight.view(g, self.out_channels // g, *k, -1)
        # (g, out // g, *k, in // g) -> (g, in // g, out // g, *k)
        return rows.movedim(-1, 1).reshape(self.in_channels, -1, *k)

    # --- Argument checks and the torch.nn layout ------------------------------

    def reset_parameters(self) -> None:
        """Draw the initial weights as ``torch.nn`` does: same seed, same weights.

        They are drawn in torch.nn's layout, then stored in the Linear's.
        """
        weight = self.kernel.weight.new_empty(self.weight.shape)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        with torch.no_grad():
            self.kernel.weight.copy_(self.linear_weight(weight))
        if self.bias is not None:
            bound = 1 / math.sqrt(weight[0].numel())
            nn.init.uniform_(self.bias, -bound, bound)

    def linear_weight(self, weight: Tensor) -> Tensor:
        """torch.nn's ``(in, out // groups, *kernel)`` weight in the Linear's layout."""
        g = self.groups
        per_group = weight.reshape(g, self.in_channels // g, -1)  # (g, in//g, rows)
        return per_group.transpose(1, 2).reshape(self.kernel.weight.shape)

    def out_size_for(
        self,
        input: Tensor,
        in_size: Sequence[int],
        output_size: Sequence[int] | None,
    ) -> list[int]:
        """The output's spatial sizes, from ``output_padding`` or ``output_size``."""
        name = self.name
        smallest = [
            transposed_output_size(size, k, s, p, 0, d)
            for size, k, s, p, d in zip(
                in_size, self.kernel_size, self.stride, self.padding, self.dilation
            )
        ]
        if output_size is None:
            for op, s, d in zip(self.output_padding, self.stride, self.dilation):
                if op < 0 or op >= max(s, d):
                    raise ValueError(
                        f"{name}: output_padding must be >= 0 and smaller than the "
                        f"stride or the dilation, got output_padding "
                        f"{self.output_padding}, stride {self.stride}, dilation "
                        f"{self.dilation}"
                    )
            return [low + op for low, op in zip(smallest, self.output_padding)]
        sizes = [int(size) for size in output_size]
        leading = input.dim() - self.ndim  # batch and channel sizes may come first
        if len(sizes) == leading + self.ndim:
            sizes = sizes[leading:]
        if len(sizes) != self.ndim:
            raise ValueError(
                f"{name}: for a {input.dim()}D input, output_size must have "
                f"{self.ndim} or {leading + self.ndim} elements, got {output_size!r}"
            )
        largest = [low + s - 1 for low, s in zip(smallest, self.stride)]
        if any(
            not low <= size <= high for size, low, high in zip(sizes, smallest, largest)
        ):
            raise ValueError(
                f"{name}: output_size {sizes} is not possible for an input of "
                f"spatial size {tuple(in_size)}: each size must lie between "
                f"{smallest} and {largest}"
            )
        return sizes


def transposed_output_size(
    length: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Output length of a transposed convolution along one dimension (chapter 7).

    ``(length - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + 1 +
    output_padding``: the last input position's window ends at
    ``(length - 1) * stride + dilation * (kernel_size - 1) + 1``.
    """
    reach = (length - 1) * stride + dilation * (kernel_size - 1) + 1
    return reach - 2 * padding + output_padding


def transposed_backward(
    x: Tensor, weight: Tensor, grad_output: Tensor, layer: ConvTransposeNd
) -> tuple[Tensor, Tensor]:
    """``dL/dx`` and ``dL/dW`` of the transposed loop, as loops (chapter 7).

    Input position ``i`` sent ``W x_i`` into its window, so it gets back ``W^T``
    times that window of the upstream gradient (one step of a convolution), and
    ``W`` collects (gradient window) x (input vector), summed over positions.
    ``grad_output`` is the gradient of the uncropped output; ``layer`` gives the
    geometry.
    """
    n, groups, fan_in = x.shape[0], layer.groups, weight.shape[1]
    per_group = weight.view(groups, -1, fan_in)  # (g, C_out // g * prod(k), C_in // g)
    fan_out = per_group.shape[1]
    grad_input = torch.zeros_like(x)
    grad_weight = torch.zeros_like(per_group)
    for position in layer.positions(x.shape[2:]):
        here = (slice(None), slice(None), *position)
        vector = x[here].reshape(n, groups, fan_in)
        window = grad_output[layer.window_index(position)].reshape(n, groups * fan_out)
        # W^T times the window, group by group: one step of a convolution.
        grad_input[here] = grouped_linear(window, weight, groups, transpose=True)
        window = window.view(n, groups, fan_out)
        grad_weight += torch.einsum("ngo,ngi->goi", window, vector)
    return grad_input, grad_weight.view_as(weight)


class LoopConvTranspose(torch.autograd.Function):
    """The transposed loop with its backward written as loops (chapter 7).

    ``LoopConvTranspose.apply(x, layer.kernel.weight, layer, out_size)``: the
    forward pass is ``layer.convolve``, the backward :func:`transposed_backward`.
    Autograd could differentiate ``convolve`` by itself, but each in-place
    addition into the output costs it a copy of the whole output's gradient;
    our loop touches only one window of it per position.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        weight: Tensor,
        layer: ConvTransposeNd,
        out_size: list[int],
    ) -> Tensor:
        """Run ``layer.convolve`` (``weight`` is ``layer.kernel.weight``)."""
        ctx.save_for_backward(x, weight)
        ctx.layer = layer
        return layer.convolve(x, out_size)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor, Tensor, None, None]:
        """Run :func:`transposed_backward`: one gradient per input of ``forward``."""
        x, weight = ctx.saved_tensors
        grad_input, grad_weight = transposed_backward(x, weight, grad_output, ctx.layer)
        return grad_input, grad_weight, None, None


class ConvTranspose1D(ConvTransposeNd):
    """1D transposed convolution as a loop over input positions (chapter 7).

    Mirrors ``torch.nn.ConvTranspose1d``: input ``(N, C_in, L)`` or ``(C_in, L)``.
    """

    ndim = 1
    torch_class = nn.ConvTranspose1d


class ConvTranspose2D(ConvTransposeNd):
    """2D transposed convolution as a loop over input positions (chapter 7).

    Mirrors ``torch.nn.ConvTranspose2d``: input ``(N, C_in, H, W)`` or
    ``(C_in, H, W)``.
    """

    ndim = 2
    torch_class = nn.ConvTranspose2d
