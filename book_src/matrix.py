"""A 1D convolution written as one matrix: banded and weight-tied (chapter 1).

A convolution is linear: every output number is a weighted sum of input numbers. So
it is a matrix ``M`` with ``conv(x).flatten() == M @ x.flatten() + b``. Each row of
``M`` holds the kernel at one window position and zeros everywhere else (a band), and
every row holds the same few weights (they are tied). Chapter 3 compares it with a
fully connected layer, chapter 6 with im2col, and chapter 7 transposes it.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["conv1d_matrix"]


def conv1d_matrix(conv: nn.Module, length: int) -> Tensor:
    """The matrix of a 1D convolution for inputs of ``length`` positions.

    ``conv`` is our ``Conv1D`` or a ``torch.nn.Conv1d`` with zero padding (any
    stride, padding, dilation and groups). Returns ``M``, of shape
    ``(C_out * L_out, C_in * length)``: for an input ``x`` of shape
    ``(C_in, length)``, ``conv(x).flatten()`` equals ``M @ x.flatten()`` plus each
    output channel's bias. Rows and columns are numbered channel by channel, the
    way ``flatten`` numbers them.
    """
    zero_padding = getattr(conv, "padding_mode", "zeros") == "zeros"
    if not zero_padding or isinstance(conv.padding, str):
        raise ValueError("conv1d_matrix: only numeric zero padding is supported")
    weight = conv.weight.detach()  # (C_out, C_in // groups, k)
    c_out, c_group, k = weight.shape
    (stride,), (padding,), (dilation,) = conv.stride, conv.padding, conv.dilation
    l_out = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    outs_per_group = c_out // conv.groups
    matrix = torch.zeros(c_out * l_out, conv.in_channels * length, dtype=weight.dtype)
    for o in range(c_out):  # one output channel ...
        first = (o // outs_per_group) * c_group  # its group's first input channel
        for i in range(l_out):  # ... at one window position: one row
            for c in range(c_group):
                for j in range(k):  # tap j reads input position i*s - p + j*d
                    position = i * stride - padding + j * dilation
                    if 0 <= position < length:  # outside: a padding zero
                        column = (first + c) * length + position
                        matrix[o * l_out + i, column] = weight[o, c, j]
    return matrix
