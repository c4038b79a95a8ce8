"""The ladder's middle rungs, (b) unbind and (c) taps: equal to torch.nn, and as told.

Each is held to torch.nn in float64, outputs and all three gradients, over a
sweep of stride, padding, dilation, groups, bias and batched or unbatched
input, in 1D, 2D and 3D. Then: they are the loop layers with ``convolve``
replaced; (b)'s backward has no slice gradients; (c) loops over the taps, not
the positions.
"""

from __future__ import annotations

import inspect
import itertools

import pytest
import torch
from torch import nn

from book_src import ladder, layers, profiling

from parity import assert_same

DTYPE = torch.float64


# The 3D rungs, which no chapter uses: the Nd loops, tested in 3D too.
class UnbindConv3D(ladder.UnbindConvNd, layers.Conv3D):
    pass


class TapConv3D(ladder.TapConvNd, layers.Conv3D):
    pass


RUNGS = {
    "unbind": {1: ladder.UnbindConv1D, 2: ladder.UnbindConv2D, 3: UnbindConv3D},
    "taps": {1: ladder.TapConv1D, 2: ladder.TapConv2D, 3: TapConv3D},
}
LOOPS = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}
TORCH_CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
SIZES = {1: (11,), 2: (9, 8), 3: (5, 6, 7)}

# Every combination in 1D; in 2D and 3D, where a layer costs more, a subset
# that still takes every value of every argument, and each pair with groups.
SWEEP = [
    dict(stride=s, padding=p, dilation=d, groups=g, bias=b)
    for s, p, d, g, b in itertools.product(
        (1, 2), (0, 1, "same"), (1, 2), (1, 2), (True, False)
    )
    if not (p == "same" and s != 1)  # torch.nn refuses it too
]
SMALL_SWEEP = [
    dict(stride=1, padding=0, dilation=1, groups=1, bias=True),
    dict(stride=2, padding=1, dilation=1, groups=1, bias=True),
    dict(stride=1, padding="same", dilation=2, groups=1, bias=False),
    dict(stride=2, padding=0, dilation=2, groups=2, bias=True),
    dict(stride=1, padding=1, dilation=2, groups=2, bias=False),
    dict(stride=1, padding="same", dilation=1, groups=2, bias=True),
    dict(stride=2, padding=1, dilation=2, groups=2, bias=False),
]
CASES = [(1, k) for k in SWEEP] + [(n, k) for n in (2, 3) for k in SMALL_SWEEP]


def case_id(case: tuple[int, dict]) -> str:
    ndim, kwargs = case
    return f"{ndim}d-" + "-".join(f"{a[0]}{v}" for a, v in kwargs.items())


@pytest.mark.parametrize("rung", sorted(RUNGS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_equal_to_torch_nn(rung, case):
    ndim, kwargs = case
    torch.manual_seed(0)
    theirs = TORCH_CONVS[ndim](4, 6, 3, dtype=DTYPE, **kwargs)
    ours = RUNGS[rung][ndim].from_torch(theirs)
    assert type(ours) is RUNGS[rung][ndim]
    batched = torch.randn(2, 4, *SIZES[ndim], dtype=DTYPE)
    assert_same(ours, theirs, batched)
    theirs.zero_grad(set_to_none=True)
    ours.zero_grad(set_to_none=True)
    assert_same(ours, theirs, batched[0])  # unbatched (C, *spatial)


@pytest.mark.parametrize("rung", sorted(RUNGS))
@pytest.mark.parametrize("ndim", [1, 2])
def test_kernel_sizes_and_strides_per_dimension(rung, ndim):
    kernel = (2, 3)[:ndim] if ndim == 2 else (4,)
    stride = (3, 1)[:ndim] if ndim == 2 else (3,)
    theirs = TORCH_CONVS[ndim](3, 4, kernel, stride=stride, padding=1, dtype=DTYPE)
    ours = RUNGS[rung][ndim].from_torch(theirs)
    assert_same(ours, theirs, torch.randn(2, 3, *SIZES[ndim], dtype=DTYPE))


@pytest.mark.parametrize("rung", sorted(RUNGS))
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_a_loop_layer_with_convolve_replaced(rung, ndim):
    cls = RUNGS[rung][ndim]
    assert issubclass(cls, LOOPS[ndim])
    replaced = {
        name
        for klass in cls.__mro__
        if klass.__module__ == ladder.__name__
        for name, value in vars(klass).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }
    assert "convolve" in replaced
    assert replaced <= {"convolve", "taps"}
    # Same constructor and the same single Linear, same weights from one seed.
    torch.manual_seed(0)
    ours = cls(4, 6, 3, groups=2)
    torch.manual_seed(0)
    loop = LOOPS[ndim](4, 6, 3, groups=2)
    assert [n for n, _ in ours.named_parameters()] == ["kernel.weight", "kernel.bias"]
    assert torch.equal(ours.kernel.weight, loop.kernel.weight)


def backward_nodes(output: torch.Tensor) -> list[str]:
    """Names of every node of the autograd graph behind ``output``."""
    seen, stack, names = set(), [output.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(parent for parent, _ in node.next_functions)
    return names


@pytest.mark.parametrize("ndim", [1, 2])
def test_unbind_backward_has_no_slice_per_window(ndim):
    x = torch.randn(2, 3, *(8,) * ndim, requires_grad=True)
    loop = LOOPS[ndim](3, 4, 3, padding=1)
    unbind = ladder.UnbindConv1D if ndim == 1 else ladder.UnbindConv2D
    positions = 8**ndim
    # The loop: one SliceBackward per window (per window and dimension) ...
    assert backward_nodes(loop(x)).count("SliceBackward0") >= positions
    # ... (b): none per window, the windows' gradients are stacked back at once.
    names = backward_nodes(unbind.from_torch(loop.to_torch())(x))
    assert names.count("SliceBackward0") <= ndim  # the dilation step [..., ::d]
    # one unbind per position axis: 1 in 1D; 1 + 8 (one per row) in 2D
    assert names.count("UnbindBackward0") == sum(8**i for i in range(ndim))
    assert names.count("UnfoldBackward0") == ndim


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_taps_loop_runs_once_per_tap_whatever_the_size(ndim):
    conv = RUNGS["taps"][ndim](2, 4, 3, stride=2, padding=1, groups=2)

    def calls(size: int):
        x = torch.randn(2, 2, *(size,) * ndim, requires_grad=True)
        return profiling.count_calls(lambda: conv(x).sum().backward())

    small, large = calls(6), calls(12 if ndim < 3 else 9)
    assert small == large  # no loop over positions
    assert small["torch.Tensor.baddbmm_"] == 3**ndim  # one product per tap
    assert small["torch.nn.functional.linear"] == 0
    assert conv.taps() == list(itertools.product(range(3), repeat=ndim))


def test_tap_index_reads_tap_of_every_window():
    conv = ladder.TapConv1D(1, 1, 3, stride=2, dilation=2)
    x = torch.arange(12.0).view(1, 1, 12)
    out_size = [layers.output_size(12, 3, 2, 0, 2)]  # 4 windows: 0, 2, 4, 6
    assert out_size == [4]
    # tap 1 sits at 2 (dilation) past each window's start
    assert x[
        ladder.tap_index((1,), conv.stride, conv.dilation, out_size)
    ].flatten().tolist() == [2, 4, 6, 8]
    assert x[
        ladder.tap_index((2,), conv.stride, conv.dilation, out_size)
    ].flatten().tolist() == [4, 6, 8, 10]
