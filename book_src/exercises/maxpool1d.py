"""Chapter 2's checker for a 1D max-pooling class."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src.exercises.engine import Case, LayerSetup, Mistake, check_layer, on_batch

SETUPS = [
    LayerSetup((2, 3, 10), 2),
    LayerSetup((3, 2, 11), 2),
    LayerSetup((2, 4, 12), 3, 2, 0),
    LayerSetup((2, 3, 9), 3, 2, 1),
    LayerSetup((1, 5, 7), 3, 1, 1),
    LayerSetup((1, 3, 8), 2, 2, 0, unbatched=True),
]


def pool(
    stride: Callable[[dict[str, Any]], int] = lambda c: c["s"],
    padding: int | None = None,
    fill: float = -math.inf,
    reduce: Callable[[Tensor], Tensor] = lambda w: w.amax(-1),
) -> Callable[[Case], Tensor]:
    """A simulated max pooling with one thing changed, over ``unfold``'s windows."""

    def run(x: Tensor, c: dict[str, Any]) -> Tensor:
        p = c["p"] if padding is None else padding
        return reduce(F.pad(x, (p, p), value=fill).unfold(2, c["k"], stride(c)))

    return on_batch(run)


def h_over_s(x: Tensor, c: dict[str, Any]) -> Tensor:
    """The original course's L // stride windows, the last ones cut short."""
    padded = F.pad(x, (c["p"], c["p"]), value=-math.inf)
    starts = range(0, x.shape[2] // c["s"] * c["s"], c["s"])
    return torch.stack([padded[:, :, i : i + c["k"]].amax(-1) for i in starts], -1)


def room(c: dict[str, Any]) -> int:
    """How far a window's start can travel: L + 2p - k."""
    return c["L"] + 2 * c["p"] - c["k"]


MISTAKES = [
    Mistake(
        "stride=None must mean stride = kernel_size (windows side by side), "
        "as in nn.MaxPool1d; your layer used a step of 1",
        fails=lambda c: c["default_stride"],
    ),
    Mistake(
        "stride ignored: the windows always step by kernel_size, as in the original "
        "course; step by stride, which is kernel_size only when stride is None",
        simulate=pool(stride=lambda c: c["k"]),
    ),
    Mistake(
        "stride ignored: window i must start at i * stride",
        fails=lambda c: c["s"] != 1,
    ),
    Mistake(
        "padding missing: add padding values at both ends before the loop",
        simulate=pool(padding=0),
    ),
    Mistake(
        "padding with zeros: a zero then wins a window of negative numbers; "
        "pad with float('-inf'), which never wins, as nn.MaxPool1d does",
        simulate=pool(fill=0.0),
    ),
    Mistake(
        "the mean instead of the maximum: max pooling keeps the largest value "
        "of each window, .amax(dim=-1) or torch.max(window, dim=-1).values",
        simulate=pool(fill=0.0, reduce=lambda w: w.mean(-1)),
    ),
    Mistake(
        "the maximum over the wrong dimension: take it over the window (the "
        "last dimension of x[:, :, i : i + k]), once per channel",
        simulate=pool(reduce=lambda w: w.amax(1).transpose(1, 2)),
    ),
    Mistake(
        "off-by-one in the loop's range: the last window is missing; window "
        "starts go up to L + 2p - k included",
        fails=lambda c: room(c) % c["s"] == 0,
    ),
    Mistake(
        "off-by-one in the loop's range: it runs past the last full window, so "
        "the last windows are cut short; stop at L + 2p - k",
        fails=lambda c: (room(c) + c["k"] - 1) // c["s"] > room(c) // c["s"],
    ),
    Mistake(
        "the original course's h // stride: the output length is "
        "floor((L + 2p - k) / s) + 1, which equals L // stride only for some "
        "lengths, kernels and paddings",
        simulate=on_batch(h_over_s),
    ),
    Mistake(
        "the original course's MaxPool1D: its windows always step by "
        "kernel_size and it adds no padding; step by stride (kernel_size when "
        "stride is None) and pad both ends with float('-inf')",
        simulate=pool(stride=lambda c: c["k"], padding=0),
    ),
]


def check_maxpool1d(cls: type) -> bool:
    """Check a learner's 1D max-pooling class against ``torch.nn.MaxPool1d`` (ch. 2).

    ``cls(kernel_size, stride=None, padding=0)``: ``stride=None`` means
    ``kernel_size``, padding counts for nothing (``-inf``), and the layer accepts
    ``(N, C, L)`` or unbatched ``(C, L)`` input.
    """

    def reference(setup: LayerSetup) -> tuple[Case, tuple, dict, None]:
        k, kwargs = setup.kernel_size, setup.kwargs()
        # Shifted down, so that many windows hold only negative numbers.
        xb = torch.randn(setup.input_shape, dtype=torch.float64) - 0.5
        config = dict(xb=xb, unbatched=setup.unbatched, k=k, s=setup.stride or k)
        config.update(p=setup.padding or 0, L=setup.input_shape[-1])
        config["default_stride"] = setup.stride is None
        expected = nn.MaxPool1d(k, **kwargs)(xb[0] if setup.unbatched else xb)
        return Case(setup.label(), config, expected), (k,), kwargs, None

    return check_layer(
        cls,
        "check_maxpool1d",
        "torch.nn.MaxPool1d",
        SETUPS,
        reference,
        MISTAKES,
        example="MyMaxPool(2)",
        construction="(kernel_size, stride=None, padding=0)",
        generic="the shape is right but the values are not: compare your loop "
        "with chapter 2's",
    )
