"""The checkers of book_src.exercises: right code passes, planted mistakes fail.

Each planted implementation below is what a learner could write, with one mistake;
the checker must reject it and print the hint that names that mistake. The course's
own layers (book_src.layers) must pass, as must a learner-style loop written as the
chapters teach it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book_src import layers, pooling
from book_src.exercises import (
    check_conv1d,
    check_conv1d_backward,
    check_conv2d,
    check_maxpool1d,
    check_output_size,
)


def run(
    checker: Callable[[Any], bool], candidate: Any, capsys: Any
) -> tuple[bool, str]:
    """Run a checker; return its result and what it printed."""
    result = checker(candidate)
    return result, capsys.readouterr().out


def hint_of(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("Hint: ")]
    assert len(lines) == 1, output
    return lines[0]


def assert_rejected(
    checker: Callable[[Any], bool],
    candidate: Any,
    phrases: tuple[str, ...],
    capsys: Any,
) -> None:
    result, output = run(checker, candidate, capsys)
    assert result is False, output
    hint = hint_of(output)
    for phrase in phrases:
        assert phrase in hint, f"expected {phrase!r} in the hint:\n{output}"


# ------------------------------------------------------------------ output_size


def good_size(length: int, kernel_size: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel_size) // stride + 1


WRONG_SIZES: dict[str, tuple[Callable[[int, int, int, int], Any], str]] = {
    "no padding": (lambda L, k, s, p: (L - k) // s + 1, "padding missing"),
    "padding once": (lambda L, k, s, p: (L + p - k) // s + 1, "padding counted once"),
    "no stride": (lambda L, k, s, p: L + 2 * p - k + 1, "stride ignored"),
    "no +1": (lambda L, k, s, p: (L + 2 * p - k) // s, "off-by-one"),
    "k - 1": (lambda L, k, s, p: (L + 2 * p - k + 1) // s + 1, "off-by-one"),
    "ceil": (lambda L, k, s, p: math.ceil((L + 2 * p - k) / s) + 1, "rounding up"),
    "h // stride": (lambda L, k, s, p: L // s, "h // stride"),
    "swapped": (lambda L, k, p, s: (L + 2 * p - k) // s + 1, "swapped"),
    "float": (lambda L, k, s, p: (L + 2 * p - k) / s + 1, "return an int"),
}


def test_output_size_accepts_the_formula(capsys: Any) -> None:
    result, output = run(check_output_size, good_size, capsys)
    assert result is True
    assert output.count("  ok   ") == 9 and "FAIL" not in output
    assert check_output_size(layers.output_size) is True


@pytest.mark.parametrize("name", WRONG_SIZES)
def test_output_size_names_the_mistake(name: str, capsys: Any) -> None:
    fn, phrase = WRONG_SIZES[name]
    assert_rejected(check_output_size, fn, (phrase,), capsys)


def test_output_size_reports_an_exception(capsys: Any) -> None:
    def broken(length: int, kernel_size: int, stride: int, padding: int) -> int:
        raise ValueError("my bug")

    result, output = run(check_output_size, broken, capsys)
    assert result is False
    assert "raised ValueError: my bug (in broken, line" in output
    assert "raised an error" in hint_of(output)


def test_output_size_rejects_a_non_function() -> None:
    with pytest.raises(TypeError, match="expects a function"):
        check_output_size(42)


# ------------------------------------------------------------- 1D convolution


class GoodConv1D(nn.Module):
    """A learner's convolution, written as chapter 1 teaches it."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.kernel = nn.Linear(in_channels * kernel_size, out_channels)

    def windows(self, x):
        """Window starts over the padded input (overridden by some mistakes)."""
        return range(0, x.shape[2] - self.kernel_size + 1, self.stride)

    def pad(self, x):
        return F.pad(x, (self.padding, self.padding))

    def apply(self, window):
        return self.kernel(window.reshape(window.shape[0], -1))

    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        outputs = []
        for i in self.windows(x):
            outputs.append(self.apply(x[:, :, i : i + self.kernel_size]))
        return torch.stack(outputs, dim=2)


