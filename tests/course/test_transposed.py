"""The loop transposed convolutions against torch.nn: outputs and gradients, float64.

A fixed grid covers each argument on its own; hypothesis then mixes them. Every
input that torch.nn rejects must raise a ValueError here.
"""

from __future__ import annotations

import inspect

import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from torch import nn

from book_src import transposed
from book_src.layers import Conv1D

from parity import SWEEP, input_for

DTYPE = torch.float64
OURS = {1: transposed.ConvTranspose1D, 2: transposed.ConvTranspose2D}
TORCH = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d}
SIZES = {1: 7, 2: 5}  # input size per spatial dimension: the output is larger


def assert_same(ours, theirs, x, output_size=None):
    """Same output and same gradients (input, weight, bias) as torch.nn."""
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    y1 = ours(x1, output_size=output_size)
    y2 = theirs(x2, output_size=output_size)
    assert y1.shape == y2.shape
    torch.testing.assert_close(y1, y2, rtol=1e-10, atol=1e-12)
    grad = torch.randn_like(y2)
    y1.backward(grad)
    y2.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(ours.weight, theirs.weight.detach(), rtol=0, atol=0)
    torch.testing.assert_close(
        ours.kernel.weight.grad,
        ours.linear_weight(theirs.weight.grad),
        rtol=1e-10,
        atol=1e-12,
    )
    if theirs.bias is not None:
        torch.testing.assert_close(
            ours.bias.grad, theirs.bias.grad, rtol=1e-10, atol=1e-12
        )


def make(ndim, *args, **kwargs):
    theirs = TORCH[ndim](*args, **kwargs, dtype=DTYPE)
    return OURS[ndim].from_torch(theirs), theirs


def random_input(ndim, batch, channels):
    shape = (channels,) + (SIZES[ndim],) * ndim
    return torch.randn(shape if batch is None else (batch, *shape), dtype=DTYPE)


# --- One argument at a time --------------------------------------------------

CASES = [
    dict(kernel_size=3),
    dict(kernel_size=1),
    dict(kernel_size=2, stride=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, output_padding=1),
    dict(kernel_size=4, stride=3, output_padding=2),
    dict(kernel_size=3, padding=2),
    dict(kernel_size=2, dilation=2),
    dict(kernel_size=2, dilation=3, output_padding=2),  # op < dilation
    dict(kernel_size=3, groups=2),
    dict(kernel_size=3, stride=2, groups=4),
    dict(kernel_size=3, bias=False),
]


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_torch(ndim, case):
    torch.manual_seed(0)
    ours, theirs = make(ndim, 4, 8, **case)
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=4))


@pytest.mark.parametrize("ndim", [1, 2])
@pytest.mark.parametrize("batch", [None, 0, 1], ids=["unbatched", "empty", "one"])
def test_batch_shapes(ndim, batch):
    torch.manual_seed(0)
    ours, theirs = make(ndim, 3, 4, kernel_size=3, stride=2, padding=1)
    assert_same(ours, theirs, random_input(ndim, batch=batch, channels=3))


def test_tuple_arguments():
    torch.manual_seed(0)
    ours, theirs = make(
        2,
        2,
        4,
        kernel_size=(2, 3),
        stride=(1, 3),
        padding=(1, 0),
        output_padding=(1, 2),
        dilation=(2, 1),
    )
    assert_same(ours, theirs, torch.randn(2, 2, 4, 5, dtype=DTYPE))


@pytest.mark.parametrize(
    ("shape", "output_size"),
    [
        ((2, 2, 5), [11]),
        ((2, 2, 5), [12]),
        ((2, 2, 5), [2, 3, 12]),  # batch and channels first, ignored
        ((2, 5), [3, 12]),  # unbatched: channels first
        ((2, 5), torch.Size([11])),
    ],
)
def test_output_size(shape, output_size):
    torch.manual_seed(0)
    ours, theirs = make(1, 2, 3, kernel_size=3, stride=2)
    assert_same(ours, theirs, torch.randn(shape, dtype=DTYPE), output_size)


def test_output_size_in_2d_replaces_output_padding():
    torch.manual_seed(0)
    ours, theirs = make(2, 2, 3, kernel_size=3, stride=(2, 3), output_padding=1)
    assert_same(ours, theirs, torch.randn(1, 2, 4, 4, dtype=DTYPE), [9, 12])


def test_output_size_formula():
    # (L - 1) s - 2 p + d (k - 1) + 1 + output_padding, as in torch.nn's docs.
    assert transposed.transposed_output_size(7, 2, stride=2) == 14
    assert transposed.transposed_output_size(7, 3, 2, 1, 1) == 14
    assert transposed.transposed_output_size(5, 3, dilation=2) == 9


def test_gradcheck():
    torch.manual_seed(0)
    layer = transposed.ConvTranspose2D(
        2, 4, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=DTYPE
    )
    x = torch.randn(1, 2, 3, 3, dtype=DTYPE, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x,))


