"""What the loop layers need besides their loops: argument checks and torch.nn parity.

:mod:`book_src.layers` keeps the lesson (the loops) in view; this module holds the
rest, which no chapter needs to read: turning ``int``-or-tuple arguments into
tuples, the errors for bad arguments and bad inputs, padding amounts, and the
conversions to and from the ``torch.nn`` twins. Every error is a ``ValueError``
(or a ``TypeError`` for a wrong type) that says what was expected and what came.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

IntOrTuple = int | Sequence[int]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def as_tuple(value: Any, ndim: int, name: str, layer: str) -> tuple[int, ...]:
    """Turn an int or a sequence of ``ndim`` ints into a tuple, or explain why not."""
    values = (value,) * ndim if isinstance(value, int) else tuple(value)
    if len(values) != ndim or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in values
    ):
        raise ValueError(
            f"{layer}: {name} must be an int or a tuple of {ndim} ints, got {value!r}"
        )
    return values


def check_window(module: Any, layer: str) -> None:
    """Raise a ValueError unless kernel_size, stride and dilation are all positive."""
    for name in ("kernel_size", "stride", "dilation"):
        values = getattr(module, name)
        if any(v <= 0 for v in values):
            raise ValueError(f"{layer}: {name} must be positive, got {values}")


def check_positive_int(value: Any, name: str, layer: str) -> None:
    """Raise a ValueError unless ``value`` is a positive int (not a bool)."""
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive int, got {value!r}")


def spatial_names(ndim: int) -> str:
    """The names of the spatial dimensions, for error messages."""
    return {1: "L", 2: "H, W", 3: "D, H, W"}[ndim]


def pad_pairs(sides: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad``'s amounts: (left, right) pairs starting from the last dimension."""
    return [a for pair in reversed(sides) for a in pair]


def conv_extra_repr(layer: Any) -> str:
    """A convolution's arguments as torch.nn prints them: the defaults left out.

    Serves the convolutions and the transposed convolutions (which add
    ``output_padding``).
    """
    n = layer.ndim
    s = (
        f"{layer.in_channels}, {layer.out_channels}, kernel_size={layer.kernel_size}"
        f", stride={layer.stride}"
    )
    if layer.padding != (0,) * n:
        s += f", padding={layer.padding}"
    if getattr(layer, "output_padding", (0,) * n) != (0,) * n:
        s += f", output_padding={layer.output_padding}"
    if layer.dilation != (1,) * n:
        s += f", dilation={layer.dilation}"
    if layer.groups != 1:
        s += f", groups={layer.groups}"
    if layer.bias is None:
        s += ", bias=False"
    if layer.padding_mode != "zeros":
        s += f", padding_mode={layer.padding_mode!r}"
    return s


