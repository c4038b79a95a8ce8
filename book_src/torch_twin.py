"""What every loop layer shares besides its loop: checks and torch.nn conversions.

Errors are ``ValueError`` (``TypeError`` for a wrong type) saying what was expected.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

__all__ = ["IntOrTuple", "TorchTwin", "as_tuple", "pad_pairs"]

IntOrTuple = int | Sequence[int]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
SPATIAL_NAMES = {1: "L", 2: "H, W", 3: "D, H, W"}


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


def pad_pairs(sides: Sequence[tuple[int, int]]) -> list[int]:
    """``F.pad``'s amounts: (left, right) pairs starting from the last dimension."""
    return [a for pair in reversed(sides) for a in pair]


class TorchTwin(nn.Module):
    """The base of every loop layer: a subclass sets ``ndim`` and ``torch_class``.

    Weights live in one ``nn.Linear``, ``kernel``; ``linear_weight`` maps
    ``torch.nn``'s layout onto it.
    """

    ndim: ClassVar[int]
    torch_class: ClassVar[type[nn.Module]]

    @property
    def name(self) -> str:
        """The class name, which every error message starts with."""
        return type(self).__name__

    def set_window(
        self, kernel_size: IntOrTuple, stride: IntOrTuple, dilation: IntOrTuple
    ) -> None:
        """Check and store kernel size, stride and dilation: positive, one per dim."""
        window = {"kernel_size": kernel_size, "stride": stride, "dilation": dilation}
        for name, value in window.items():
            values = as_tuple(value, self.ndim, name, self.name)
            if any(v <= 0 for v in values):
                raise ValueError(f"{self.name}: {name} must be positive, got {values}")
            setattr(self, name, values)

    def set_channels(
        self, in_channels: int, out_channels: int, groups: int, padding_mode: str
    ) -> None:
        """Check and store a convolution's channels, groups and padding mode."""
        sizes = {"in_channels": in_channels, "out_channels": out_channels}
        for name, value in {**sizes, "groups": groups}.items():
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"{self.name}: {name} must be a positive int, got {value!r}"
                )
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{self.name}: in_channels ({in_channels}) and out_channels "
                f"({out_channels}) must both be divisible by groups ({groups})"
            )
        if padding_mode not in PADDING_MODES:
            raise ValueError(
                f"{self.name}: padding_mode must be one of {PADDING_MODES}, "
                f"got {padding_mode!r}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.groups, self.padding_mode = groups, padding_mode

    def int_padding(self, padding: Any, name: str = "padding") -> tuple[int, ...]:
        """``padding`` as a tuple of ``ndim`` ints, each at least 0."""
        values = as_tuple(padding, self.ndim, name, self.name)
        if any(p < 0 for p in values):
            raise ValueError(f"{self.name}: {name} must be >= 0, got {values}")
        return values

    def check_input(self, input: Tensor, channels: int | None) -> tuple[Tensor, bool]:
        """Check the input's shape; return it batched, and whether it was not."""
        if not isinstance(input, Tensor):
            raise TypeError(f"{self.name}: expected a torch.Tensor, got {type(input)}")
        batched = self.ndim + 2
        if input.dim() not in (batched - 1, batched):
            spatial = SPATIAL_NAMES[self.ndim]
            raise ValueError(
                f"{self.name}: expected a {batched}D input (N, C, {spatial}) or a "
                f"{batched - 1}D unbatched input (C, {spatial}), got a "
                f"{input.dim()}D input of shape {tuple(input.shape)}"
            )
        unbatched = input.dim() == batched - 1
        x = input.unsqueeze(0) if unbatched else input
        if channels is not None and x.shape[1] != channels:
            raise ValueError(
                f"{self.name}: expected {channels} input channels, got "
                f"{x.shape[1]} (input of shape {tuple(input.shape)})"
            )
        return x, unbatched

    def check_fits(self, sizes: Sequence[int], padded: Sequence[int]) -> None:
        """Raise if a window (kernel widened by dilation) is larger than the input."""
        for dim, (size, full, k, d) in enumerate(
            zip(sizes, padded, self.kernel_size, self.dilation)
        ):
            span = d * (k - 1) + 1
            if span > full:
                raise ValueError(
                    f"{self.name}: the kernel spans {span} (kernel_size {k}, "
                    f"dilation {d}) but the padded input is only {full} long "
                    f"(input {size}) in spatial dimension {dim}"
                )

    @classmethod
    def from_torch(cls, module: nn.Module) -> TorchTwin:
        """Build the loop layer with the same arguments (and weights) as ``module``."""
        if not isinstance(module, cls.torch_class):
            raise TypeError(
                f"{cls.__name__}.from_torch expects a {cls.torch_class.__name__}, "
                f"got {type(module).__name__}"
            )
        layer = _built_like(cls, module)
        if getattr(module, "weight", None) is not None:
            with torch.no_grad():
                layer.kernel.weight.copy_(layer.linear_weight(module.weight))
                if module.bias is not None:
                    layer.bias.copy_(module.bias)
        return layer

    def to_torch(self) -> nn.Module:
        """Return the equivalent ``torch.nn`` layer, with a copy of the weights."""
        module = _built_like(self.torch_class, self)
        if getattr(self, "weight", None) is not None:
            with torch.no_grad():
                module.weight.copy_(self.weight)
                if self.bias is not None:
                    module.bias.copy_(self.bias)
        return module

    def extra_repr(self) -> str:
        """A convolution's arguments as ``torch.nn`` prints them, defaults left out."""
        s = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
            f", stride={self.stride}"
        )
        # Printed when not their default; a convolution has no output_padding.
        for name, default in {"padding": 0, "output_padding": 0, "dilation": 1}.items():
            value = getattr(self, name, (default,) * self.ndim)
            if value != (default,) * self.ndim:
                s += f", {name}={value}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


def _built_like(cls: type[nn.Module], source: nn.Module) -> Any:
    """``cls`` built from the constructor arguments ``source`` holds as attributes."""
    names = list(inspect.signature(cls.__init__).parameters)[1:]
    args = {name: getattr(source, name) for name in names if hasattr(source, name)}
    weight = getattr(source, "weight", None)
    if weight is not None:  # not a pool: its bias, and where its weights live
        args.update(bias=source.bias is not None, device=weight.device)
        args.update(dtype=weight.dtype)
    return cls(**args)
