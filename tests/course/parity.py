"""What the parity tests share: one comparison with torch.nn, one hypothesis sweep.

Imported as ``parity`` by the tests of the layers (pytest puts this folder on
``sys.path``). Everything is compared in float64. The 3D pools and the 3D im2col
twin, which no chapter uses, are defined here: the tests still hold the ``Nd``
classes to torch.nn in three dimensions.
"""

from __future__ import annotations

import os

import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from torch import nn

from book_src import layers, pooling, vectorized

# Hypothesis: no deadline (loops are slow on a busy machine); in CI the examples
# are derived from the test names, so a red run can be reproduced exactly.
# SWEEP_EXAMPLES=1000 make unit runs a longer search.
SWEEP = settings(
    max_examples=int(os.environ.get("SWEEP_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


class MaxPool3D(pooling.MaxPoolNd):
    ndim = 3
    torch_class = nn.MaxPool3d


class AvgPool3D(pooling.AvgPoolNd):
    ndim = 3
    torch_class = nn.AvgPool3d


class Im2colConv3D(vectorized.Im2colConvNd, layers.Conv3D):
    pass


MAXPOOLS = {1: pooling.MaxPool1D, 2: pooling.MaxPool2D, 3: MaxPool3D}
AVGPOOLS = {1: pooling.AvgPool1D, 2: pooling.AvgPool2D, 3: AvgPool3D}


def assert_same(ours: nn.Module, theirs: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Same output and same gradients (input, weight, bias) as torch.nn.

    Returns our output, whose autograd graph a caller may inspect further.
    """
    x1 = x.clone().requires_grad_(True)
    x2 = x.clone().requires_grad_(True)
    y1, y2 = ours(x1), theirs(x2)
    if isinstance(y2, tuple):  # max pooling with return_indices
        assert torch.equal(y1[1], y2[1]), "indices differ"
        y1, y2 = y1[0], y2[0]
    assert y1.shape == y2.shape
    torch.testing.assert_close(y1, y2, rtol=1e-10, atol=1e-12)
    grad = torch.randn_like(y2)
    y1.backward(grad)
    y2.backward(grad)
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-10, atol=1e-12)
    for name, theirs_param in theirs.named_parameters():
        ours_param = getattr(ours, name)  # .weight / .bias: views of ours.kernel
        theirs_grad = theirs_param.grad
        ours_grad = (
            ours.kernel.weight.grad if name == "weight" else ours.kernel.bias.grad
        )
        torch.testing.assert_close(ours_param, theirs_param.detach(), rtol=0, atol=0)
        torch.testing.assert_close(
            ours_grad.reshape(theirs_grad.shape), theirs_grad, rtol=1e-10, atol=1e-12
        )
    return y1


@st.composite
def conv_configs(draw, ndim: int, max_size: int) -> dict:
    """A convolution torch.nn may accept: every argument mixed, sizes <= max_size."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(ndim))
    dilation = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    kind = draw(st.sampled_from(["int", "tuple", "same", "valid"]))
    if kind == "same":
        padding, stride = "same", (1,) * ndim
    else:
        stride = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
        if kind == "valid":
            padding = "valid"
        elif kind == "int":
            padding = draw(st.integers(0, 3))
        else:
            padding = tuple(draw(st.integers(0, 3)) for _ in range(ndim))
    size = tuple(draw(st.integers(1, max_size)) for _ in range(ndim))
    batch = draw(st.sampled_from([None, 0, 1, 2]))
    return dict(
        args=(in_channels, out_channels, kernel),
        kwargs=dict(
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=draw(st.booleans()),
            padding_mode=mode,
        ),
        size=size,
        batch=batch,
    )


def _padding_pairs(config: dict, ndim: int) -> list[tuple[int, int]]:
    kernel, padding = config["args"][2], config["kwargs"]["padding"]
    dilation = config["kwargs"]["dilation"]
    if padding == "same":
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return [(t // 2, t - t // 2) for t in totals]
    if padding == "valid":
        return [(0, 0)] * ndim
    pads = (padding,) * ndim if isinstance(padding, int) else padding
    return [(p, p) for p in pads]


def conv_config_is_valid(config: dict, ndim: int) -> bool:
    """Configurations torch.nn accepts: the kernel fits, the padding mode can pad."""
    kernel, dilation = config["args"][2], config["kwargs"]["dilation"]
    mode = config["kwargs"]["padding_mode"]
    for size, (left, right), k, d in zip(
        config["size"], _padding_pairs(config, ndim), kernel, dilation
    ):
        if d * (k - 1) + 1 > size + left + right:
            return False
        if mode == "reflect" and max(left, right) >= size:
            return False
        if mode == "circular" and max(left, right) > size:
            return False
    return True


def input_for(config: dict, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A random input of the configuration's channels, size and batch."""
    shape = (config["args"][0], *config["size"])
    if config["batch"] is not None:
        shape = (config["batch"], *shape)
    return torch.randn(shape, dtype=dtype)