class TorchTwin(nn.Module):
    """Input checks and ``from_torch`` / ``to_torch`` shared by every loop layer."""

    ndim: ClassVar[int]  # 1, 2 or 3: set by each concrete class
    torch_class: ClassVar[type[nn.Module]]  # the torch.nn twin

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def _name(self) -> str:
        return type(self).__name__

    def _set_channels_and_window(
        self,
        in_channels: int,
        out_channels: int,
        groups: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple,
        dilation: IntOrTuple,
    ) -> None:
        """Check a convolution's channels and window, as torch.nn does; store tuples.

        Shared by the convolutions and the transposed convolutions (chapter 7).
        """
        name, n = self._name, self.ndim
        check_positive_int(in_channels, "in_channels", name)
        check_positive_int(out_channels, "out_channels", name)
        check_positive_int(groups, "groups", name)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must both be divisible by groups ({groups})"
            )
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        self.stride = as_tuple(stride, n, "stride", name)
        self.dilation = as_tuple(dilation, n, "dilation", name)
        check_window(self, name)

    def _split_batch(self, input: Tensor, channels: int | None) -> tuple[Tensor, bool]:
        """Check the input's shape; add a batch dimension to an unbatched input."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self._name}: expected a torch.Tensor, got {type(input)}")
        batched = self.ndim + 2
        if input.dim() not in (batched - 1, batched):
            spatial = spatial_names(self.ndim)
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
    def from_torch(cls, module: nn.Module) -> TorchTwin:
        """Build the loop layer with the same hyper-parameters as a torch.nn layer."""
        return cls(**cls._init_args(module))

    def to_torch(self) -> nn.Module:
        """Return the equivalent torch.nn layer."""
        names = list(inspect.signature(self.torch_class.__init__).parameters)[1:]
        return self.torch_class(
            **{name: getattr(self, name) for name in names if hasattr(self, name)}
        )


class ConvTwin(TorchTwin):
    """A convolution's argument checks, padding and torch.nn conversions."""

    in_channels: int
    out_channels: int
    groups: int
    padding: str | tuple[int, ...]
    padding_mode: str
    kernel: nn.Linear
    _sides: tuple[tuple[int, int], ...]

    def _set_arguments(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrTuple,
        stride: IntOrTuple,
        padding: str | IntOrTuple,
        dilation: IntOrTuple,
        groups: int,
        padding_mode: str,
    ) -> None:
        """Check the constructor's arguments and store them as torch.nn does."""
        name, n = self._name, self.ndim
        self._set_channels_and_window(
            in_channels, out_channels, groups, kernel_size, stride, dilation
        )
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
            self.padding = padding
        else:
            self.padding = as_tuple(padding, n, "padding", name)
            if any(p < 0 for p in self.padding):
                raise ValueError(f"{name}: padding must be >= 0, got {self.padding}")
            sides = [(p, p) for p in self.padding]
        self._sides = tuple(sides)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.groups = groups
        self.padding_mode = padding_mode

    def _check_padding_mode(self, x: Tensor) -> None:
        """Reflect and circular padding cannot pad more than the input holds."""
        if self.padding_mode not in ("reflect", "circular"):
            return
        for dim, ((left, right), size) in enumerate(zip(self._sides, x.shape[2:])):
            limit = size - 1 if self.padding_mode == "reflect" else size
            if max(left, right) > limit:
                raise ValueError(
                    f"{self._name}: padding_mode={self.padding_mode!r} can pad at most "
                    f"{limit} in spatial dimension {dim} (input size {size}), "
                    f"asked for {max(left, right)}"
                )

    @classmethod
    def from_torch(cls, module: nn.Module) -> ConvTwin:
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
            # The Linear's rows, seen as torch.nn's (out, in // groups, *kernel).
            module.weight.copy_(self.kernel.weight.view_as(module.weight))
            if self.kernel.bias is not None:
                module.bias.copy_(self.kernel.bias)
        return module

    def extra_repr(self) -> str:
        return conv_extra_repr(self)


class PoolTwin(TorchTwin):
    """A pooling layer's argument checks, padding and output size."""

    ceil_mode: bool
    padding: tuple[int, ...]

    def _set_arguments(
        self,
        kernel_size: IntOrTuple,
        stride: IntOrTuple | None,
        padding: IntOrTuple,
        dilation: IntOrTuple,
        ceil_mode: bool,
    ) -> None:
        """Check the constructor's arguments and store them as torch.nn does."""
        name, n = self._name, self.ndim
        self.kernel_size = as_tuple(kernel_size, n, "kernel_size", name)
        # stride=None means one window right after the other: stride = kernel_size.
        if stride is None:
            self.stride = self.kernel_size
        else:
            self.stride = as_tuple(stride, n, "stride", name)
        self.padding = as_tuple(padding, n, "padding", name)
        self.dilation = as_tuple(dilation, n, "dilation", name)
        check_window(self, name)
        if any(p < 0 or p > k // 2 for p, k in zip(self.padding, self.kernel_size)):
            raise ValueError(
                f"{name}: padding must be between 0 and half the kernel size "
                f"(kernel_size {self.kernel_size}), got {self.padding}"
            )
        self.ceil_mode = bool(ceil_mode)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, ceil_mode={self.ceil_mode}"
        )
