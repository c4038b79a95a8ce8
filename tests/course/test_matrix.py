"""``conv1d_matrix``: the convolution as one matrix gives the convolution's output."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from book_src.layers import Conv1D
from book_src.matrix import conv1d_matrix


@pytest.mark.parametrize(
    "in_channels, out_channels, kernel_size, stride, padding, dilation, groups",
    [
        (1, 1, 3, 1, 0, 1, 1),
        (1, 1, 3, 1, 1, 1, 1),
        (2, 3, 3, 2, 1, 1, 1),
        (4, 4, 2, 3, 2, 2, 2),
        (3, 6, 1, 1, 0, 1, 3),
        (2, 4, 4, 2, 1, 1, 1),
    ],
)
def test_matrix_times_input_is_the_convolution(
    in_channels, out_channels, kernel_size, stride, padding, dilation, groups
) -> None:
    torch.manual_seed(0)
    conv = nn.Conv1d(
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        dtype=torch.float64,
    )
    length = 11
    x = torch.randn(in_channels, length, dtype=torch.float64)
    matrix = conv1d_matrix(conv, length)
    expected = conv(x)
    got = matrix @ x.flatten() + conv.bias.repeat_interleave(expected.shape[1])
    torch.testing.assert_close(got, expected.flatten())


def test_our_conv1d_gives_the_same_matrix() -> None:
    torch.manual_seed(0)
    ours = Conv1D(2, 3, kernel_size=3, stride=2, padding=1)
    assert torch.equal(conv1d_matrix(ours, 9), conv1d_matrix(ours.to_torch(), 9))


def test_band_and_tied_weights() -> None:
    conv = nn.Conv1d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([[[1.0, 2.0, 3.0]]]))
    matrix = conv1d_matrix(conv, 6)
    assert matrix.shape == (4, 6)
    for row in range(4):  # the same three weights, one step further each row
        assert matrix[row, row : row + 3].tolist() == [1.0, 2.0, 3.0]
        assert matrix[row].count_nonzero() == 3


@pytest.mark.parametrize("padding, mode", [("same", "zeros"), (1, "circular")])
def test_refuses_what_it_cannot_write(padding, mode) -> None:
    conv = nn.Conv1d(1, 1, 3, padding=padding, padding_mode=mode)
    with pytest.raises(ValueError, match="zero padding"):
        conv1d_matrix(conv, 5)
