"""The loop convolutions against torch.nn: outputs and every gradient, in float64.

A fixed grid covers each argument on its own; hypothesis then mixes them.
Every implementation listed in IMPLEMENTATIONS is held to the same tests.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from book_src import layers, pooling, vectorized

from parity import (
    AVGPOOLS,
    MAXPOOLS,
    SWEEP,
    Im2colConv3D,
    assert_same,
    conv_config_is_valid,
    conv_configs,
    input_for,
)

# Convolutions in 1, 2 and 3 dimensions with the same API: the loop and im2col.
IMPLEMENTATIONS = {
    "layers": {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D},
    "vectorized": {
        1: vectorized.Im2colConv1D,
        2: vectorized.Im2colConv2D,
        3: Im2colConv3D,
    },
}
CONVS = IMPLEMENTATIONS["layers"]
TORCH_CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
TORCH_MAXPOOLS = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
TORCH_AVGPOOLS = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
# Small inputs keep the Python loops quick: spatial size per dimension.
SIZES = {1: 11, 2: 7, 3: 5}
DTYPE = torch.float64


def random_input(ndim: int, batch: int | None, channels: int, size: int | None = None):
    size = size or SIZES[ndim]
    shape = (channels,) + (size,) * ndim
    if batch is not None:
        shape = (batch, *shape)
    return torch.randn(shape, dtype=DTYPE)


def make_conv(impl, ndim: int, *args, **kwargs):
    theirs = TORCH_CONVS[ndim](*args, **kwargs, dtype=DTYPE)
    ours = IMPLEMENTATIONS[impl][ndim].from_torch(theirs)
    return ours, theirs


# --- Convolutions: one argument at a time -----------------------------------

CONV_CASES = [
    dict(kernel_size=3),
    dict(kernel_size=1),
    dict(kernel_size=4, stride=3),
    dict(kernel_size=3, padding=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, dilation=2, padding=1),
    dict(kernel_size=3, padding="same"),
    dict(kernel_size=4, padding="same", dilation=2),  # odd total: extra on the right
    dict(kernel_size=3, padding="valid"),
    dict(kernel_size=3, groups=2),
    dict(kernel_size=3, bias=False),
    dict(kernel_size=3, padding=2, padding_mode="reflect"),
    dict(kernel_size=3, padding=1, padding_mode="replicate"),
    dict(kernel_size=3, padding=2, padding_mode="circular"),
    dict(kernel_size=3, padding="same", padding_mode="reflect"),
]


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv_matches_torch(impl, ndim, case):
    torch.manual_seed(0)
    ours, theirs = make_conv(impl, ndim, 4, 6, **case)
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=4))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 0, 1], ids=["unbatched", "empty", "one"])
def test_conv_batch_shapes(impl, ndim, batch):
    torch.manual_seed(0)
    ours, theirs = make_conv(impl, ndim, 3, 4, kernel_size=3, padding=1)
    assert_same(ours, theirs, random_input(ndim, batch=batch, channels=3))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_conv_tuple_arguments(impl):
    torch.manual_seed(0)
    ours, theirs = make_conv(
        impl,
        2,
        2,
        3,
        kernel_size=(2, 3),
        stride=(1, 2),
        padding=(1, 0),
        dilation=(2, 1),
    )
    assert_same(ours, theirs, torch.randn(2, 2, 6, 9, dtype=DTYPE))
    ours, theirs = make_conv(
        impl, 3, 2, 2, kernel_size=(1, 2, 3), stride=(2, 1, 1), padding=(0, 1, 1)
    )
    assert_same(ours, theirs, torch.randn(2, 2, 4, 3, 5, dtype=DTYPE))


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
def test_depthwise_conv(impl):
    torch.manual_seed(0)
    ours, theirs = make_conv(impl, 2, 4, 8, kernel_size=3, groups=4, padding=1)
    assert_same(ours, theirs, torch.randn(2, 4, 5, 5, dtype=DTYPE))


# --- Convolutions: hypothesis mixes every argument --------------------------


@pytest.mark.parametrize("impl", IMPLEMENTATIONS)
@pytest.mark.parametrize("ndim", [1, 2, 3])
@SWEEP
@given(data=st.data())
def test_conv_matches_torch_everywhere(impl, ndim, data):
    config = data.draw(conv_configs(ndim, SIZES[ndim]))
    assume(conv_config_is_valid(config, ndim))
    theirs = TORCH_CONVS[ndim](*config["args"], **config["kwargs"], dtype=DTYPE)
    ours = IMPLEMENTATIONS[impl][ndim].from_torch(theirs)
    assert_same(ours, theirs, input_for(config))


# --- Round trips and signatures ---------------------------------------------


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_to_torch_round_trip(ndim):
    cls = CONVS[ndim]
    ours = cls(4, 6, 3, stride=2, padding=1, groups=2, bias=True, dtype=DTYPE)
    theirs = ours.to_torch()
    assert isinstance(theirs, TORCH_CONVS[ndim])
    assert theirs.stride == ours.stride and theirs.groups == 2
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=4))
    # The copy owns its weights: changing it leaves ours alone.
    with torch.no_grad():
        theirs.weight.add_(1.0)
    assert not torch.equal(ours.weight, theirs.weight)
    for pools in (MAXPOOLS, AVGPOOLS):
        layer = pools[ndim](3, stride=2, padding=1)
        twin = layer.to_torch()
        assert type(layer).from_torch(twin).to_torch().__repr__() == twin.__repr__()


def test_same_seed_same_initial_weights_as_torch():
    # nn.Linear and nn.Conv1d initialise with the same rule and the same fan-in,
    # so with one seed our layer starts exactly where torch.nn's does.
    torch.manual_seed(0)
    ours = layers.Conv1D(3, 16, kernel_size=3)
    torch.manual_seed(0)
    theirs = nn.Conv1d(3, 16, kernel_size=3)
    assert torch.equal(ours.weight, theirs.weight)
    assert torch.equal(ours.bias, theirs.bias)


def test_signatures_mirror_torch():
    for ndim in (1, 2, 3):
        pairs = [
            (CONVS[ndim], TORCH_CONVS[ndim]),
            (MAXPOOLS[ndim], TORCH_MAXPOOLS[ndim]),
            (AVGPOOLS[ndim], TORCH_AVGPOOLS[ndim]),
        ]
        for ours, theirs in pairs:
            a = inspect.signature(ours).parameters
            b = inspect.signature(theirs).parameters
            assert list(a) == list(b), ours.__name__
            for name in a:
                assert a[name].default == b[name].default, (ours.__name__, name)


def test_kernel_is_one_linear():
    conv = layers.Conv2D(6, 4, kernel_size=(3, 5), groups=2)
    assert isinstance(conv.kernel, nn.Linear)
    assert conv.kernel.in_features == 6 // 2 * 3 * 5
    assert conv.kernel.out_features == 4
    assert [name for name, _ in conv.named_parameters()] == [
        "kernel.weight",
        "kernel.bias",
    ]


# --- The original course's examples -----------------------------------------


def test_original_course_shapes():
    x = torch.randn(8, 3, 100)
    y = layers.Conv1D(3, 16, kernel_size=3, stride=1, padding=1)(x)
    assert y.shape == (8, 16, 100)
    assert pooling.MaxPool1D(2)(y).shape == (8, 16, 50)
    assert layers.Conv1D(1, 8, kernel_size=3, stride=2, padding=1)(
        torch.randn(8, 1, 784)
    ).shape == (8, 8, 392)
    assert layers.Conv2D(3, 16, kernel_size=3, padding=1)(
        torch.randn(8, 3, 10, 10)
    ).shape == (8, 16, 10, 10)
    conv = layers.Conv2D(3, 16, stride=2, kernel_size=3, padding=1)
    assert conv(torch.randn(8, 3, 32, 32)).shape == (8, 16, 16, 16)


def test_output_size_formula():
    # floor((L + 2p - d(k-1) - 1) / s) + 1, and its ceil_mode variant.
    assert layers.output_size(100, 3, 1, 1) == 100
    assert layers.output_size(784, 3, 2, 1) == 392
    assert layers.output_size(10, 3, 2, 0) == 4
    assert layers.output_size(10, 3, 2, 0, dilation=2) == 3
    assert layers.output_size(5, 2, 2, 0, ceil_mode=False) == 2
    assert layers.output_size(5, 2, 2, 0, ceil_mode=True) == 3
    # ceil_mode drops a last window that would start in the right padding
    assert layers.output_size(4, 3, 3, 1, ceil_mode=True) == 2
    assert layers.output_size(2, 3) == 0


# --- Bad input: a ValueError that says what was expected and what came -------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: layers.Conv1D(3, 8, 3)(torch.randn(2, 3, 4, 4)),
            "expected a 3D input",
        ),
        (lambda: layers.Conv2D(3, 8, 3)(torch.randn(4, 4)), "got a 2D input"),
        (
            lambda: layers.Conv1D(3, 8, 3)(torch.randn(2, 5, 10)),
            "expected 3 input chan",
        ),
        (lambda: layers.Conv1D(1, 1, 5)(torch.randn(1, 1, 4)), "kernel spans 5"),
        (
            lambda: layers.Conv1D(1, 1, 3, dilation=3)(torch.randn(1, 1, 6)),
            "kernel spans 7",
        ),
        (lambda: layers.Conv1D(1, 1, 3, stride=0), "stride must be positive"),
        (lambda: layers.Conv2D(1, 1, 3, stride=(1, -1)), "stride must be positive"),
        (lambda: layers.Conv1D(1, 1, 3, dilation=0), "dilation must be positive"),
        (lambda: layers.Conv1D(1, 1, 0), "kernel_size must be positive"),
        (lambda: layers.Conv1D(1, 1, 3, padding=-1), "padding must be >= 0"),
        (lambda: layers.Conv1D(4, 6, 3, groups=4), "divisible by groups"),
        (lambda: layers.Conv1D(3, 6, 3, groups=2), "divisible by groups"),
        (lambda: layers.Conv1D(1, 1, 3, padding="full"), "'valid' or 'same'"),
        (lambda: layers.Conv1D(1, 1, 3, padding_mode="mirror"), "padding_mode must"),
        (lambda: layers.Conv1D(1, 1, 3, stride=2, padding="same"), "needs stride 1"),
        (lambda: layers.Conv2D(1, 1, (3, 3, 3)), "tuple of 2 ints"),
        (lambda: layers.Conv1D(0, 1, 3), "in_channels must be a positive int"),
        (
            lambda: layers.Conv1D(1, 1, 3, padding=3, padding_mode="reflect")(
                torch.randn(1, 1, 3)
            ),
            "can pad at most 2",
        ),
        (lambda: pooling.MaxPool1D(2, padding=2), "half the kernel size"),
        (lambda: pooling.AvgPool2D(3, padding=(1, 2)), "half the kernel size"),
        (lambda: pooling.MaxPool1D(2, stride=0), "stride must be positive"),
        (
            lambda: pooling.MaxPool2D(2)(torch.randn(2, 3, 4, 4, 4)),
            "expected a 4D input",
        ),
        (lambda: pooling.MaxPool1D(4)(torch.randn(1, 1, 3)), "kernel spans 4"),
        (lambda: pooling.AvgPool2D(2, divisor_override=0), "divisor_override"),
    ],
)
def test_bad_input_raises_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_from_torch_rejects_the_wrong_class():
    with pytest.raises(TypeError, match="expects a Conv2d"):
        layers.Conv2D.from_torch(nn.Conv1d(1, 1, 3))