@pytest.mark.parametrize("groups", [1, 2])
def test_gradcheck_of_the_loop_backward_with_the_weight(groups):
    torch.manual_seed(0)
    layer = transposed.ConvTranspose1D(
        2, 4, 3, stride=2, dilation=2, groups=groups, dtype=DTYPE
    )
    x = torch.randn(2, 2, 4, dtype=DTYPE, requires_grad=True)
    weight = layer.kernel.weight  # the forward pass reads the layer's own weight

    def spread(x, weight):
        return transposed.LoopConvTranspose.apply(x, weight, layer, [12])

    assert torch.autograd.gradcheck(spread, (x, weight))


def test_loop_backward_equals_autograd_of_the_loop():
    torch.manual_seed(0)
    layer = transposed.ConvTranspose2D(4, 6, 3, stride=2, groups=2, dtype=DTYPE)
    x = torch.randn(2, 4, 3, 4, dtype=DTYPE, requires_grad=True)
    size = [7, 9]
    grad = torch.randn(2, 6, *size, dtype=DTYPE)
    ours = torch.autograd.grad(
        transposed.LoopConvTranspose.apply(x, layer.kernel.weight, layer, size),
        (x, layer.kernel.weight),
        grad,
    )
    autograd = torch.autograd.grad(
        layer.convolve(x, size), (x, layer.kernel.weight), grad
    )
    for a, b in zip(ours, autograd):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


# --- The transposed convolution is the gradient of a convolution ------------


@pytest.mark.parametrize(
    "case", [dict(), dict(stride=2), dict(stride=3, padding=2, dilation=2)], ids=str
)
def test_is_the_input_gradient_of_a_convolution(case):
    # dL/dx of a convolution with weight W is the transposed convolution of
    # dL/dy with the same W (and no bias): the chapter's claim.
    torch.manual_seed(0)
    conv = Conv1D(3, 4, 3, bias=False, **case).double()
    x = torch.randn(2, 3, 16, dtype=DTYPE, requires_grad=True)
    y = conv(x)
    grad = torch.randn_like(y)
    y.backward(grad)
    up = transposed.ConvTranspose1D(4, 3, 3, bias=False, **case).double()
    with torch.no_grad():
        up.kernel.weight.copy_(up.linear_weight(conv.weight))
    out = up(grad, output_size=x.shape[2:])
    torch.testing.assert_close(out, x.grad, rtol=1e-10, atol=1e-12)


# --- Hypothesis mixes every argument -----------------------------------------


@st.composite
def configs(draw, ndim):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    output_padding = tuple(
        draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)
    )
    padding = draw(st.one_of(st.integers(0, 3), st.tuples(*[st.integers(0, 3)] * ndim)))
    size = tuple(draw(st.integers(1, SIZES[ndim])) for _ in range(ndim))
    return dict(
        args=(
            groups * draw(st.integers(1, 2)),
            groups * draw(st.integers(1, 2)),
            kernel,
        ),
        kwargs=dict(
            stride=stride,
            padding=padding,
            output_padding=output_padding,
            groups=groups,
            bias=draw(st.booleans()),
            dilation=dilation,
        ),
        size=size,
        batch=draw(st.sampled_from([None, 0, 1, 2])),
        use_output_size=draw(st.booleans()),
    )


@pytest.mark.parametrize("ndim", [1, 2])
@SWEEP
@given(data=st.data())
def test_matches_torch_everywhere(ndim, data):
    config = data.draw(configs(ndim))
    kwargs = config["kwargs"]
    padding = kwargs["padding"]
    pads = (padding,) * ndim if isinstance(padding, int) else padding
    sizes = [
        transposed.transposed_output_size(n, k, s, p, op, d)
        for n, k, s, p, op, d in zip(
            config["size"],
            config["args"][2],
            kwargs["stride"],
            pads,
            kwargs["output_padding"],
            kwargs["dilation"],
        )
    ]
    assume(all(size > 0 for size in sizes))  # torch.nn rejects the others
    theirs = TORCH[ndim](*config["args"], **kwargs, dtype=DTYPE)
    ours = OURS[ndim].from_torch(theirs)
    # output_size can ask for up to stride - 1 extra elements (dilation aside).
    fits = all(op < s for op, s in zip(kwargs["output_padding"], kwargs["stride"]))
    output_size = sizes if config["use_output_size"] and fits else None
    assert_same(ours, theirs, input_for(config, DTYPE), output_size)


# --- Construction, conversions, signatures ----------------------------------


def test_same_seed_same_initial_weights_as_torch():
    for ndim, groups in ((1, 1), (2, 2)):
        torch.manual_seed(0)
        ours = OURS[ndim](4, 6, 3, groups=groups)
        torch.manual_seed(0)
        theirs = TORCH[ndim](4, 6, 3, groups=groups)
        assert torch.equal(ours.weight, theirs.weight)
        assert torch.equal(ours.bias, theirs.bias)


