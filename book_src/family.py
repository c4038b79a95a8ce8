"""The convolution family: what a layer costs and how far it sees (chapter 7)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from torch import nn

from book_src.layers import Conv2D

__all__ = ["Cost", "conv_cost", "depthwise_separable", "receptive_field"]


@dataclass(frozen=True)
class Cost:
    """What one convolution costs: weights to store and multiply-adds to run."""

    parameters: int
    multiply_adds: int

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.parameters + other.parameters, self.multiply_adds + other.multiply_adds
        )


def conv_cost(
    in_channels: int,
    out_channels: int,
    kernel_size: Sequence[int],
    out_size: Sequence[int],
    groups: int = 1,
    bias: bool = True,
) -> Cost:
    """Parameters and multiply-adds of one convolution, for one sample (chapter 7).

    A window over the padding costs a full set of multiply-adds, as in the loop;
    bias additions are not counted.
    """
    fan_in = in_channels // groups * math.prod(kernel_size)
    parameters = out_channels * fan_in + (out_channels if bias else 0)
    multiply_adds = out_channels * math.prod(out_size) * fan_in
    return Cost(parameters, multiply_adds)


def depthwise_separable(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    padding: int = 0,
    conv: type[nn.Module] = Conv2D,
) -> nn.Sequential:
    """A depthwise then a pointwise (1 x 1) convolution (chapter 7).

    The depthwise convolution (``groups = in_channels``) filters every channel on
    its own; the pointwise one mixes the channels at every pixel. Together they
    replace one standard ``kernel_size`` convolution at a fraction of its cost.
    """
    channels = in_channels  # depthwise: one filter per channel, groups=channels
    depthwise = conv(channels, channels, kernel_size, padding=padding, groups=channels)
    return nn.Sequential(depthwise, conv(in_channels, out_channels, 1))


def receptive_field(convs: Iterable[nn.Module]) -> tuple[int, ...]:
    """Input elements, per dimension, that one output of a stack depends on (ch. 7).

    Each layer widens the field by ``dilation * (kernel_size - 1)`` steps of its
    input, and one step of its input is ``jump`` input elements of the stack,
    where ``jump`` is the product of the strides before it:
    ``r = 1 + sum_l d_l (k_l - 1) prod_{m < l} s_m``. Works for any modules with
    ``kernel_size``, ``stride`` and ``dilation`` tuples (ours or torch.nn's).
    """
    convs = list(convs)
    if not convs:
        raise ValueError("receptive_field: expected at least one convolution")
    field = [1] * len(convs[0].kernel_size)
    jump = [1] * len(field)
    for conv in convs:
        for dim, (k, s, d) in enumerate(
            zip(conv.kernel_size, conv.stride, conv.dilation)
        ):
            field[dim] += d * (k - 1) * jump[dim]
            jump[dim] *= s
    return tuple(field)
