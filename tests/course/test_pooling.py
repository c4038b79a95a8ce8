"""The loop pools against torch.nn: outputs, indices and gradients, in float64.

A fixed grid covers each argument on its own; hypothesis then mixes them.
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from book_src import layers, pooling

from parity import AVGPOOLS, MAXPOOLS, SWEEP, assert_same

TORCH_MAXPOOLS = {1: nn.MaxPool1d, 2: nn.MaxPool2d, 3: nn.MaxPool3d}
TORCH_AVGPOOLS = {1: nn.AvgPool1d, 2: nn.AvgPool2d, 3: nn.AvgPool3d}
# Small inputs keep the Python loops quick: spatial size per dimension.
SIZES = {1: 11, 2: 7, 3: 5}
DTYPE = torch.float64


def random_input(ndim: int, batch: int | None, channels: int):
    shape = (channels,) + (SIZES[ndim],) * ndim
    return torch.randn(shape if batch is None else (batch, *shape), dtype=DTYPE)


MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, dilation=2),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, return_indices=True),
    dict(kernel_size=3, stride=2, padding=1, dilation=2, return_indices=True),
]

AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
]


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("case", MAXPOOL_CASES, ids=str)
def test_maxpool_matches_torch(ndim, case):
    theirs = TORCH_MAXPOOLS[ndim](**case)
    ours = MAXPOOLS[ndim].from_torch(theirs)
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=3))


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("case", AVGPOOL_CASES, ids=str)
def test_avgpool_matches_torch(ndim, case):
    theirs = TORCH_AVGPOOLS[ndim](**case)
    ours = AVGPOOLS[ndim].from_torch(theirs)
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=3))


@pytest.mark.parametrize("ndim", [2, 3])
@pytest.mark.parametrize("padding", [0, 1])
def test_avgpool_divisor_override(ndim, padding):
    theirs = TORCH_AVGPOOLS[ndim](3, stride=2, padding=padding, divisor_override=5)
    ours = AVGPOOLS[ndim].from_torch(theirs)
    assert ours.divisor_override == 5
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=3))


@pytest.mark.parametrize("kind", ["Max", "Avg"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 0], ids=["unbatched", "empty"])
def test_pool_batch_shapes(kind, ndim, batch):
    theirs = (TORCH_MAXPOOLS if kind == "Max" else TORCH_AVGPOOLS)[ndim](2)
    ours = (MAXPOOLS if kind == "Max" else AVGPOOLS)[ndim].from_torch(theirs)
    assert_same(ours, theirs, random_input(ndim, batch=batch, channels=3))


def test_maxpool_refuses_a_window_of_padding_alone():
    # Dilation 2 with padding 1 on one element: the first window holds two pads.
    # torch.nn answers -inf and sends that gradient outside the input.
    with pytest.raises(ValueError, match="holds only padding"):
        pooling.MaxPool1D(2, padding=1, dilation=2)(torch.randn(1, 1, 1))


def test_maxpool_all_minus_infinity_picks_an_input_position():
    # Padding never wins, even when every input value is -inf (as in torch.nn).
    theirs = nn.MaxPool1d(3, stride=2, padding=1, return_indices=True)
    ours = pooling.MaxPool1D.from_torch(theirs)
    x = torch.full((1, 1, 5), -math.inf, dtype=DTYPE)
    assert torch.equal(ours(x)[1], theirs(x)[1])


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (4, 2)])
def test_maxpool_ties_pick_the_first_maximum(ndim, kernel, stride):
    # Few distinct integers: most windows hold their maximum twice or more, and
    # indices and gradients go to the first one, as in torch.nn.
    theirs = TORCH_MAXPOOLS[ndim](kernel, stride=stride, return_indices=True)
    ours = MAXPOOLS[ndim].from_torch(theirs)
    if ndim == 1:
        x = torch.tensor([[[1, 5, 5, 2, 2, 2, 0, 3]]], dtype=DTYPE)
    else:
        x = torch.randint(
            0, 3, (2, 3, 8, 8), generator=torch.Generator().manual_seed(0)
        )
    assert_same(ours, theirs, x.to(DTYPE))


@st.composite
def pool_configs(draw, ndim: int, kind: str):
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = draw(st.one_of(st.none(), st.tuples(*[st.integers(1, 3)] * ndim)))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    kwargs = dict(kernel_size=kernel, stride=stride, padding=padding)
    kwargs["ceil_mode"] = draw(st.booleans())
    if kind == "Max":
        kwargs["dilation"] = tuple(draw(st.integers(1, 2)) for _ in range(ndim))
        kwargs["return_indices"] = draw(st.booleans())
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        if ndim > 1:
            kwargs["divisor_override"] = draw(st.sampled_from([None, None, 3]))
    size = tuple(draw(st.integers(1, SIZES[ndim])) for _ in range(ndim))
    return kwargs, size


@pytest.mark.parametrize("kind", ["Max", "Avg"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
@SWEEP
@given(data=st.data())
def test_pool_matches_torch_everywhere(kind, ndim, data):
    kwargs, size = data.draw(pool_configs(ndim, kind))
    dilation = kwargs.get("dilation", (1,) * ndim)
    stride = kwargs["stride"] or kwargs["kernel_size"]
    for s, k, p, d, st_ in zip(
        size, kwargs["kernel_size"], kwargs["padding"], dilation, stride
    ):
        assume(d * (k - 1) + 1 <= s + 2 * p)
        # torch.nn.AvgPool3d alone refuses an input smaller than the kernel,
        # padding or not (1D and 2D accept it, and so do ours).
        assume(not (kind == "Avg" and ndim == 3 and s < k))
        # torch.nn returns -inf for a window of padding alone (and writes its
        # gradient outside the input); ours refuses it, tested separately below.
        out = layers.output_size(s, k, st_, p, d, kwargs["ceil_mode"])
        assume(
            all(any(p <= i * st_ + j * d < p + s for j in range(k)) for i in range(out))
        )
    theirs = (TORCH_MAXPOOLS if kind == "Max" else TORCH_AVGPOOLS)[ndim](**kwargs)
    ours = (MAXPOOLS if kind == "Max" else AVGPOOLS)[ndim].from_torch(theirs)
    assert_same(ours, theirs, torch.randn(2, 2, *size, dtype=DTYPE))