@pytest.mark.parametrize("ndim", [1, 2])
def test_to_torch_round_trip(ndim):
    ours = OURS[ndim](
        4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=DTYPE
    )
    theirs = ours.to_torch()
    assert isinstance(theirs, TORCH[ndim])
    assert theirs.output_padding == ours.output_padding and theirs.groups == 2
    assert_same(ours, theirs, random_input(ndim, batch=2, channels=4))
    with torch.no_grad():
        theirs.weight.add_(1.0)
    assert not torch.equal(ours.weight, theirs.weight)


def test_signatures_mirror_torch():
    for ndim in (1, 2):
        for ours, theirs in ((OURS[ndim], TORCH[ndim]),):
            a = inspect.signature(ours).parameters
            b = inspect.signature(theirs).parameters
            assert list(a) == list(b)
            for name in a:
                assert a[name].default == b[name].default, name
            a = inspect.signature(ours.forward).parameters
            b = inspect.signature(theirs.forward).parameters
            assert list(a) == list(b)


def test_kernel_is_one_linear_and_the_bias_is_separate():
    layer = transposed.ConvTranspose2D(6, 4, kernel_size=(3, 5), groups=2)
    assert isinstance(layer.kernel, nn.Linear)
    assert layer.kernel.in_features == 6 // 2
    assert layer.kernel.out_features == 4 * 3 * 5
    assert layer.kernel.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["bias", "kernel.weight"]
    assert layer.weight.shape == (6, 2, 3, 5)


def test_from_torch_rejects_the_wrong_class():
    with pytest.raises(TypeError, match="expects a ConvTranspose1d"):
        transposed.ConvTranspose1D.from_torch(nn.Conv1d(1, 1, 3))


# --- Every input torch.nn rejects: a ValueError that says why ---------------

BAD = [
    # (arguments, input shape, forward's output_size, message)
    (dict(kernel_size=0), (1, 2, 5), None, "kernel_size must be positive"),
    (dict(kernel_size=3, stride=0), (1, 2, 5), None, "stride must be positive"),
    (dict(kernel_size=3, dilation=0), (1, 2, 5), None, "dilation must be positive"),
    (dict(kernel_size=3, padding=-1), (1, 2, 5), None, "padding must be >= 0"),
    (dict(kernel_size=3, stride=2, output_padding=-1), (1, 2, 5), None, "output_pad"),
    (dict(kernel_size=3, stride=2, output_padding=2), (1, 2, 5), None, "output_pad"),
    (dict(kernel_size=3, output_padding=1), (1, 2, 5), None, "smaller than the str"),
    (dict(kernel_size=3, padding_mode="reflect"), (1, 2, 5), None, "'zeros'"),
    (dict(kernel_size=3, padding=2), (1, 2, 2), None, "crops more"),
    (dict(kernel_size=3, padding=5), (1, 2, 1), None, "crops more"),
    (dict(kernel_size=3), (1, 2, 0), None, "spatial size must be positive"),
    (dict(kernel_size=3), (1, 3, 5), None, "expected 2 input channels"),
    (dict(kernel_size=3), (1, 2, 5, 5), None, "expected a 3D input"),
    (dict(kernel_size=3), (5,), None, "got a 1D input"),
    (dict(kernel_size=3, stride=2), (1, 2, 5), [13], "output_size"),
    (dict(kernel_size=3, stride=2), (1, 2, 5), [10], "between"),
    (dict(kernel_size=3, stride=2), (1, 2, 5), [1, 12], "1 or 3 elements"),
    (dict(kernel_size=3, stride=2), (2, 5), [2, 2, 12], "1 or 2 elements"),
]


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors:UserWarning")
@pytest.mark.parametrize(("kwargs", "shape", "output_size", "message"), BAD, ids=str)
def test_what_torch_rejects_raises_value_error(kwargs, shape, output_size, message):
    x = torch.randn(shape)
    # torch.nn raises a RuntimeError or a ValueError, depending on the check.
    with pytest.raises((RuntimeError, ValueError)):
        nn.ConvTranspose1d(2, 4, **kwargs)(x, output_size=output_size)
    with pytest.raises(ValueError, match=message):
        transposed.ConvTranspose1D(2, 4, **kwargs)(x, output_size=output_size)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: transposed.ConvTranspose1D(4, 6, 3, groups=4), "divisible by groups"),
        (lambda: transposed.ConvTranspose1D(4, 6, 3, groups=0), "groups must be a"),
        (lambda: transposed.ConvTranspose1D(1, 1, 3, padding="same"), "'same'"),
        (lambda: transposed.ConvTranspose2D(1, 1, (3, 3, 3)), "tuple of 2 ints"),
        (lambda: transposed.ConvTranspose1D(0, 1, 3), "in_channels must be a pos"),
        (lambda: transposed.ConvTranspose1D(1, 0, 3), "out_channels must be a pos"),
        (
            lambda: transposed.ConvTranspose2D(1, 1, 3, padding=(0, 2))(
                torch.randn(1, 1, 2, 2)
            ),
            "crops more",
        ),
    ],
)
def test_bad_arguments_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()
