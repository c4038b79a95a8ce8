"""book_src.family against independent counts.

PyTorch's FLOP counter, brute force, the parameter tensors themselves, and the
non-zero region of a gradient.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from book_src import family, layers
from book_src.models import cnn2d

CONFIGS = [
    # (ndim, in, out, kernel, stride, padding, dilation, groups, bias)
    (2, 3, 8, 3, 1, 0, 1, 1, True),
    (2, 3, 8, 3, 2, 1, 1, 1, False),
    (2, 8, 8, 3, 1, 1, 1, 8, True),  # depthwise
    (2, 8, 16, 1, 1, 0, 1, 1, True),  # pointwise
    (2, 6, 9, (3, 5), (1, 2), (1, 2), (2, 1), 3, True),
    (1, 4, 6, 5, 2, 2, 1, 2, True),
    (1, 1, 8, 3, 2, 1, 1, 1, True),
]


def torch_conv(ndim, c_in, c_out, k, s, p, d, g, bias):
    conv = (nn.Conv1d, nn.Conv2d)[ndim - 1]
    return conv(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_cost_matches_pytorch_flop_counter(config):
    ndim, c_in = config[0], config[1]
    conv = torch_conv(*config)
    x = torch.randn(1, c_in, *(11,) * ndim)
    with FlopCounterMode(display=False) as counter:
        y = conv(x)
    cost = family.conv_cost(
        c_in, conv.out_channels, conv.kernel_size, y.shape[2:], conv.groups, config[-1]
    )
    # PyTorch counts a multiply-add as 2 floating-point operations.
    assert counter.get_total_flops() == 2 * cost.multiply_adds
    assert cost.parameters == sum(p.numel() for p in conv.parameters())


@pytest.mark.parametrize("config", [c for c in CONFIGS if c[5] == 0], ids=str)
def test_cost_matches_brute_force(config):
    # All weights 1, input all 1, no bias, no padding: every output element is the
    # number of multiply-adds that made it, so the sum of the output is the count.
    ndim, c_in = config[0], config[1]
    conv = torch_conv(*config[:-1], bias=False).double()
    nn.init.ones_(conv.weight)
    y = conv(torch.ones(1, c_in, *(11,) * ndim, dtype=torch.float64))
    cost = family.conv_cost(
        c_in, conv.out_channels, conv.kernel_size, y.shape[2:], conv.groups
    )
    assert y.sum().item() == cost.multiply_adds


def test_depthwise_separable_is_cheaper_and_adds_up():
    standard = family.conv_cost(32, 64, (3, 3), (14, 14))
    separable = family.depthwise_separable(32, 64, 3, padding=1, conv=nn.Conv2d)
    x = torch.randn(1, 32, 14, 14)
    with FlopCounterMode(display=False) as counter:
        y = separable(x)
    cost = family.conv_cost(32, 32, (3, 3), (14, 14), groups=32) + family.conv_cost(
        32, 64, (1, 1), (14, 14)
    )
    assert y.shape == (1, 64, 14, 14)
    assert counter.get_total_flops() == 2 * cost.multiply_adds
    assert cost.parameters == sum(p.numel() for p in separable.parameters())
    assert cost.multiply_adds < standard.multiply_adds / 7
    ours = family.depthwise_separable(32, 64, 3, padding=1)
    assert isinstance(ours[0], layers.Conv2D) and ours[0].groups == 32


def gradient_extent(convs, size):
    """Bounding box, per dimension, of the input pixels with a non-zero gradient
    of the centre output of ``convs`` stacked without activations."""
    ndim = len(convs[0].kernel_size)
    x = torch.ones(1, convs[0].in_channels, *(size,) * ndim, requires_grad=True)
    y = x
    for conv in convs:
        y = conv(y)
    centre = tuple(n // 2 for n in y.shape[2:])
    y[(0, 0, *centre)].backward()
    nonzero = x.grad[0].abs().sum(dim=0).nonzero()
    return tuple(
        int(hi - lo + 1) for lo, hi in zip(nonzero.min(0)[0], nonzero.max(0)[0])
    )


def test_cnn2d_receptive_field_is_confirmed_by_a_gradient():
    torch.manual_seed(0)
    model = cnn2d()
    convs = [model.conv1, model.conv2, model.conv3]
    for conv in convs:  # positive weights: no cancellation can hide a pixel
        with torch.no_grad():
            conv.kernel.weight.abs_()
    assert family.receptive_field(convs) == (15, 15)
    assert gradient_extent(convs, 28) == (15, 15)


@pytest.mark.parametrize(
    "stack",
    [
        [(3, 1, 1), (3, 1, 1)],
        [(3, 2, 1), (3, 2, 1), (3, 1, 1)],
        [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
        [(5, 2, 1), (2, 1, 3), (3, 3, 1)],
    ],
    ids=str,
)
def test_receptive_field_formula_against_gradients(stack):
    convs = [nn.Conv1d(1, 1, k, stride=s, dilation=d, bias=False) for k, s, d in stack]
    for conv in convs:
        nn.init.ones_(conv.weight)
    field = family.receptive_field(convs)
    assert gradient_extent(convs, 101) == field


def test_receptive_field_needs_a_layer():
    with pytest.raises(ValueError, match="at least one"):
        family.receptive_field([])