class Float32Conv1D(GoodConv1D):
    """Right, but fills a float32 buffer: passes within float32 rounding."""

    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        starts = self.windows(x)
        out = torch.zeros(x.shape[0], self.kernel.out_features, len(starts))
        for n, i in enumerate(starts):
            out[:, :, n] = self.apply(x[:, :, i : i + self.kernel_size])
        return out


class NoPadding1D(GoodConv1D):
    def pad(self, x):
        return x


class OneSidePadding1D(GoodConv1D):
    def pad(self, x):
        return F.pad(x, (self.padding, 0))


class NoStride1D(GoodConv1D):
    def windows(self, x):
        return range(0, x.shape[2] - self.kernel_size + 1)


class NoBiasLinear1D(GoodConv1D):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        self.kernel = nn.Linear(in_channels * kernel_size, out_channels, bias=False)


class NoBiasMatmul1D(GoodConv1D):
    def apply(self, window):
        return window.reshape(window.shape[0], -1) @ self.kernel.weight.T


class PositionFirst1D(GoodConv1D):
    def apply(self, window):
        return self.kernel(window.transpose(1, 2).reshape(window.shape[0], -1))


class LastWindowDropped1D(GoodConv1D):
    def windows(self, x):
        return range(0, x.shape[2] - self.kernel_size, self.stride)


class FirstWindowSkipped1D(GoodConv1D):
    def windows(self, x):
        return range(1, x.shape[2] - self.kernel_size + 1, self.stride)


class LengthOverStride1D(GoodConv1D):
    """The original course's h // stride, in 1D: L // stride windows."""

    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        length = x.shape[2]
        x = self.pad(x)
        outputs = []
        for n in range(length // self.stride):
            i = n * self.stride
            outputs.append(self.apply(x[:, :, i : i + self.kernel_size]))
        return torch.stack(outputs, dim=2)


class UnpaddedRange1D(GoodConv1D):
    """Loops over the unpadded length: too few windows, no known mistake's name."""

    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        length = x.shape[2]
        x = self.pad(x)
        outputs = []
        for i in range(0, length - self.kernel_size + 1, self.stride):
            outputs.append(self.apply(x[:, :, i : i + self.kernel_size]))
        return torch.stack(outputs, dim=2)


class NoUnbatched1D(GoodConv1D):
    def forward(self, x):
        x = self.pad(x)
        outputs = [
            self.apply(x[:, :, i : i + self.kernel_size]) for i in self.windows(x)
        ]
        return torch.stack(outputs, dim=2)


class KeepsBatch1D(GoodConv1D):
    def forward(self, x):
        if x.dim() == 2:
            x = x.unsqueeze(0)
        return super().forward(x)


class NoPaddingNoUnbatched1D(NoUnbatched1D):
    def pad(self, x):
        return x


class WrongLinear1D(GoodConv1D):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)
        self.kernel = nn.Linear(kernel_size, out_channels)


class NoDefaults1D(GoodConv1D):
    """The original course's constructor: no default stride and padding."""

    def __init__(self, in_channels, out_channels, stride, kernel_size, padding):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding)


class Raises1D(GoodConv1D):
    def forward(self, x):
        raise RuntimeError("forgot to finish this")


WRONG_CONV1D: dict[type, tuple[str, ...]] = {
    NoPadding1D: ("padding missing",),
    OneSidePadding1D: ("padding on one side only",),
    NoStride1D: ("stride ignored",),
    NoBiasLinear1D: ("bias missing",),
    NoBiasMatmul1D: ("bias missing",),
    PositionFirst1D: ("position by position instead of channel by channel",),
    LastWindowDropped1D: ("off-by-one in the loop's range", "last window"),
    FirstWindowSkipped1D: ("off-by-one in the loop's range", "first window"),
    LengthOverStride1D: ("h // stride",),
    UnpaddedRange1D: ("wrong output length",),
    NoUnbatched1D: ("unbatched input not handled",),
    KeepsBatch1D: ("keeps the batch dimension",),
    NoPaddingNoUnbatched1D: ("padding missing", "Also: unbatched input not handled"),
    WrongLinear1D: ("one nn.Linear named kernel",),
    NoDefaults1D: ("stride=1, padding=0", "with these defaults"),
}


