"""The checker for a convolution class: in 1D (chapter 1) and in 2D (chapter 4)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src.exercises.engine import Case, LayerSetup, Mistake, check_layer, on_batch

SETUPS = {
    1: [
        LayerSetup((2, 3, 10), 3, out_channels=4),
        LayerSetup((4, 2, 11), 3, 1, 1, out_channels=3),
        LayerSetup((3, 3, 13), 5, 2, 2, out_channels=5),
        LayerSetup((1, 4, 9), 2, 3, 0, out_channels=2),
        LayerSetup((8, 3, 100), 3, 2, 1, out_channels=16),
        LayerSetup((1, 2, 8), 3, 2, 1, out_channels=3, unbatched=True),
    ],
    2: [
        LayerSetup((2, 3, 6, 7), 3, out_channels=4),
        LayerSetup((2, 2, 7, 7), 3, 1, 1, out_channels=3),
        LayerSetup((3, 2, 8, 8), 3, 2, 1, out_channels=5),
        LayerSetup((1, 3, 9, 7), 3, 2, 1, out_channels=2),
        LayerSetup((2, 2, 8, 9), 2, 3, 0, out_channels=2),
        LayerSetup((1, 3, 6, 5), 3, 1, 1, out_channels=2, unbatched=True),
    ],
}


def conv_mistakes(dims: int) -> list[Mistake]:
    """The known mistakes of a convolution written as a loop, in 1D or 2D."""
    conv = F.conv1d if dims == 1 else F.conv2d

    def padded(sides: Any) -> Any:  # the right windows of x padded by sides(p)
        return on_batch(
            lambda x, c: conv(F.pad(x, sides(c["p"])), c["w"], c["b"], c["s"])
        )

    def position_first(w: Tensor) -> Tensor:
        # The Linear's columns read as (position..., channel), not (channel, ...)
        return w.reshape(w.shape[0], *w.shape[2:], w.shape[1]).movedim(-1, 1)

    def h_over_s(loop: bool) -> Any:
        # The original course: the right windows, then h // s of them, either
        # reshaped to (h // s, w // s) or cut by a loop that runs past the end.
        def run(x: Tensor, c: dict[str, Any]) -> Tensor:
            out = conv(x, c["w"], c["b"], c["s"], c["p"])
            sizes = [n // c["s"] for n in x.shape[2:]]
            if not loop:
                return out.flatten(2).reshape(*out.shape[:2], *sizes)
            if any(n > have for n, have in zip(sizes, out.shape[2:])):
                raise RuntimeError("window cut short")
            return out[(..., *[slice(0, n) for n in sizes])]

        return on_batch(run)

    def columns_outer(x: Tensor, c: dict[str, Any]) -> Tensor:
        # for j ... for i ...: positions stacked column by column, read by rows
        out = conv(x, c["w"], c["b"], c["s"], c["p"])
        return out.transpose(2, 3).reshape(out.shape)

    h_hint = (
        "the original course's h // stride: the output size is "
        "floor((h + 2p - k) / s) + 1, which equals h // stride only for some "
        "kernels, paddings and sizes"
    )
    pads = "(p, p)" if dims == 1 else "(p, p, p, p)"
    one_side = f"padding on one side only: pad both ends, F.pad(x, {pads})"
    mistakes = [
        Mistake(
            "bias missing: the Linear adds its bias to every window; call "
            "self.kernel(window), not a product with its weight alone",
            simulate=on_batch(lambda x, c: conv(x, c["w"], None, c["s"], c["p"])),
        ),
        Mistake(
            "window flattened position by position instead of channel by "
            f"channel: the Linear's in_channels * kernel_size{' ** 2' * (dims - 1)} "
            "inputs take all of channel 0 first; reshape the window (N, C, ...) "
            "directly, without moving the channel dimension",
            simulate=on_batch(
                lambda x, c: conv(x, position_first(c["w"]), c["b"], c["s"], c["p"])
            ),
        ),
        Mistake(
            "padding missing: add padding zeros at both ends of every spatial "
            "dimension (F.pad) before the loop",
            simulate=padded(lambda p: (0, 0) * dims),
        ),
        Mistake(one_side, simulate=padded(lambda p: (p, 0) * dims)),
        Mistake(one_side, simulate=padded(lambda p: (0, p) * dims)),
        Mistake(
            "stride ignored: window i must start at i * stride (or step the "
            "loop's range by stride)",
            fails=lambda c: c["s"] > 1,
        ),
        Mistake(
            "off-by-one in the loop's range: the last window is missing; window "
            "starts go up to L + 2p - k included, range(0, L + 2p - k + 1, stride)",
            fails=lambda c: any(
                (n + 2 * c["p"] - c["k"]) % c["s"] == 0 for n in c["n"]
            ),
        ),
        Mistake(  # a negative padding crops: the first element is gone
            "off-by-one in the loop's range: the first window is missing; it "
            "starts at 0",
            simulate=padded(lambda p: (p - 1, p) * dims),
        ),
        Mistake(h_hint, simulate=h_over_s(loop=False)),
        Mistake(h_hint, simulate=h_over_s(loop=True)),
    ]
    if dims == 2:
        mistakes.insert(
            5,
            Mistake(
                "padding only the width: F.pad(x, (p, p)) pads the last dimension "
                "only; pad the height too, F.pad(x, (p, p, p, p))",
                simulate=padded(lambda p: (p, p)),
            ),
        )
        mistakes.append(
            Mistake(
                "loop order: loop over the rows i outside and the columns j "
                "inside, the order in which the final reshape reads the positions",
                simulate=on_batch(columns_outer),
            )
        )
    return mistakes


def check_conv(cls: Any, dims: int) -> bool:
    """Check a convolution class against ``torch.nn.Conv1d`` or ``Conv2d``."""
    inputs = f"in_channels * kernel_size{' ** 2' if dims == 2 else ''}"

    def reference(setup: LayerSetup) -> tuple[Case, tuple, dict, Any]:
        c_in, k, c_out = setup.input_shape[1], setup.kernel_size, setup.out_channels
        s, p = setup.stride or 1, setup.padding or 0
        twin = getattr(nn, f"Conv{dims}d")(c_in, c_out, k, s, p, dtype=torch.float64)
        xb = torch.randn(setup.input_shape, dtype=torch.float64)
        w, b = twin.weight.detach(), twin.bias.detach()
        config = dict(xb=xb, unbatched=setup.unbatched, w=w, b=b, k=k, s=s, p=p)
        config["n"] = setup.input_shape[2:]
        with torch.no_grad():
            expected = twin(xb[0] if setup.unbatched else xb)

        def prepare(layer: nn.Module) -> str:
            kernel = getattr(layer, "kernel", None)
            if kernel is None:
                return "no nn.Linear named self.kernel"
            flat = w.reshape(c_out, -1)  # (C_out, C_in * k ** dims)
            if not isinstance(kernel, nn.Linear) or kernel.weight.shape != flat.shape:
                size = flat.shape[1]
                return f"self.kernel is {kernel!r}, expected nn.Linear({size}, {c_out})"
            with torch.no_grad():
                kernel.weight.copy_(flat)
                if kernel.bias is not None:
                    kernel.bias.copy_(b)
            return ""

        case = Case(setup.label(), config, expected)
        return case, (c_in, c_out), {"kernel_size": k, **setup.kwargs()}, prepare

    return check_layer(
        cls,
        f"check_conv{dims}d",
        f"torch.nn.Conv{dims}d",
        SETUPS[dims],
        reference,
        conv_mistakes(dims),
        example="MyConv(3, 4, 3)",
        construction="(in_channels, out_channels, kernel_size, stride=1, padding=0)",
        generic="the shape is right but the values are not: compare your window "
        "slice and the call of self.kernel with the loop of chapter "
        f"{1 if dims == 1 else 4}",
        structure="the layer must keep its weights in one nn.Linear named "
        f"kernel, self.kernel = nn.Linear({inputs}, out_channels)",
        sizes="length" if dims == 1 else "height and width",
    )


def check_conv1d(cls: type) -> bool:
    """Check a learner's 1D convolution class against ``torch.nn.Conv1d`` (chapter 1).

    ``cls(in_channels, out_channels, kernel_size, stride=1, padding=0)`` holds one
    ``nn.Linear`` named ``kernel`` with ``in_channels * kernel_size`` inputs, each
    window flattened channel by channel, and accepts ``(N, C_in, L)`` or unbatched
    ``(C_in, L)`` input. The checker copies ``nn.Conv1d``'s weights into that
    Linear.
    """
    return check_conv(cls, 1)


def check_conv2d(cls: type) -> bool:
    """Check a learner's 2D convolution class against ``torch.nn.Conv2d`` (chapter 4).

    As :func:`check_conv1d`, with ``nn.Linear(in_channels * kernel_size ** 2,
    out_channels)``, each window ``(C_in, k, k)`` flattened channel by channel (then
    row by row), and input ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
    """
    return check_conv(cls, 2)
