"""Convolution and pooling layers written as plain Python loops.

The idea the whole course rests on: a convolution slides a window over its input
and, at every window position, applies the same small fully connected layer. Each
convolution here owns exactly one ``nn.Linear`` called ``kernel`` with
``in_channels // groups * prod(kernel_size)`` inputs and ``out_channels`` outputs,
and its ``forward`` is a readable ``for`` loop over the output positions.
Pooling layers loop the same way, with a max or a mean in place of the Linear.

Chapter 1 teaches ``Conv1D``, chapter 2 the pools, chapter 4 ``Conv2D`` and
chapter 5 ``Conv3D``. One loop serves 1, 2 and 3 dimensions: a position is
``(i,)`` in 1D, ``(i, j)`` in 2D and ``(t, i, j)`` in 3D.

Constructors mirror ``torch.nn`` (same argument names, order and defaults), and
every layer converts to and from its ``torch.nn`` twin with ``from_torch`` and
``to_torch``, so the tests can check outputs and gradients against PyTorch.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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

IntOrTuple = int | Sequence[int]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


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


def _tuple(value: Any, ndim: int, name: str, layer: str) -> tuple[int, ...]:
    """Turn an int or a sequence of ``ndim`` ints into a tuple, or explain why not."""
    values = (value,) * ndim if isinstance(value, int) else tuple(value)
    if len(values) != ndim or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(
            f"{layer}: {name} must be an int or a tuple of {ndim} ints, got {value!r}"
        )
    return values


def _check_positive(values: tuple[int, ...], name: str, layer: str) -> None:
    if any(v <= 0 for v in values):
        raise ValueError(f"{layer}: {name} must be positive, got {values}")


def _spatial_names(ndim: int) -> str:
    return {1: "L", 2: "H, W", 3: "D, H, W"}[ndim]


class _SlidingWindowNd(nn.Module):
    """What every layer here shares: a window slid over ``ndim`` spatial dimensions."""

    ndim: ClassVar[int]  # 1, 2 or 3: set by each concrete class
    torch_class: ClassVar[type[nn.Module]]  # the torch.nn twin

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _split_batch(self, input: Tensor, channels: int | None) -> tuple[Tensor, bool]:
        """Check the input's shape; add a batch dimension to an unbatched input."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name}: expected a torch.Tensor, got {type(input)}")
        batched = self.ndim + 2
        if input.dim() not in (batched - 1, batched):
            spatial = _spatial_names(self.ndim)
            raise ValueError(
                f"{self._name}: expected a {batched}D input (N, C, {spatial}) or a "
                f"{batched - 1}D unbatched input (C, {spatial}), got a "
                f"{input.dim()}D input of shape {tuple(input.shape)}"
            )
        unbatched = input.dim() == batched - 1
        x = input.unsqueeze(0) if unbatched else input
        if channels is not None and x.shape[1] != channels:
            raise ValueError(
                f"{self._name}: expected {channels} input channels, got "
                f"{x.shape[1]} (input of shape {tuple(input.shape)})"
            )
        return x, unbatched

    def _check_fits(self, sizes: Sequence[int], padded: Sequence[int]) -> None:
        """Raise if a window (kernel widened by dilation) is larger than the input."""
        for dim, (size, full, k, d) in enumerate(
            zip(sizes, padded, self.kernel_size, self.dilation)
        ):
            span = d * (k - 1) + 1
            if span > full:
                raise ValueError(
                    f"{self._name}: the kernel spans {span} (kernel_size {k}, "
                    f"dilation {d}) but the padded input is only {full} long "
                    f"(input {size}) in spatial dimension {dim}"
                )

    def _positions(self, out_size: Sequence[int]) -> Iterator[tuple[int, ...]]:
        """Every output position: (i,) in 1D, (i, j) in 2D, (t, i, j) in 3D."""
        return itertools.product(*(range(n) for n in out_size))

    def _window(self, position: tuple[int, ...]) -> tuple[slice, ...]:
        """The index that cuts, from the padded input, the window for ``position``."""
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

    @classmethod
    def _init_args(cls, module: nn.Module) -> dict[str, Any]:
        """Constructor arguments read off a torch.nn module of the matching class."""
        if not isinstance(module, cls.torch_class):
            raise TypeError(
                f"{cls.__name__}.from_torch expects a {cls.torch_class.__name__}, "
                f"got {type(module).__name__}"
            )
        names = list(inspect.signature(cls.__init__).parameters)[1:]
        return {name: getattr(module, name) for name in names if hasattr(module, name)}

    @classmethod
    def from_torch(cls, module: nn.Module) -> _SlidingWindowNd:
        """Build the loop layer with the same hyper-parameters as a torch.nn layer."""
        return cls(**cls._init_args(module))

    def to_torch(self) -> nn.Module:
        """Return the equivalent torch.nn layer."""
        names = list(inspect.signature(self.torch_class.__init__).parameters)[1:]
        return self.torch_class(
            **{name: getattr(self, name) for name in names if hasattr(self, name)}
        )