@pytest.mark.parametrize("cls", [layers.Conv1D, GoodConv1D, Float32Conv1D])
def test_conv1d_accepts_right_layers(cls: type, capsys: Any) -> None:
    result, output = run(check_conv1d, cls, capsys)
    assert result is True, output
    lines = output.splitlines()
    assert len(lines) == 1 + 6 + 1  # title, one line per configuration, verdict
    assert all(line.startswith("  ok   ") for line in lines[1:-1])
    assert lines[-1] == "All 6 configurations match torch.nn.Conv1d."


@pytest.mark.parametrize("cls", WRONG_CONV1D, ids=lambda cls: cls.__name__)
def test_conv1d_names_the_mistake(cls: type, capsys: Any) -> None:
    assert_rejected(check_conv1d, cls, WRONG_CONV1D[cls], capsys)


def test_conv1d_reports_an_exception(capsys: Any) -> None:
    result, output = run(check_conv1d, Raises1D, capsys)
    assert result is False
    assert output.count("raised RuntimeError: forgot to finish this (in forward") == 6
    assert "raised an error" in hint_of(output)


def test_checkers_leave_the_random_state_alone(capsys: Any) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_conv1d(GoodConv1D)
    check_maxpool1d(GoodMaxPool1D)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("checker", "argument", "message"),
    [
        (check_conv1d, layers.Conv1D(3, 4, 3), "not an instance"),
        (check_conv1d, "Conv1D", "expects a class"),
        (check_conv2d, layers.Conv2D(3, 4, 3), "not an instance"),
        (check_maxpool1d, pooling.MaxPool1D(2), "not an instance"),
        (check_maxpool1d, None, "expects a class"),
        (check_conv1d_backward, 3.5, "expects a function"),
    ],
)
def test_a_wrong_argument_is_a_type_error(
    checker: Callable[[Any], bool], argument: Any, message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        checker(argument)


def test_a_class_that_is_not_a_module_is_reported(capsys: Any) -> None:
    class Plain:
        def __init__(self, *args, **kwargs):
            pass

    result, output = run(check_conv1d, Plain, capsys)
    assert result is False
    assert "must be a subclass of nn.Module" in output


# ------------------------------------------------------------- 2D convolution


class GoodConv2D(nn.Module):
    """A learner's 2D convolution, written as chapter 4 teaches it."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.out_channels = out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.kernel = nn.Linear(in_channels * kernel_size**2, out_channels)

    def pad(self, x):
        p = self.padding
        return F.pad(x, (p, p, p, p))

    def starts(self, size):
        return range(0, size - self.kernel_size + 1, self.stride)

    def apply(self, window):
        return self.kernel(window.reshape(window.shape[0], -1))

    def forward(self, x):
        if x.dim() == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        k = self.kernel_size
        rows, cols = self.starts(x.shape[2]), self.starts(x.shape[3])
        outputs = [
            self.apply(x[:, :, i : i + k, j : j + k]) for i in rows for j in cols
        ]
        out = torch.stack(outputs, dim=2)
        return out.reshape(x.shape[0], self.out_channels, len(rows), len(cols))


class NoPadding2D(GoodConv2D):
    def pad(self, x):
        return x


class WidthOnlyPadding2D(GoodConv2D):
    def pad(self, x):
        return F.pad(x, (self.padding, self.padding))


class NoStride2D(GoodConv2D):
    def starts(self, size):
        return range(0, size - self.kernel_size + 1)


class NoBias2D(GoodConv2D):
    def apply(self, window):
        return window.reshape(window.shape[0], -1) @ self.kernel.weight.T


class PositionFirst2D(GoodConv2D):
    def apply(self, window):
        return self.kernel(window.permute(0, 2, 3, 1).reshape(window.shape[0], -1))


class LastWindowDropped2D(GoodConv2D):
    def starts(self, size):
        return range(0, size - self.kernel_size, self.stride)


class ColumnsOuter2D(GoodConv2D):
    def forward(self, x):
        if x.dim() == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        k = self.kernel_size
        rows, cols = self.starts(x.shape[2]), self.starts(x.shape[3])
        outputs = [
            self.apply(x[:, :, i : i + k, j : j + k]) for j in cols for i in rows
        ]
        out = torch.stack(outputs, dim=2)
        return out.reshape(x.shape[0], self.out_channels, len(rows), len(cols))


class OriginalCourse2D(nn.Module):
    """The original course's Conv2D (its loop and its h // stride reshape), with
    our argument order and unbatched input added, so that only the reshape is wrong.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.kernel_width = kernel_size
        self.kernel = nn.Linear(in_channels * kernel_size**2, out_channels)
        self.padding = padding

    def forward(self, x):
        if x.dim() == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        b, _, h, w = x.shape
        p = self.padding
        x = F.pad(x, (p, p, p, p))
        chunks = []
        for i in range(self.kernel_width, x.shape[2] + 1, self.stride):
            for j in range(self.kernel_width, x.shape[3] + 1, self.stride):
                window = x[:, :, i - self.kernel_width : i, j - self.kernel_width : j]
                chunks.append(self.kernel(window.reshape(x.shape[0], -1)))
        outs = torch.stack(chunks, dim=2)
        return outs.reshape(b, self.out_channels, h // self.stride, w // self.stride)


class OriginalCourseNoUnbatched2D(OriginalCourse2D):
    def forward(self, x):
        _, _, _, _ = x.shape  # as the original unpacks b, c, h, w: fails on (C, H, W)
        return super().forward(x)


class SquareOutput2D(GoodConv2D):
    """Uses the height's output size for the width too."""

    def forward(self, x):
        if x.dim() == 3:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        k = self.kernel_size
        rows = self.starts(x.shape[2])
        outputs = [
            self.apply(x[:, :, i : i + k, j : j + k]) for i in rows for j in rows
        ]
        out = torch.stack(outputs, dim=2)
        return out.reshape(x.shape[0], self.out_channels, len(rows), len(rows))


class NoUnbatched2D(GoodConv2D):
    def forward(self, x):
        if x.dim() == 3:
            raise ValueError("expected a batch")
        return super().forward(x)


WRONG_CONV2D: dict[type, tuple[str, ...]] = {
    NoPadding2D: ("padding missing",),
    WidthOnlyPadding2D: ("padding only the width",),
    NoStride2D: ("stride ignored",),
    NoBias2D: ("bias missing",),
    PositionFirst2D: ("position by position instead of channel by channel",),
    LastWindowDropped2D: ("off-by-one in the loop's range",),
    ColumnsOuter2D: ("loop order",),
    OriginalCourse2D: ("h // stride",),
    OriginalCourseNoUnbatched2D: ("h // stride", "Also: unbatched input not handled"),
    SquareOutput2D: ("wrong output height and width",),
    NoUnbatched2D: ("unbatched input not handled",),
}


@pytest.mark.parametrize("cls", [layers.Conv2D, GoodConv2D])
def test_conv2d_accepts_right_layers(cls: type, capsys: Any) -> None:
    result, output = run(check_conv2d, cls, capsys)
    assert result is True, output
    assert output.splitlines()[-1] == "All 6 configurations match torch.nn.Conv2d."


@pytest.mark.parametrize("cls", WRONG_CONV2D, ids=lambda cls: cls.__name__)
def test_conv2d_names_the_mistake(cls: type, capsys: Any) -> None:
    assert_rejected(check_conv2d, cls, WRONG_CONV2D[cls], capsys)


def test_one_bug_gets_one_hint(capsys: Any) -> None:
    # The unbatched input fails too, but from the same bug: no second hint.
    result, output = run(check_conv2d, SquareOutput2D, capsys)
    assert result is False
    assert "Also" not in hint_of(output)


# ----------------------------------------------------------------- max pooling


class GoodMaxPool1D(nn.Module):
    """A learner's max pooling, written as chapter 2 teaches it."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def pad(self, x):
        return F.pad(x, (self.padding, self.padding), value=-math.inf)

    def starts(self, x):
        return range(0, x.shape[2] - self.kernel_size + 1, self.stride)

    def reduce(self, window):
        return window.max(dim=2).values

    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        x = self.pad(x)
        outputs = [
            self.reduce(x[:, :, i : i + self.kernel_size]) for i in self.starts(x)
        ]
        return torch.stack(outputs, dim=2)


class StrideNoneAsOne(GoodMaxPool1D):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.stride = 1 if stride is None else stride


class StrideAlwaysKernel(GoodMaxPool1D):
    """The original course's MaxPool1D steps by the kernel size whatever the stride."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__(kernel_size, stride, padding)
        self.stride = kernel_size


class StrideAlwaysOne(GoodMaxPool1D):
    def starts(self, x):
        return range(0, x.shape[2] - self.kernel_size + 1)


class NoPaddingPool(GoodMaxPool1D):
    def pad(self, x):
        return x


class ZeroPaddingPool(GoodMaxPool1D):
    def pad(self, x):
        return F.pad(x, (self.padding, self.padding))


class MeanPool(GoodMaxPool1D):
    def pad(self, x):
        return F.pad(x, (self.padding, self.padding))

    def reduce(self, window):
        return window.mean(dim=2)


class MaxOverChannels(GoodMaxPool1D):
    def reduce(self, window):
        return window.max(dim=1).values


class LastWindowDroppedPool(GoodMaxPool1D):
    def starts(self, x):
        return range(0, x.shape[2] - self.kernel_size, self.stride)


class RangePastEndPool(GoodMaxPool1D):
    def starts(self, x):
        return range(0, x.shape[2], self.stride)


class LengthOverStridePool(GoodMaxPool1D):
    def forward(self, x):
        if x.dim() == 2:
            return self.forward(x.unsqueeze(0)).squeeze(0)
        length = x.shape[2]
        x = self.pad(x)
        outputs = []
        for n in range(length // self.stride):
            i = n * self.stride
            outputs.append(self.reduce(x[:, :, i : i + self.kernel_size]))
        return torch.stack(outputs, dim=2)


class MaxTuplePool(GoodMaxPool1D):
    def reduce(self, window):
        return torch.max(window, dim=2)  # (values, indices), not values


class OriginalCoursePool(nn.Module):
    """The original course's MaxPool1D, taking our constructor's arguments."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.pooling = kernel_size

    def forward(self, x):
        return torch.stack(
            [
                torch.max(x[:, :, i - self.pooling : i], dim=2)[0]
                for i in range(self.pooling, x.shape[2] + 1, self.pooling)
            ],
            dim=2,
        )


class NoUnbatchedPool(GoodMaxPool1D):
    def forward(self, x):
        x = self.pad(x)
        outputs = [
            self.reduce(x[:, :, i : i + self.kernel_size]) for i in self.starts(x)
        ]
        return torch.stack(outputs, dim=2)


WRONG_POOLS: dict[type, tuple[str, ...]] = {
    StrideNoneAsOne: ("stride=None must mean stride = kernel_size",),
    StrideAlwaysKernel: ("stride ignored", "always step by kernel_size"),
    StrideAlwaysOne: ("stride ignored: window i must start at i * stride",),
    NoPaddingPool: ("padding missing",),
    ZeroPaddingPool: ("padding with zeros",),
    MeanPool: ("the mean instead of the maximum",),
    MaxOverChannels: ("the wrong dimension",),
    LastWindowDroppedPool: ("off-by-one in the loop's range", "last window"),
    RangePastEndPool: ("off-by-one in the loop's range", "past the last full window"),
    LengthOverStridePool: ("h // stride",),
    MaxTuplePool: (".values",),
    NoUnbatchedPool: ("unbatched input not handled",),
    OriginalCoursePool: (
        "the original course's MaxPool1D",
        "Also: unbatched input not handled",
    ),
}


@pytest.mark.parametrize("cls", [pooling.MaxPool1D, GoodMaxPool1D])
def test_maxpool1d_accepts_right_layers(cls: type, capsys: Any) -> None:
    result, output = run(check_maxpool1d, cls, capsys)
    assert result is True, output
    assert output.splitlines()[-1] == "All 6 configurations match torch.nn.MaxPool1d."


@pytest.mark.parametrize("cls", WRONG_POOLS, ids=lambda cls: cls.__name__)
def test_maxpool1d_names_the_mistake(cls: type, capsys: Any) -> None:
    assert_rejected(check_maxpool1d, cls, WRONG_POOLS[cls], capsys)


# -------------------------------------------------------------------- backward


def good_backward(x, weight, bias, grad_output, stride=1, padding=0):
    """A learner's backward pass of the 1D loop convolution, position by position."""
    n, c_in, length = x.shape
    k = weight.shape[1] // c_in
    padded = F.pad(x, (padding, padding))
    grad_padded = torch.zeros_like(padded)
    grad_weight = torch.zeros_like(weight)
    for i in range(grad_output.shape[2]):
        start = i * stride
        window = padded[:, :, start : start + k].reshape(n, -1)  # (N, C_in * k)
        g = grad_output[:, :, i]  # (N, C_out)
        grad_weight += g.T @ window
        grad_padded[:, :, start : start + k] += (g @ weight).reshape(n, c_in, k)
    grad_bias = grad_output.sum(dim=(0, 2))
    return grad_padded[:, :, padding : padding + length], grad_weight, grad_bias


def course_backward(x, weight, bias, grad_output, stride=1, padding=0):
    """Autograd through the course's own Conv1D: the reference a learner matches."""
    c_in, c_out = x.shape[1], weight.shape[0]
    layer = layers.Conv1D(
        c_in, c_out, weight.shape[1] // c_in, stride, padding, dtype=torch.float64
    )
    with torch.no_grad():
        layer.kernel.weight.copy_(weight)
        layer.kernel.bias.copy_(bias)
    x = x.clone().requires_grad_(True)
    layer(x).backward(grad_output)
    return x.grad, layer.kernel.weight.grad, layer.kernel.bias.grad


def variant(**change: Any) -> Callable[..., Any]:
    """good_backward with one mistake, named by a keyword."""

    def backward(x, weight, bias, grad_output, stride=1, padding=0):
        n, c_in, length = x.shape
        k = weight.shape[1] // c_in
        padded = F.pad(x, (padding, padding))
        grad_padded = torch.zeros_like(padded)
        grad_weight = torch.zeros_like(weight)
        positions = grad_output.shape[2] - change.get("fewer_positions", 0)
        for i in range(positions):
            start = i * (1 if change.get("no_stride") else stride)
            window = padded[:, :, start : start + k].reshape(n, -1)
            g = grad_output[:, :, i]
            if change.get("weight_last_only"):
                grad_weight = g.T @ window
            elif change.get("weight_mean"):
                grad_weight += g.T @ window / n
            else:
                grad_weight += g.T @ window
            part = g @ weight
            if change.get("position_first"):
                part = part.reshape(n, k, c_in).transpose(1, 2)
            part = part.reshape(n, c_in, k)
            if change.get("assign"):
                grad_padded[:, :, start : start + k] = part
            else:
                grad_padded[:, :, start : start + k] += part
        grad_bias = grad_output.sum(dim=(0, 2))
        if change.get("bias_positions_only"):
            grad_bias = grad_output.sum(dim=2)
        if change.get("no_bias"):
            grad_bias = torch.zeros_like(bias)
        if change.get("torch_layout"):
            grad_weight = grad_weight.reshape(weight.shape[0], c_in, k)
        grad_input = grad_padded[:, :, padding : padding + length]
        if change.get("no_crop"):
            grad_input = grad_padded
        if change.get("two_values"):
            return grad_input, grad_weight
        return grad_input, grad_weight, grad_bias

    backward.__name__ = "backward_" + "_".join(change)
    return backward


WRONG_BACKWARDS: dict[str, tuple[str, ...]] = {
    "no_crop": ("grad_input still holds the padding",),
    "assign": ("instead of assigning it (=)",),
    "no_stride": ("grad_input: stride ignored", "grad_weight: stride ignored"),
    "weight_last_only": ("not only the last",),
    "weight_mean": ("do not average",),
    "bias_positions_only": ("grad_bias: sum grad_output over the batch too",),
    "no_bias": ("grad_bias missing",),
    "torch_layout": ("the Linear's layout (C_out, C_in * k)",),
    "position_first": ("grad_input: window flattened position by position",),
    "fewer_positions": ("grad_input: off-by-one in the loop's range",),
}


@pytest.mark.parametrize("fn", [good_backward, course_backward])
def test_backward_accepts_right_gradients(fn: Callable[..., Any], capsys: Any) -> None:
    result, output = run(check_conv1d_backward, fn, capsys)
    assert result is True, output
    assert output.count("the three gradients match") == 5
    assert output.splitlines()[-1] == "All 5 configurations match autograd."


@pytest.mark.parametrize("mistake", WRONG_BACKWARDS)
def test_backward_names_the_mistake(mistake: str, capsys: Any) -> None:
    fn = variant(**{mistake: True})
    assert_rejected(check_conv1d_backward, fn, WRONG_BACKWARDS[mistake], capsys)


def test_backward_needs_three_gradients(capsys: Any) -> None:
    result, output = run(check_conv1d_backward, variant(two_values=True), capsys)
    assert result is False
    assert "expected a tuple (grad_input, grad_weight, grad_bias)" in output
    assert "return the three gradients" in hint_of(output)


def test_backward_with_a_missing_gradient(capsys: Any) -> None:
    def backward(x, weight, bias, grad_output, stride=1, padding=0):
        grad_input, grad_weight, _ = good_backward(
            x, weight, bias, grad_output, stride, padding
        )
        return grad_input, grad_weight, None

    result, output = run(check_conv1d_backward, backward, capsys)
    assert result is False
    assert "grad_bias returned a NoneType, expected a tensor" in output
    assert "grad_bias missing" in hint_of(output)


def test_backward_reports_an_exception(capsys: Any) -> None:
    def backward(x, weight, bias, grad_output, stride=1, padding=0):
        return x @ weight, weight, bias  # shapes that cannot be multiplied

    result, output = run(check_conv1d_backward, backward, capsys)
    assert result is False
    assert "raised RuntimeError" in output and "(in backward, line" in output


def test_a_bug_in_the_constructor_is_not_blamed_on_the_signature(capsys: Any) -> None:
    class Typo1D(GoodConv1D):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
            super().__init__(in_channels, out_channels, kernel_size, stride, padding)
            self.kernel = nn.Linear(in_channels * kernel_sise, out_channels)  # noqa: F821

    result, output = run(check_conv1d, Typo1D, capsys)
    assert result is False
    assert "raised NameError: name 'kernel_sise' is not defined" in output
    assert "raised an error" in hint_of(output)
