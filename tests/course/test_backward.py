"""Our loop backward (book_src.backward) against gradcheck and torch.nn, in float64.

gradcheck compares the hand-written backward with finite differences; the
parity tests compare the layers' outputs and gradients with torch.nn over a
fixed grid (one argument at a time) and a hypothesis sweep that mixes them.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from book_src import backward, layers

from parity import SWEEP, assert_same, conv_config_is_valid, conv_configs, input_for

DTYPE = torch.float64
OURS = {
    1: backward.GradLoopConv1D,
    2: backward.GradLoopConv2D,
    3: backward.GradLoopConv3D,
}
TORCH = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
SIZES = {1: 10, 2: 6, 3: 4}  # spatial size per dimension: small, the loops are slow


def assert_same_gradients(ours: nn.Module, theirs: nn.Module, x: torch.Tensor):
    """torch.nn's output and gradients, computed by our Function, not autograd's."""
    y = assert_same(ours, theirs, x)
    if y.numel():  # our Function is in the graph, not autograd's own ops
        assert "LoopConvolutionBackward" in graph_nodes(y)


def graph_nodes(y: torch.Tensor) -> set[str]:
    """The names of every backward node that leads to ``y``."""
    names, todo = set(), [y.grad_fn]
    while todo:
        node = todo.pop()
        if node is not None and type(node).__name__ not in names:
            names.add(type(node).__name__)
            todo.extend(next_node for next_node, _ in node.next_functions)
    return names


def make(ndim: int, *args, **kwargs):
    theirs = TORCH[ndim](*args, **kwargs, dtype=DTYPE)
    return OURS[ndim].from_torch(theirs), theirs


def random_input(ndim: int, batch: int | None, channels: int):
    shape = (channels,) + (SIZES[ndim],) * ndim
    return torch.randn(shape if batch is None else (batch, *shape), dtype=DTYPE)


# --- gradcheck: the backward against finite differences ---------------------

GRADCHECK_CASES = [
    dict(kernel_size=3),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, dilation=2, padding=2),
    dict(kernel_size=3, groups=2, bias=False),
    dict(kernel_size=3, padding=2, padding_mode="reflect"),
    dict(kernel_size=3, padding=1, padding_mode="replicate"),
    dict(kernel_size=2, padding=2, padding_mode="circular", stride=2),
    dict(kernel_size=3, padding="same", dilation=2),
]


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("case", GRADCHECK_CASES, ids=str)
def test_gradcheck(ndim, case):
    torch.manual_seed(0)
    layer = OURS[ndim](2, 4, **case, dtype=DTYPE)
    x = torch.randn(3 - ndim, 2, *(5, 4)[:ndim], dtype=DTYPE, requires_grad=True)
    weight = layer.kernel.weight.detach().clone().requires_grad_(True)
    bias = None
    if layer.kernel.bias is not None:
        bias = layer.kernel.bias.detach().clone().requires_grad_(True)

    def conv(x, weight, bias):
        padded = backward.LoopPadding.apply(x, layer)
        out_size = [
            layers.output_size(n, k, s, 0, d)
            for n, k, s, d in zip(
                padded.shape[2:], layer.kernel_size, layer.stride, layer.dilation
            )
        ]
        return backward.LoopConvolution.apply(padded, weight, bias, layer, out_size)

    assert torch.autograd.gradcheck(conv, (x, weight, bias))


# --- The pieces on their own --------------------------------------------------


@pytest.mark.parametrize("groups", [1, 2])
def test_forward_loop_is_the_layers_loop(groups):
    torch.manual_seed(0)
    layer = layers.Conv2D(4, 6, 3, stride=2, dilation=(1, 2), groups=groups)
    x = torch.randn(2, 4, 9, 9, dtype=torch.float32)
    out_size = [4, 3]
    expected = layer.convolve(x, out_size)
    ours = backward.conv_forward(
        x, layer.kernel.weight, layer.kernel.bias, layer, out_size
    )
    torch.testing.assert_close(ours, expected)


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize(("size", "left", "right"), [(5, 2, 2), (4, 1, 3), (3, 0, 2)])
def test_padding_sources_are_torch_padding(mode, size, left, right):
    if mode == "reflect" and max(left, right) >= size:
        pytest.skip("torch cannot reflect more than size - 1")
    x = torch.arange(1.0, size + 1).view(1, 1, size)
    padded = F.pad(x, (left, right), mode="constant" if mode == "zeros" else mode)
    sources = backward.padding_sources(size, left, right, mode)
    gathered = [0.0 if s is None else x[0, 0, s].item() for s in sources]
    assert padded.flatten().tolist() == gathered


def test_bias_gradient_is_the_sum_of_upstream_gradients():
    layer = backward.GradLoopConv1D(1, 2, 3, dtype=DTYPE)
    x = torch.randn(3, 1, 8, dtype=DTYPE)
    grad = torch.randn(3, 2, 6, dtype=DTYPE)
    layer(x).backward(grad)
    torch.testing.assert_close(layer.kernel.bias.grad, grad.sum(dim=(0, 2)))


# --- Parity with torch.nn: one argument at a time ----------------------------

CASES = [
    dict(kernel_size=3),
    dict(kernel_size=1),
    dict(kernel_size=4, stride=3),
    dict(kernel_size=3, padding=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, dilation=2, padding=1),
    dict(kernel_size=3, padding="same"),
    dict(kernel_size=4, padding="same", dilation=2),
    dict(kernel_size=3, padding="valid"),
    dict(kernel_size=3, groups=2),
    dict(kernel_size=3, groups=4, padding=1),
    dict(kernel_size=3, bias=False),
    dict(kernel_size=3, padding=2, padding_mode="reflect"),
    dict(kernel_size=3, padding=1, padding_mode="replicate"),
    dict(kernel_size=3, padding=2, padding_mode="circular"),
]


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_torch(ndim, case):
    torch.manual_seed(0)
    ours, theirs = make(ndim, 4, 8, **case)
    assert_same_gradients(ours, theirs, random_input(ndim, batch=2, channels=4))


@pytest.mark.parametrize("case", CASES[4:12:2], ids=str)
def test_matches_torch_in_3d(case):
    torch.manual_seed(0)
    ours, theirs = make(3, 4, 8, **case)
    assert_same_gradients(ours, theirs, random_input(3, batch=2, channels=4))


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("batch", [None, 0, 1], ids=["unbatched", "empty", "one"])
def test_batch_shapes(ndim, batch):
    torch.manual_seed(0)
    ours, theirs = make(ndim, 3, 4, kernel_size=3, padding=1)
    assert_same_gradients(ours, theirs, random_input(ndim, batch=batch, channels=3))


def test_tuple_arguments():
    torch.manual_seed(0)
    ours, theirs = make(
        2, 2, 4, kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)
    )
    assert_same_gradients(ours, theirs, torch.randn(2, 2, 6, 9, dtype=DTYPE))


def test_same_constructor_and_weights_as_the_loop_layer():
    torch.manual_seed(0)
    plain = layers.Conv2D(3, 5, 3, padding=1)
    torch.manual_seed(0)
    ours = backward.GradLoopConv2D(3, 5, 3, padding=1)
    assert isinstance(ours, layers.Conv2D)
    assert torch.equal(plain.weight, ours.weight)
    x = torch.randn(2, 3, 6, 6)
    torch.testing.assert_close(ours(x), plain(x))


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError, match="expected 3 input channels"):
        backward.GradLoopConv1D(3, 4, 3)(torch.randn(2, 5, 10))
    with pytest.raises(ValueError, match="can pad at most 2"):
        backward.GradLoopConv1D(1, 1, 3, padding=3, padding_mode="reflect")(
            torch.randn(1, 1, 3)
        )


# --- Parity with torch.nn: hypothesis mixes every argument --------------------


@pytest.mark.parametrize("ndim", [1, 2])
@SWEEP
@given(data=st.data())
def test_matches_torch_everywhere(ndim, data):
    config = data.draw(conv_configs(ndim, SIZES[ndim]))
    assume(conv_config_is_valid(config, ndim))
    theirs = TORCH[ndim](*config["args"], **config["kwargs"], dtype=DTYPE)
    ours = OURS[ndim].from_torch(theirs)
    assert_same_gradients(ours, theirs, input_for(config))