class _ConvNd(_SlidingWindowNd):
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
        name, n = self._name, self.ndim
        for arg, value in (
            ("in_channels", in_channels),
            ("out_channels", out_channels),
            ("groups", groups),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must both be divisible by groups ({groups})"
            )
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        self.stride = _tuple(stride, n, "stride", name)
        self.dilation = _tuple(dilation, n, "dilation", name)
        _check_positive(self.kernel_size, "kernel_size", name)
        _check_positive(self.stride, "stride", name)
        _check_positive(self.dilation, "dilation", name)
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {PADDING_MODES}, "
                f"got {padding_mode!r}"
            )

        # Padding: kept as given (like torch.nn), plus the (left, right) amounts.
        if isinstance(padding, str):
            if padding == "valid":
                sides = [(0, 0)] * n
            elif padding == "same":
                if any(s != 1 for s in self.stride):
                    raise ValueError(
                        f"{name}: padding='same' needs stride 1, got stride "
                        f"{self.stride} (the output could not match the input size)"
                    )
                # Total d * (k - 1); an odd total puts the extra element on the right.
                totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
                sides = [(t // 2, t - t // 2) for t in totals]
            else:
                raise ValueError(
                    f"{name}: padding must be an int, a tuple, 'valid' or 'same', "
                    f"got {padding!r}"
                )
            self.padding: str | tuple[int, ...] = padding
        else:
            self.padding = _tuple(padding, n, "padding", name)
            if any(p < 0 for p in self.padding):
                raise ValueError(f"{name}: padding must be >= 0, got {self.padding}")
            sides = [(p, p) for p in self.padding]
        self._sides: tuple[tuple[int, int], ...] = tuple(sides)

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.padding_mode = padding_mode
        # The one fully connected layer applied to every window.
        self.kernel = nn.Linear(
            in_channels // groups * math.prod(self.kernel_size),
            out_channels,
            bias=bias,
            device=device,
            dtype=dtype,
        )

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

    def forward(self, input: Tensor) -> Tensor:
        """Convolve ``(N, C_in, *spatial)`` or ``(C_in, *spatial)`` input."""
        x, unbatched = self._split_batch(input, self.in_channels)
        padded = self._pad(x)
        self._check_fits(x.shape[2:], padded.shape[2:])
        out_size = [
            output_size(size, k, s, 0, d)
            for size, k, s, d in zip(
                padded.shape[2:], self.kernel_size, self.stride, self.dilation
            )
        ]
        out = self._convolve(padded, out_size)
        return out.squeeze(0) if unbatched else out

    def _pad(self, x: Tensor) -> Tensor:
        """Pad every spatial dimension by its (left, right) amounts."""
        if not any(left or right for left, right in self._sides):
            return x
        for dim, ((left, right), size) in enumerate(zip(self._sides, x.shape[2:])):
            limit = size - 1 if self.padding_mode == "reflect" else size
            if (
                self.padding_mode in ("reflect", "circular")
                and max(left, right) > limit
            ):
                raise ValueError(
                    f"{self._name}: padding_mode={self.padding_mode!r} can pad at most "
                    f"{limit} in spatial dimension {dim} (input size {size}), "
                    f"asked for {max(left, right)}"
                )
        # F.pad wants (left, right) pairs starting from the last dimension.
        amounts = [a for pair in reversed(self._sides) for a in pair]
        if self.padding_mode == "zeros":
            return F.pad(x, amounts)
        return F.pad(x, amounts, mode=self.padding_mode)

    def _convolve(self, x: Tensor, out_size: list[int]) -> Tensor:
        """The lesson itself: one Linear applied at every window position."""
        outputs = []
        for position in self._positions(out_size):
            window = x[self._window(position)]  # (N, C_in, *kernel_size)
            outputs.append(self._apply_kernel(window))  # (N, C_out)
        # One column per position, then back to the spatial layout.
        out = torch.stack(outputs, dim=-1)  # (N, C_out, positions)
        return out.reshape(x.shape[0], self.out_channels, *out_size)

    def _apply_kernel(self, window: Tensor) -> Tensor:
        """Apply the Linear to one window: ``(N, C_in, *kernel)`` -> ``(N, C_out)``."""
        n = window.shape[0]
        if self.groups == 1:
            return self.kernel(window.reshape(n, self.kernel.in_features))
        # Groups: channel group g only sees input group g, through its own rows
        # of the same Linear's weight matrix.
        window = window.reshape(n, self.groups, self.kernel.in_features)
        weight = self.kernel.weight.view(self.groups, -1, self.kernel.in_features)
        out = torch.einsum("ngi,goi->ngo", window, weight).reshape(n, self.out_channels)
        return out if self.kernel.bias is None else out + self.kernel.bias

    @classmethod
    def from_torch(cls, module: nn.Module) -> _ConvNd:
        """Build the loop layer with the same hyper-parameters and weights.

        The torch.nn weight ``(out, in // groups, *kernel)`` is flattened into the
        Linear's ``(out, in // groups * prod(kernel))`` matrix; the bias is copied.
        """
        args = cls._init_args(module)
        args["bias"] = module.bias is not None
        layer = cls(**args, device=module.weight.device, dtype=module.weight.dtype)
        with torch.no_grad():
            layer.kernel.weight.copy_(module.weight.reshape(layer.kernel.weight.shape))
            if module.bias is not None:
                layer.kernel.bias.copy_(module.bias)
        return layer

    def to_torch(self) -> nn.Module:
        """Return the equivalent torch.nn convolution, with a copy of the weights."""
        module = self.torch_class(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
            groups=self.groups,
            bias=self.kernel.bias is not None,
            padding_mode=self.padding_mode,
            device=self.kernel.weight.device,
            dtype=self.kernel.weight.dtype,
        )
        with torch.no_grad():
            module.weight.copy_(self.weight)
            if self.kernel.bias is not None:
                module.bias.copy_(self.kernel.bias)
        return module

    def extra_repr(self) -> str:
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
            f", stride={self.stride}"
        )
        if self.padding != (0,) * self.ndim:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.ndim:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.kernel.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class _PoolNd(_SlidingWindowNd):
    """Shared checks and sizes of the pooling layers."""

    ceil_mode: bool

    def _setup(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None,
        padding: IntOrTuple,
        dilation: IntOrTuple,
        ceil_mode: bool,
    ) -> None:
        name, n = self._name, self.ndim
        self.kernel_size = _tuple(kernel_size, n, "kernel_size", name)
        # stride=None means one window right after the other: stride = kernel_size.
        if stride is None:
            self.stride = self.kernel_size
        else:
            self.stride = _tuple(stride, n, "stride", name)
        self.padding = _tuple(padding, n, "padding", name)
        self.dilation = _tuple(dilation, n, "dilation", name)
        _check_positive(self.kernel_size, "kernel_size", name)
        _check_positive(self.stride, "stride", name)
        _check_positive(self.dilation, "dilation", name)
        if any(p < 0 or p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"{name}: padding must be between 0 and half the kernel size "
                f"(kernel_size {self.kernel_size}), got {self.padding}"
            )
        self.ceil_mode = bool(ceil_mode)

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
        amounts = [a for pair in reversed(sides) for a in pair]
        return F.pad(x, amounts, value=value), out_size, sides

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, ceil_mode={self.ceil_mode}"
        )


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
        self._setup(kernel_size, stride, padding, dilation, ceil_mode)
        self.return_indices = bool(return_indices)

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        """Max-pool ``(N, C, *spatial)`` or ``(C, *spatial)`` input."""
        x, unbatched = self._split_batch(input, channels=None)
        n, c, *sizes = x.shape
        padded, out_size, sides = self._pad_and_size(x, value=-math.inf)
        # Where each padded element sits in the input, as a flat index; -1 in padding.
        where = torch.arange(math.prod(sizes), device=x.device).view(sizes)
        where = F.pad(where, [a for pair in reversed(sides) for a in pair], value=-1)

        values, indices = [], []
        for position in self._positions(out_size):
            index = self._window(position)
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
        self._setup(kernel_size, stride, padding, 1, ceil_mode)
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
        real = F.pad(x.new_ones(sizes), [a for pair in reversed(sides) for a in pair])
        in_padding = F.pad(
            x.new_ones([size + 2 * p for size, p in zip(sizes, self.padding)]),
            [a for (p, right) in reversed(sides) for a in (0, right - p)],
        )

        values = []
        for position in self._positions(out_size):
            index = self._window(position)
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
    """2D max pooling as a loop (chapter 4). Mirrors ``torch.nn.MaxPool2d``."""

    ndim = 2
    torch_class = nn.MaxPool2d


class MaxPool3D(_MaxPoolNd):
    """3D max pooling as a loop (chapter 5). Mirrors ``torch.nn.MaxPool3d``."""

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
    """2D average pooling as a loop (chapter 4). Mirrors ``torch.nn.AvgPool2d``."""

    ndim = 2
    torch_class = nn.AvgPool2d


class AvgPool3D(_AvgPoolNd):
    """3D average pooling as a loop (chapter 5). Mirrors ``torch.nn.AvgPool3d``."""

    ndim = 3
    torch_class = nn.AvgPool3d
