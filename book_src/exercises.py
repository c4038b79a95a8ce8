"""Checkers for the book's code exercises: your code against PyTorch's (every chapter).

Each checker takes what the exercise asks you to write, a function or a class, runs it
on several configurations in float64 and compares the result with PyTorch's own layer:

- :func:`check_output_size` (chapter 1): ``fn(length, kernel_size, stride, padding)``;
- :func:`check_conv1d` (chapter 1): a 1D convolution class;
- :func:`check_maxpool1d` (chapter 2): a 1D max-pooling class;
- :func:`check_conv2d` (chapter 4): a 2D convolution class;
- :func:`check_conv1d_backward` (chapter 7): the gradients of a 1D convolution.

A convolution class is built as the course builds its own,
``cls(in_channels, out_channels, kernel_size, stride=1, padding=0)``, and holds one
``nn.Linear`` named ``kernel`` with ``in_channels * kernel_size`` inputs
(``in_channels * kernel_size ** 2`` in 2D), each window flattened channel by channel.
The checker copies the weights of the ``torch.nn`` twin into that Linear. A pooling
class is built as ``cls(kernel_size, stride=None, padding=0)``. Layers must also accept
an unbatched input, ``(C, L)`` or ``(C, H, W)``, as ``torch.nn`` does.

Every checker prints one line per configuration and, when one fails, a hint that
names the likely mistake. The hint is not a guess: the checker runs each known
mistake (padding missing, stride ignored, bias missing, a window flattened position
by position, an off-by-one in the loop's range, the original course's
``h // stride`` reshape...) on the same inputs and names the one that gives exactly
what your code gave. It returns ``True`` only when every configuration passes. An
error in your code is caught and printed, never raised; a wrong argument to the
checker itself (an instance instead of a class, say) raises ``TypeError``.
"""

from __future__ import annotations

import math
import numbers
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from book_src.layers import output_size

__all__ = [
    "check_conv1d",
    "check_conv1d_backward",
    "check_conv2d",
    "check_maxpool1d",
    "check_output_size",
]

#: Tolerances of the comparison. Every configuration runs in float64, where a right
#: answer agrees to about 1e-15; these also accept a loop that computes in float32.
RTOL, ATOL = 1e-5, 1e-6
#: Seed of the inputs and weights: the same numbers on every run.
SEED = 0

_TORCH_DIR = str(Path(torch.__file__).parent)


# ------------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class _Raised:
    """An exception raised by the learner's code, or by a simulated mistake."""

    message: str

    @classmethod
    def from_error(cls, error: Exception) -> _Raised:
        """Summarise ``error`` in one line, with where it happened in the user's code.

        The place is the innermost frame outside torch and this module, as a
        function name and a line number (a notebook cell's file name changes from
        run to run, so it is left out).
        """
        text = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
        if len(message) > 100:
            message = message[:97] + "..."
        frames = [
            frame
            for frame in traceback.extract_tb(error.__traceback__)
            if not frame.filename.startswith(_TORCH_DIR) and frame.filename != __file__
        ]
        if frames:
            message += f" (in {frames[-1].name}, line {frames[-1].lineno})"
        return cls(message)


def _attempt(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``run(*args, **kwargs)``, or a :class:`_Raised` if it raised."""
    try:
        return run(*args, **kwargs)
    except Exception as error:  # the learner's bug: report it, never raise it
        return _Raised.from_error(error)


def _same(a: Any, b: Any) -> bool:
    """Whether two outcomes agree: both raised, equal numbers, or close tensors."""
    if isinstance(a, _Raised) or isinstance(b, _Raised):
        return isinstance(a, _Raised) and isinstance(b, _Raised)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.shape != b.shape:
            return False
        a, b = a.detach().double(), b.detach().double()
        return bool(torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _shape(value: Any) -> str:
    return str(tuple(value.shape))


def _describe(got: Any, expected: Tensor) -> str:
    """What went wrong with one tensor, in a few words ('' when nothing did)."""
    if isinstance(got, _Raised):
        return f"raised {got.message}"
    if not isinstance(got, Tensor):
        return f"returned a {type(got).__name__}, expected a tensor"
    if got.shape != expected.shape:
        return f"{_shape(got)}, expected {_shape(expected)}"
    if not got.dtype.is_floating_point:
        return f"a tensor of {got.dtype}, expected floating point numbers"
    if _same(got, expected):
        return ""
    difference = (got.detach().double() - expected).abs()
    if torch.isnan(difference).any():
        return f"{_shape(got)}, with NaN where the expected output has numbers"
    return f"{_shape(got)}, values off by up to {difference.max().item():.2g}"


# --------------------------------------------------------- the shared engine


@dataclass
class _Case:
    """One configuration: its inputs, the expected outcome and the learner's."""

    label: str
    data: dict[str, Any]
    expected: Any = None
    got: Any = None
    problem: str = ""  # '' when the learner's outcome is right

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class _Mistake:
    """A known mistake: its hint, and what code making it would return on a case.

    ``simulate(data)`` may raise, as the mistaken code would (a reshape to the
    wrong size, say): that counts as the outcome "raised".
    """

    hint: str
    simulate: Callable[[dict[str, Any]], Any]
    #: Backward only: which gradient the mistake is about (0 input, 1 weight, 2 bias).
    part: int | None = None


def _diagnose(cases: list[_Case], mistakes: Sequence[_Mistake]) -> str | None:
    """The hint of the first mistake that reproduces the learner's outcomes.

    A mistake matches when, on every configuration, it gives what the learner's
    code gave (both raised, or both returned the same values), and on at least one
    configuration both returned values: a learner whose code raises everywhere gets
    the error message, not a guess.
    """
    for mistake in mistakes:
        seen_value = False
        for case in cases:
            got = case.got
            simulated = _attempt(mistake.simulate, case.data)
            if not _same(got, simulated):
                break
            if not isinstance(got, _Raised):
                seen_value = True
        else:
            if seen_value:
                return mistake.hint
    return None


def _part(outcome: Any, index: int) -> Any:
    if isinstance(outcome, tuple):
        return outcome[index]
    return outcome


def _finish(
    cases: list[_Case],
    twin: str,
    hint: Callable[[], str | None],
) -> bool:
    failed = [case for case in cases if not case.ok]
    if not failed:
        print(f"All {len(cases)} configurations match {twin}.")
        return True
    print(f"{len(failed)} of {len(cases)} configurations differ from {twin}.")
    text = hint()
    if text:
        print(f"Hint: {text}")
    return False


def _line(case: _Case, result: str) -> None:
    status = "ok  " if case.ok else "FAIL"
    print(f"  {status} {case.label} -> {result}")


def _error_hint(cases: list[_Case]) -> str | None:
    """A hint for a learner whose code raised, read from the error itself."""
    raised = [case.got for case in cases if isinstance(case.got, _Raised)]
    if not raised:
        return None
    message = raised[0].message
    if "shapes cannot be multiplied" in message:
        return (
            "a window reached the Linear with the wrong number of numbers: each "
            "window must hold in_channels * kernel_size of them (check the slice and "
            "the loop's range: a window that runs past the end is cut short)"
        )
    if "return_types" in message:
        return (
            "torch.max(t, dim=...) returns a pair (values, indices): keep "
            ".values (or [0])"
        )
    if "is invalid for input of size" in message:
        return (
            "a reshape got the wrong number of elements: reshape to the output size "
            "that the formula floor((L + 2p - k) / s) + 1 gives"
        )
    return "your code raised an error: read the message on the FAIL line above"


# ---------------------------------------------------------- check_output_size

#: (length, kernel_size, stride, padding): odd and even lengths, strides, paddings.
_SIZE_CASES = [
    (6, 3, 1, 0),
    (6, 3, 1, 1),
    (6, 3, 2, 1),
    (100, 3, 2, 1),
    (101, 3, 2, 1),
    (784, 3, 2, 1),
    (10, 4, 3, 0),
    (28, 5, 1, 2),
    (13, 5, 3, 2),
]

_SIZE_MISTAKES = [
    _Mistake(
        "padding missing: the padded input is L + 2 * padding long",
        lambda d: (d["L"] - d["k"]) // d["s"] + 1,
    ),
    _Mistake(
        "padding counted once: it is added at both ends, L + 2 * padding",
        lambda d: (d["L"] + d["p"] - d["k"]) // d["s"] + 1,
    ),
    _Mistake(
        "stride ignored: the window starts move by stride, so divide by it",
        lambda d: d["L"] + 2 * d["p"] - d["k"] + 1,
    ),
    _Mistake(
        "off-by-one: the first window counts too, add 1 after dividing: "
        "floor((L + 2p - k) / s) + 1",
        lambda d: (d["L"] + 2 * d["p"] - d["k"]) // d["s"],
    ),
    _Mistake(
        "off-by-one: a window of k numbers starts at most at L + 2p - k, "
        "so the formula has - k, not - (k - 1)",
        lambda d: (d["L"] + 2 * d["p"] - d["k"] + 1) // d["s"] + 1,
    ),
    _Mistake(
        "rounding up: a last window that does not fit is not counted, "
        "round the division down (//)",
        lambda d: -(-(d["L"] + 2 * d["p"] - d["k"]) // d["s"]) + 1,
    ),
    _Mistake(
        "the original course's h // stride: that is right only for one choice of "
        "kernel and padding; use floor((L + 2p - k) / s) + 1",
        lambda d: d["L"] // d["s"],
    ),
    _Mistake(
        "stride and padding swapped: the function is called as "
        "fn(length, kernel_size, stride, padding)",
        lambda d: (d["L"] + 2 * d["s"] - d["k"]) // d["p"] + 1,
    ),
]


def check_output_size(fn: Callable[[int, int, int, int], int]) -> bool:
    """Check ``fn(length, kernel_size, stride, padding)`` against ``output_size``.

    Args:
        fn: the learner's function, returning the number of outputs as an int.

    Returns:
        True when ``fn`` gives the right int for every configuration tried.

    Raises:
        TypeError: if ``fn`` is not callable.
    """
    if not callable(fn):
        raise TypeError(
            "check_output_size expects a function fn(length, kernel_size, stride, "
            f"padding), got {type(fn).__name__} {fn!r}"
        )
    name = getattr(fn, "__name__", "fn")
    print(f"Checking {name}(length, kernel_size, stride, padding):")
    cases = []
    for length, k, s, p in _SIZE_CASES:
        case = _Case(
            f"{name}({length}, {k}, {s}, {p})", {"L": length, "k": k, "s": s, "p": p}
        )
        case.expected = output_size(length, k, stride=s, padding=p)
        case.got = _attempt(fn, length, k, s, p)
        got = case.got
        if isinstance(got, _Raised):
            case.problem = result = f"raised {got.message}"
        elif isinstance(got, bool) or not isinstance(got, numbers.Integral):
            case.problem = result = (
                f"{got!r}, a {type(got).__name__}: expected the int {case.expected}"
            )
        else:
            result = str(int(got))
            if int(got) != case.expected:
                case.problem = result = f"{int(got)}, expected {case.expected}"
            case.got = int(got)
        cases.append(case)
        _line(case, result)

    def hint() -> str | None:
        if any(isinstance(c.got, float) for c in cases):
            return (
                "return an int: / divides into a float; floor division // "
                "rounds down and keeps an int"
            )
        return (
            _diagnose(cases, _SIZE_MISTAKES)
            or _error_hint(cases)
            or (
                "count the window starts 0, s, 2s, ... up to L + 2p - k: "
                "floor((L + 2p - k) / s) + 1"
            )
        )

    return _finish(cases, "output_size", hint)


# -------------------------------------------------------- layers: the common part


@dataclass(frozen=True)
class _LayerSetup:
    """One configuration of a layer check."""

    input_shape: tuple[int, ...]  # batched shape (N, C, *spatial)
    kernel_size: int
    stride: int | None = None  # None: not passed (the default)
    padding: int | None = None
    out_channels: int = 0  # convolutions only
    unbatched: bool = False  # feed input_shape[1:]

    def kwargs(self) -> dict[str, int]:
        """Keyword arguments beyond the kernel size: only those that were set."""
        args = {}
        if self.stride is not None:
            args["stride"] = self.stride
        if self.padding is not None:
            args["padding"] = self.padding
        return args

    def label(self) -> str:
        shape = self.input_shape[1:] if self.unbatched else self.input_shape
        text = f"input {tuple(shape)}{' unbatched' if self.unbatched else ''}"
        text += f", kernel_size={self.kernel_size}"
        if self.stride is None and self.padding is None:
            return text + " (default stride, padding)"
        return text + "".join(f", {k}={v}" for k, v in self.kwargs().items())


def _check_class_argument(cls: Any, checker: str, example: str) -> None:
    if isinstance(cls, type):
        return
    if isinstance(cls, nn.Module):
        raise TypeError(
            f"{checker} expects the class itself, not an instance: write "
            f"{checker}({type(cls).__name__}), not {checker}({example})"
        )
    raise TypeError(f"{checker} expects a class, got {type(cls).__name__} {cls!r}")


def _build(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Instantiate the learner's class; a non-Module is reported as an error."""
    layer = cls(*args, **kwargs)
    if not isinstance(layer, nn.Module):
        raise TypeError(f"{cls.__name__} must be a subclass of nn.Module")
    return layer.double()


def _signature(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{cls.__name__}({', '.join(parts)})"


def _run_forward(layer: nn.Module, x: Tensor) -> Any:
    with torch.no_grad():
        return _attempt(layer, x.clone())


def _batched(data: dict[str, Any], run: Callable[[Tensor], Tensor]) -> Tensor:
    """Apply a batched computation, dropping the batch dimension for unbatched cases."""
    out = run(data["xb"])
    return out.squeeze(0) if data["unbatched"] else out


def _layer_hint(
    cases: list[_Case],
    mistakes: Sequence[_Mistake],
    *,
    construction: str,
    construction_failed: int,
    generic: str,
    dims: int = 1,
    structure: str | None = None,
) -> str:
    """The hint of a layer check: batched configurations first, then the unbatched.

    A known mistake is looked for on the batched configurations alone, so that a
    layer with one mistake there and no support for unbatched input gets both hints.
    """
    if construction_failed:
        errors = [c.got.message for c in cases if isinstance(c.got, _Raised)]
        if errors and errors[0].startswith("TypeError") and "argument" in errors[0]:
            return f"the class must be built as {construction}, with these defaults"
        return _error_hint(cases) or ""
    if structure:
        return structure
    batched = [case for case in cases if not case.data["unbatched"]]
    single = [case for case in cases if case.data["unbatched"]]
    hints = []
    found: _Mistake | None = None
    if any(not case.ok for case in batched):
        found = next((m for m in mistakes if _diagnose(batched, [m])), None)
        hints.append(
            found.hint
            if found
            else _shape_hint(batched, dims) or _error_hint(batched) or generic
        )
    for case in single:
        if case.ok:
            continue
        # What the same sample gives as a batch of one, against what it should give
        # (with the mistake already named, if any): if it matches, the unbatched
        # input is a problem of its own.
        as_batch = case.data["got_as_batch"]
        should = case.expected.unsqueeze(0)
        if found:
            should = _attempt(found.simulate, {**case.data, "unbatched": False})
        if not _same(as_batch, should):
            if not hints:
                hints.append(
                    "a batch of one sample gives a wrong result: "
                    + (_shape_hint([case], dims) or _error_hint([case]) or generic)
                )
            continue
        if isinstance(case.got, _Raised):
            hints.append(
                "unbatched input not handled: the layer must also accept one sample "
                "without the batch dimension, as torch.nn does; add it with "
                "x.unsqueeze(0) and remove it at the end with out.squeeze(0)"
            )
        elif _same(case.got, as_batch):
            hints.append(
                "unbatched input: the output keeps the batch dimension you added; "
                "remove it with out.squeeze(0)"
            )
        else:
            hints.append(
                "the unbatched input gives another result than the same sample in a "
                "batch of one: add the batch dimension, run, and remove it"
            )
    return ". Also: ".join(hints)


# ------------------------------------------------------------- convolutions


_CONV1D_SETUPS = [
    _LayerSetup((2, 3, 10), 3, out_channels=4),
    _LayerSetup((4, 2, 11), 3, 1, 1, out_channels=3),
    _LayerSetup((3, 3, 13), 5, 2, 2, out_channels=5),
    _LayerSetup((1, 4, 9), 2, 3, 0, out_channels=2),
    _LayerSetup((8, 3, 100), 3, 2, 1, out_channels=16),
    _LayerSetup((1, 2, 8), 3, 2, 1, out_channels=3, unbatched=True),
]

_CONV2D_SETUPS = [
    _LayerSetup((2, 3, 6, 7), 3, out_channels=4),
    _LayerSetup((2, 2, 7, 7), 3, 1, 1, out_channels=3),
    _LayerSetup((3, 2, 8, 8), 3, 2, 1, out_channels=5),
    _LayerSetup((1, 3, 9, 7), 3, 2, 1, out_channels=2),
    _LayerSetup((2, 2, 8, 9), 2, 3, 0, out_channels=2),
    _LayerSetup((1, 3, 6, 5), 3, 1, 1, out_channels=2, unbatched=True),
]


def _conv(dims: int) -> Callable[..., Tensor]:
    return F.conv1d if dims == 1 else F.conv2d


def _pad_all(x: Tensor, p: int, dims: int) -> Tensor:
    return F.pad(x, (p, p) * dims)


def _positions(size: int, k: int, s: int, p: int, end: int = 1) -> int:
    """How many windows a loop ``range(0, size + 2p - k + end, s)`` visits."""
    return len(range(0, size + 2 * p - k + end, s))


def _conv_mistakes(dims: int) -> list[_Mistake]:
    """The known mistakes of a convolution written as a loop, in 1D or 2D."""
    conv = _conv(dims)
    lin = "in_channels * kernel_size" + (" ** 2" if dims == 2 else "")

    def no_bias(d: dict[str, Any]) -> Tensor:
        return _batched(d, lambda x: conv(x, d["w"], None, d["s"], d["p"]))

    def position_first(d: dict[str, Any]) -> Tensor:
        # The Linear's columns read as (position..., channel) instead of (channel, ...)
        w, k = d["w"], d["k"]
        c_out, c_in = w.shape[:2]
        rows = w.reshape(c_out, -1)
        if dims == 1:
            weight = rows.view(c_out, k, c_in).permute(0, 2, 1)
        else:
            weight = rows.view(c_out, k, k, c_in).permute(0, 3, 1, 2)
        return _batched(d, lambda x: conv(x, weight, d["b"], d["s"], d["p"]))

    def no_padding(d: dict[str, Any]) -> Tensor:
        return _batched(d, lambda x: conv(x, d["w"], d["b"], d["s"]))

    def one_side(left: bool) -> Callable[[dict[str, Any]], Tensor]:
        def run(d: dict[str, Any]) -> Tensor:
            p = d["p"]
            amounts = ((p, 0) if left else (0, p)) * dims
            return _batched(
                d, lambda x: conv(F.pad(x, amounts), d["w"], d["b"], d["s"])
            )

        return run

    def width_only(d: dict[str, Any]) -> Tensor:
        p = d["p"]
        return _batched(d, lambda x: conv(F.pad(x, (p, p)), d["w"], d["b"], d["s"]))

    def no_stride(d: dict[str, Any]) -> Tensor:
        return _batched(d, lambda x: conv(x, d["w"], d["b"], 1, d["p"]))

    def loop_range(end: int, start: int = 0) -> Callable[[dict[str, Any]], Tensor]:
        # range(start, L + 2p - k + end, s): end=1 is right, 0 drops the last window
        def run(d: dict[str, Any]) -> Tensor:
            def go(x: Tensor) -> Tensor:
                padded = _pad_all(x, d["p"], dims)[(..., *[slice(start, None)] * dims)]
                out = conv(padded, d["w"], d["b"], d["s"])
                counts = [
                    len(range(start, n + 2 * d["p"] - d["k"] + end, d["s"]))
                    for n in x.shape[2:]
                ]
                return out[(..., *[slice(0, c) for c in counts])]

            return _batched(d, go)

        return run

    def h_over_s_reshape(d: dict[str, Any]) -> Tensor:
        # The original course: right windows, then reshape to (..., h // s, w // s)
        def go(x: Tensor) -> Tensor:
            out = conv(x, d["w"], d["b"], d["s"], d["p"])
            sizes = [n // d["s"] for n in x.shape[2:]]
            return out.flatten(2).reshape(*out.shape[:2], *sizes)

        return _batched(d, go)

    def h_over_s_loop(d: dict[str, Any]) -> Tensor:
        # h // s window positions, each starting at i * s in the padded input
        def go(x: Tensor) -> Tensor:
            out = conv(x, d["w"], d["b"], d["s"], d["p"])
            sizes = [n // d["s"] for n in x.shape[2:]]
            for n, have in zip(sizes, out.shape[2:]):
                if n > have:  # the last windows would run past the padded input
                    raise RuntimeError("window cut short")
            return out[(..., *[slice(0, n) for n in sizes])]

        return _batched(d, go)

    def columns_outer(d: dict[str, Any]) -> Tensor:
        # for j ... for i ...: positions stacked column by column, reshaped by rows
        def go(x: Tensor) -> Tensor:
            out = conv(x, d["w"], d["b"], d["s"], d["p"])
            return out.transpose(2, 3).reshape(out.shape)

        return _batched(d, go)

    h_hint = (
        "the original course's h // stride: the output size is "
        "floor((h + 2p - k) / s) + 1, which equals h // stride only for some "
        "kernels, paddings and sizes"
    )
    mistakes = [
        _Mistake(
            "bias missing: the Linear adds its bias to every window; call "
            "self.kernel(window), not a product with its weight alone",
            no_bias,
        ),
        _Mistake(
            "window flattened position by position instead of channel by "
            f"channel: the Linear's {lin} inputs take all of channel 0 first; "
            "reshape the window (N, C, ...) directly, without moving the "
            "channel dimension",
            position_first,
        ),
        _Mistake(
            "padding missing: add padding zeros at both ends of every spatial "
            "dimension (F.pad) before the loop",
            no_padding,
        ),
        _Mistake(
            "padding on one side only: pad both ends, "
            + ("F.pad(x, (p, p))" if dims == 1 else "F.pad(x, (p, p, p, p))"),
            one_side(left=True),
        ),
        _Mistake(
            "padding on one side only: pad both ends, "
            + ("F.pad(x, (p, p))" if dims == 1 else "F.pad(x, (p, p, p, p))"),
            one_side(left=False),
        ),
        _Mistake(
            "stride ignored: window i must start at i * stride (or step the "
            "loop's range by stride)",
            no_stride,
        ),
        _Mistake(
            "off-by-one in the loop's range: the last window is missing; window "
            "starts go up to L + 2p - k included, range(0, L + 2p - k + 1, stride)",
            loop_range(end=0),
        ),
        _Mistake(
            "off-by-one in the loop's range: the first window is missing; it "
            "starts at 0",
            loop_range(end=1, start=1),
        ),
        _Mistake(h_hint, h_over_s_reshape),
        _Mistake(h_hint, h_over_s_loop),
    ]
    if dims == 2:
        mistakes.insert(
            5,
            _Mistake(
                "padding only the width: F.pad(x, (p, p)) pads the last dimension "
                "only; pad the height too, F.pad(x, (p, p, p, p))",
                width_only,
            ),
        )
        mistakes.append(
            _Mistake(
                "loop order: loop over the rows i outside and the columns j "
                "inside, the order in which the final reshape reads the positions",
                columns_outer,
            )
        )
    return mistakes


_CONV_MISTAKES = {1: _conv_mistakes(1), 2: _conv_mistakes(2)}


def _check_conv(cls: Any, dims: int, setups: list[_LayerSetup]) -> bool:
    checker = "check_conv1d" if dims == 1 else "check_conv2d"
    twin = "torch.nn.Conv1d" if dims == 1 else "torch.nn.Conv2d"
    _check_class_argument(cls, checker, "MyConv(3, 4, 3)")
    print(f"Checking {cls.__name__} against {twin}, in float64:")
    cases = []
    construction_failed = structure_failed = 0
    with torch.random.fork_rng(devices=[]):
        for number, setup in enumerate(setups):
            torch.manual_seed(SEED + number)
            shape = setup.input_shape
            c_in, k, c_out = shape[1], setup.kernel_size, setup.out_channels
            s, p = setup.stride or 1, setup.padding or 0
            reference = getattr(nn, f"Conv{dims}d")(
                c_in, c_out, k, s, p, dtype=torch.float64
            )
            xb = torch.randn(shape, dtype=torch.float64)
            x = xb[0] if setup.unbatched else xb
            case = _Case(setup.label(), {})
            case.data = {
                "xb": xb,
                "unbatched": setup.unbatched,
                "w": reference.weight.detach(),
                "b": reference.bias.detach(),
                "k": k,
                "s": s,
                "p": p,
            }
            with torch.no_grad():
                case.expected = reference(x)
            args, kwargs = (c_in, c_out), {"kernel_size": k, **setup.kwargs()}
            layer = _attempt(_build, cls, args, kwargs)
            if isinstance(layer, _Raised):
                construction_failed += 1
                case.got = layer
                case.problem = f"{_signature(cls, args, kwargs)} raised {layer.message}"
                cases.append(case)
                _line(case, case.problem)
                continue
            kernel = getattr(layer, "kernel", None)
            inputs = c_in * k**dims
            if (
                not isinstance(kernel, nn.Linear)
                or kernel.in_features != inputs
                or kernel.out_features != c_out
            ):
                structure_failed += 1
                case.got = _Raised("no kernel")
                case.problem = (
                    f"self.kernel is {kernel!r}, expected nn.Linear({inputs}, {c_out})"
                    if kernel is not None
                    else "no nn.Linear named self.kernel"
                )
                cases.append(case)
                _line(case, case.problem)
                continue
            with torch.no_grad():
                kernel.weight.copy_(reference.weight.reshape(c_out, -1))
                if kernel.bias is not None:
                    kernel.bias.copy_(reference.bias)
            case.got = _run_forward(layer, x)
            if setup.unbatched:
                case.data["got_as_batch"] = _run_forward(layer, xb)
            case.problem = _describe(case.got, case.expected)
            cases.append(case)
            _line(case, case.problem or _shape(case.got))

    def hint() -> str:
        structure = None
        if structure_failed:
            structure = (
                "the layer must keep its weights in one nn.Linear named kernel, "
                f"self.kernel = nn.Linear(in_channels * kernel_size"
                f"{' ** 2' if dims == 2 else ''}, out_channels)"
            )
        return _layer_hint(
            cases,
            _CONV_MISTAKES[dims],
            construction=f"{cls.__name__}(in_channels, out_channels, kernel_size, "
            "stride=1, padding=0)",
            construction_failed=construction_failed,
            structure=structure,
            dims=dims,
            generic="the shape is right but the values are not: compare your window "
            "slice and the call of self.kernel with the loop of chapter "
            f"{1 if dims == 1 else 4}",
        )

    return _finish(cases, twin, hint)


def _shape_hint(cases: list[_Case], dims: int) -> str | None:
    """'wrong output length' for the first case whose output has the wrong size."""
    for case in cases:
        got, expected = case.got, case.expected
        if isinstance(got, Tensor) and got.shape != expected.shape:
            sizes = "length" if dims == 1 else "height and width"
            return (
                f"wrong output {sizes}: got {_shape(got)}, expected "
                f"{_shape(expected)}; each spatial size is "
                "floor((L + 2p - k) / s) + 1"
            )
    return None


def check_conv1d(cls: type) -> bool:
    """Check a learner's 1D convolution class against ``torch.nn.Conv1d`` (chapter 1).

    ``cls(in_channels, out_channels, kernel_size, stride=1, padding=0)`` must hold
    one ``nn.Linear`` named ``kernel`` with ``in_channels * kernel_size`` inputs,
    each window flattened channel by channel, and accept ``(N, C_in, L)`` or
    unbatched ``(C_in, L)`` input. The checker copies ``nn.Conv1d``'s weights into
    that Linear and compares the outputs on six configurations.

    Returns:
        True when every configuration matches.

    Raises:
        TypeError: if ``cls`` is not a class.
    """
    return _check_conv(cls, 1, _CONV1D_SETUPS)


def check_conv2d(cls: type) -> bool:
    """Check a learner's 2D convolution class against ``torch.nn.Conv2d`` (chapter 4).

    As :func:`check_conv1d`, with ``nn.Linear(in_channels * kernel_size ** 2,
    out_channels)``, each window ``(C_in, k, k)`` flattened channel by channel (then
    row by row), and input ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.

    Returns:
        True when every configuration matches.

    Raises:
        TypeError: if ``cls`` is not a class.
    """
    return _check_conv(cls, 2, _CONV2D_SETUPS)


# ------------------------------------------------------------------ pooling

_POOL_SETUPS = [
    _LayerSetup((2, 3, 10), 2),
    _LayerSetup((3, 2, 11), 2),
    _LayerSetup((2, 4, 12), 3, 2, 0),
    _LayerSetup((2, 3, 9), 3, 2, 1),
    _LayerSetup((1, 5, 7), 3, 1, 1),
    _LayerSetup((1, 3, 8), 2, 2, 0, unbatched=True),
]


def _pool_windows(x: Tensor, k: int, s: int, p: int, fill: float) -> Tensor:
    """Every window of ``x`` padded with ``fill``: ``(N, C, positions, k)``."""
    return F.pad(x, (p, p), value=fill).unfold(2, k, s)


def _pool_mistakes() -> list[_Mistake]:
    def pool(
        d: dict[str, Any],
        *,
        stride: int | None = None,
        padding: int | None = None,
        fill: float = -math.inf,
        reduce: Callable[[Tensor], Tensor] = lambda w: w.amax(-1),
    ) -> Tensor:
        k = d["k"]
        s = d["s"] if stride is None else stride
        p = d["p"] if padding is None else padding
        return _batched(d, lambda x: reduce(_pool_windows(x, k, s, p, fill)))

    def partial_windows(count: Callable[[int, dict[str, Any]], range]) -> Callable:
        # a loop whose windows x[:, :, i : i + k] may run past the end (cut short)
        def run(d: dict[str, Any]) -> Tensor:
            def go(x: Tensor) -> Tensor:
                padded = F.pad(x, (d["p"], d["p"]), value=-math.inf)
                starts = count(x.shape[2], d)
                values = [padded[:, :, i : i + d["k"]].amax(-1) for i in starts]
                return torch.stack(values, dim=-1)

            return _batched(d, go)

        return run

    return [
        _Mistake(
            "stride=None must mean stride = kernel_size (windows side by side), "
            "as in nn.MaxPool1d; your layer used a step of 1",
            lambda d: pool(d, stride=1 if d["default_stride"] else None),
        ),
        _Mistake(
            "stride ignored: the windows always step by kernel_size, as in the "
            "original course; step by stride, which is kernel_size only when "
            "stride is None",
            lambda d: pool(d, stride=d["k"]),
        ),
        _Mistake(
            "stride ignored: window i must start at i * stride",
            lambda d: pool(d, stride=1),
        ),
        _Mistake(
            "padding missing: add padding values at both ends before the loop",
            lambda d: pool(d, padding=0),
        ),
        _Mistake(
            "padding with zeros: a zero then wins a window of negative numbers; "
            "pad with float('-inf'), which never wins, as nn.MaxPool1d does",
            lambda d: pool(d, fill=0.0),
        ),
        _Mistake(
            "the mean instead of the maximum: max pooling keeps the largest value "
            "of each window, .amax(dim=-1) or torch.max(window, dim=-1).values",
            lambda d: pool(d, fill=0.0, reduce=lambda w: w.mean(-1)),
        ),
        _Mistake(
            "the maximum over the wrong dimension: take it over the window (the "
            "last dimension of x[:, :, i : i + k]), once per channel",
            lambda d: pool(d, reduce=lambda w: w.amax(1).transpose(1, 2)),
        ),
        _Mistake(
            "off-by-one in the loop's range: the last window is missing; window "
            "starts go up to L + 2p - k included",
            lambda d: pool(d)[..., : _positions(d["L"], d["k"], d["s"], d["p"], 0)],
        ),
        _Mistake(
            "off-by-one in the loop's range: it runs past the last full window, so "
            "the last windows are cut short; stop at L + 2p - k",
            partial_windows(lambda n, d: range(0, n + 2 * d["p"], d["s"])),
        ),
        _Mistake(
            "the original course's h // stride: the output length is "
            "floor((L + 2p - k) / s) + 1, which equals L // stride only for some "
            "lengths, kernels and paddings",
            partial_windows(lambda n, d: [i * d["s"] for i in range(n // d["s"])]),
        ),
        _Mistake(
            "the original course's MaxPool1D: its windows always step by "
            "kernel_size and it adds no padding; step by stride (kernel_size when "
            "stride is None) and pad both ends with float('-inf')",
            lambda d: pool(d, stride=d["k"], padding=0),
        ),
    ]


_POOL_MISTAKES = _pool_mistakes()


def check_maxpool1d(cls: type) -> bool:
    """Check a learner's 1D max-pooling class against ``torch.nn.MaxPool1d`` (ch. 2).

    ``cls(kernel_size, stride=None, padding=0)``: ``stride=None`` means
    ``kernel_size``, padding counts for nothing (``-inf``), and the layer accepts
    ``(N, C, L)`` or unbatched ``(C, L)`` input.

    Returns:
        True when every configuration matches.

    Raises:
        TypeError: if ``cls`` is not a class.
    """
    _check_class_argument(cls, "check_maxpool1d", "MyMaxPool(2)")
    twin = "torch.nn.MaxPool1d"
    print(f"Checking {cls.__name__} against {twin}, in float64:")
    cases = []
    construction_failed = 0
    with torch.random.fork_rng(devices=[]):
        for number, setup in enumerate(_POOL_SETUPS):
            torch.manual_seed(SEED + number)
            k, kwargs = setup.kernel_size, setup.kwargs()
            # Shifted down, so that many windows hold only negative numbers.
            xb = torch.randn(setup.input_shape, dtype=torch.float64) - 0.5
            x = xb[0] if setup.unbatched else xb
            s = setup.stride or k
            p = setup.padding or 0
            case = _Case(setup.label(), {})
            case.data = {
                "xb": xb,
                "unbatched": setup.unbatched,
                "k": k,
                "s": s,
                "p": p,
                "L": setup.input_shape[-1],
                "default_stride": setup.stride is None,
            }
            case.expected = nn.MaxPool1d(k, **kwargs)(x)
            layer = _attempt(_build, cls, (k,), kwargs)
            if isinstance(layer, _Raised):
                construction_failed += 1
                case.got = layer
                case.problem = f"{_signature(cls, (k,), kwargs)} raised {layer.message}"
                cases.append(case)
                _line(case, case.problem)
                continue
            case.got = _run_forward(layer, x)
            if setup.unbatched:
                case.data["got_as_batch"] = _run_forward(layer, xb)
            case.problem = _describe(case.got, case.expected)
            cases.append(case)
            _line(case, case.problem or _shape(case.got))

    def hint() -> str:
        return _layer_hint(
            cases,
            _POOL_MISTAKES,
            construction=f"{cls.__name__}(kernel_size, stride=None, padding=0)",
            construction_failed=construction_failed,
            generic="the shape is right but the values are not: compare your loop "
            "with chapter 2's",
        )

    return _finish(cases, twin, hint)


# ------------------------------------------------------------------ backward

#: (N, C_in, C_out, L, kernel_size, stride, padding); stride None: not passed.
_BACKWARD_SETUPS = [
    (2, 3, 4, 10, 3, None, None),
    (3, 2, 3, 11, 3, 1, 1),
    (2, 2, 2, 13, 5, 2, 2),
    (1, 3, 2, 9, 2, 3, 0),
    (4, 1, 3, 8, 4, 2, 1),
]
_GRAD_NAMES = ("grad_input", "grad_weight", "grad_bias")


def _flat_windows(
    x: Tensor, k: int, s: int, p: int, channel_first: bool = True
) -> Tensor:
    """The windows of ``x`` flattened as the Linear reads them: ``(N, P, C_in * k)``."""
    windows = F.pad(x, (p, p)).unfold(2, k, s)  # (N, C, P, k)
    n, c, positions, _ = windows.shape
    if channel_first:
        return windows.permute(0, 2, 1, 3).reshape(n, positions, c * k)
    return windows.permute(0, 2, 3, 1).reshape(n, positions, k * c)


def _fold(
    columns: Tensor, c: int, k: int, s: int, length: int, add: bool = True
) -> Tensor:
    """Put each position's ``(N, C * k)`` window gradient back where its window was.

    ``add=False`` assigns instead of adding, as a loop with ``=`` would.
    """
    n, positions, _ = columns.shape
    out = columns.new_zeros(n, c, length)
    for i in range(positions):
        part = columns[:, i].reshape(n, c, k)
        if add:
            out[:, :, i * s : i * s + k] += part
        else:
            out[:, :, i * s : i * s + k] = part
    return out


def _backward_mistakes() -> list[_Mistake]:
    def parts(
        d: dict[str, Any],
    ) -> tuple[Tensor, Tensor, Tensor, Tensor, int, int, int]:
        return d["x"], d["weight"], d["grad_output"], d["bias"], d["k"], d["s"], d["p"]

    def grad_padded(
        d: dict[str, Any],
        *,
        add: bool = True,
        stride: int | None = None,
        position_first: bool = False,
        positions: int | None = None,
    ) -> Tensor:
        x, w, g, _, k, s, p = parts(d)
        s = s if stride is None else stride
        c = x.shape[1]
        weight = w
        if position_first:
            weight = w.view(w.shape[0], k, c).permute(0, 2, 1).reshape(w.shape[0], -1)
        columns = torch.einsum("nol,of->nlf", g, weight)
        if positions is not None:
            columns = columns[:, :positions]
        length = x.shape[2] + 2 * p
        if (columns.shape[1] - 1) * s + k > length:
            raise RuntimeError("window past the end")
        return _fold(columns, c, k, s, length, add)

    def crop(d: dict[str, Any], full: Tensor, start: int | None = None) -> Tensor:
        p, length = d["p"], d["x"].shape[2]
        start = p if start is None else start
        return full[:, :, start : start + length]

    def grad_weight(
        d: dict[str, Any],
        *,
        channel_first: bool = True,
        stride: int | None = None,
        padding: int | None = None,
        reduce: str = "sum",
    ) -> Tensor:
        x, _, g, _, k, s, p = parts(d)
        s = s if stride is None else stride
        p = p if padding is None else padding
        windows = _flat_windows(x, k, s, p, channel_first)  # (N, P, F)
        positions = g.shape[2]
        if windows.shape[1] < positions:
            raise RuntimeError("not enough windows")
        windows = windows[:, :positions]
        if reduce == "last position":
            return torch.einsum("no,nf->of", g[:, :, -1], windows[:, -1])
        per_sample = torch.einsum("nol,nlf->nof", g, windows)
        if reduce == "mean":
            return per_sample.mean(0)
        if reduce == "first sample":
            return per_sample[0]
        return per_sample.sum(0)

    grad_input_hint_crop = (
        "grad_input: cut the padding off the gradient of the padded input, "
        "grad_padded[:, :, padding : padding + L]"
    )
    return [
        # grad_input (part 0)
        _Mistake(
            "grad_input still holds the padding: it must have the input's shape; "
            "cut it with grad_padded[:, :, padding : padding + L]",
            lambda d: grad_padded(d),
            part=0,
        ),
        _Mistake(grad_input_hint_crop, lambda d: crop(d, grad_padded(d), 0), part=0),
        _Mistake(
            grad_input_hint_crop,
            lambda d: crop(d, grad_padded(d), 2 * d["p"]),
            part=0,
        ),
        _Mistake(
            "grad_input: windows overlap, so add each window's gradient into "
            "grad_input (+=) instead of assigning it (=)",
            lambda d: crop(d, grad_padded(d, add=False)),
            part=0,
        ),
        _Mistake(
            "grad_input: stride ignored; the gradient of window i goes back to "
            "where window i started, i * stride",
            lambda d: crop(d, grad_padded(d, stride=1)),
            part=0,
        ),
        _Mistake(
            "grad_input: window flattened position by position instead of channel "
            "by channel; reshape W^T g to (N, C_in, k)",
            lambda d: crop(d, grad_padded(d, position_first=True)),
            part=0,
        ),
        _Mistake(
            "grad_input: off-by-one in the loop's range, the last position is missing",
            lambda d: crop(d, grad_padded(d, positions=d["grad_output"].shape[2] - 1)),
            part=0,
        ),
        # grad_weight (part 1)
        _Mistake(
            "grad_weight must have the Linear's layout (C_out, C_in * k): reshape it",
            lambda d: grad_weight(d).view(d["weight"].shape[0], d["x"].shape[1], -1),
            part=1,
        ),
        _Mistake(
            "grad_weight has the shape of the weight (C_out, C_in * k), not of its "
            "transpose",
            lambda d: grad_weight(d).T,
            part=1,
        ),
        _Mistake(
            "grad_weight: window flattened position by position instead of channel "
            "by channel; flatten it with window.reshape(N, -1)",
            lambda d: grad_weight(d, channel_first=False),
            part=1,
        ),
        _Mistake(
            "grad_weight: the same weights serve every position, so add the "
            "contributions g_i w_i^T of all positions, not only the last",
            lambda d: grad_weight(d, reduce="last position"),
            part=1,
        ),
        _Mistake(
            "grad_weight: add the contributions of every sample of the batch, "
            "do not average them",
            lambda d: grad_weight(d, reduce="mean"),
            part=1,
        ),
        _Mistake(
            "grad_weight: add the contributions of every sample of the batch, "
            "not only the first",
            lambda d: grad_weight(d, reduce="first sample"),
            part=1,
        ),
        _Mistake(
            "grad_weight: padding missing; the windows are cut from the padded input",
            lambda d: grad_weight(d, padding=0),
            part=1,
        ),
        _Mistake(
            "grad_weight: stride ignored; window i starts at i * stride",
            lambda d: grad_weight(d, stride=1),
            part=1,
        ),
        # grad_bias (part 2)
        _Mistake(
            "grad_bias: sum grad_output over the batch too, "
            "grad_output.sum(dim=(0, 2))",
            lambda d: d["grad_output"].sum(2),
            part=2,
        ),
        _Mistake(
            "grad_bias: sum grad_output over the positions too, "
            "grad_output.sum(dim=(0, 2))",
            lambda d: d["grad_output"].sum(0),
            part=2,
        ),
        _Mistake(
            "grad_bias: add, do not average: grad_output.sum(dim=(0, 2))",
            lambda d: d["grad_output"].mean((0, 2)),
            part=2,
        ),
        _Mistake(
            "grad_bias missing: the bias gets grad_output.sum(dim=(0, 2))",
            lambda d: torch.zeros_like(d["bias"]),
            part=2,
        ),
    ]


_BACKWARD_MISTAKES = _backward_mistakes()


def check_conv1d_backward(fn: Callable[..., Any]) -> bool:
    """Check a learner's 1D convolution gradients against autograd (chapter 7).

    ``fn(x, weight, bias, grad_output, stride=1, padding=0)`` returns
    ``(grad_input, grad_weight, grad_bias)``, where ``x`` is ``(N, C_in, L)``,
    ``weight`` is in the Linear's layout ``(C_out, C_in * k)`` (rows flattened
    channel by channel), ``bias`` is ``(C_out,)`` and ``grad_output`` is
    ``(N, C_out, L_out)``; each gradient has the shape of what it is the gradient
    of. They are compared with autograd's gradients of ``F.conv1d``.

    Returns:
        True when every configuration matches.

    Raises:
        TypeError: if ``fn`` is not callable.
    """
    if not callable(fn):
        raise TypeError(
            "check_conv1d_backward expects a function fn(x, weight, bias, "
            f"grad_output, stride=1, padding=0), got {type(fn).__name__} {fn!r}"
        )
    name = getattr(fn, "__name__", "fn")
    print(f"Checking {name} against autograd of F.conv1d, in float64:")
    cases = []
    with torch.random.fork_rng(devices=[]):
        for number, (n, c_in, c_out, length, k, stride, padding) in enumerate(
            _BACKWARD_SETUPS
        ):
            torch.manual_seed(SEED + number)
            s, p = stride or 1, padding or 0
            x = torch.randn(n, c_in, length, dtype=torch.float64, requires_grad=True)
            weight = torch.randn(c_out, c_in * k, dtype=torch.float64)
            weight.requires_grad_(True)
            bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
            out = F.conv1d(x, weight.view(c_out, c_in, k), bias, s, p)
            grad_output = torch.randn_like(out)
            out.backward(grad_output)
            kwargs = {} if stride is None else {"stride": s, "padding": p}
            label = f"x {tuple(x.shape)}, weight {tuple(weight.shape)} (k={k})"
            label += "".join(f", {key}={v}" for key, v in kwargs.items())
            case = _Case(label, {})
            case.expected = (x.grad, weight.grad, bias.grad)
            case.data = {
                "x": x.detach(),
                "weight": weight.detach(),
                "bias": bias.detach(),
                "grad_output": grad_output,
                "k": k,
                "s": s,
                "p": p,
            }
            inputs = [t.detach().clone() for t in (x, weight, bias, grad_output)]
            got = _attempt(fn, *inputs, **kwargs)
            if isinstance(got, list):
                got = tuple(got)
            if not isinstance(got, (tuple, _Raised)) or (
                isinstance(got, tuple) and len(got) != 3
            ):
                case.got = _Raised("wrong return")
                case.problem = (
                    f"returned {type(got).__name__}, expected a tuple "
                    "(grad_input, grad_weight, grad_bias)"
                )
            elif isinstance(got, _Raised):
                case.got = got
                case.problem = f"raised {got.message}"
            else:
                case.got = got
                problems = [
                    f"{grad} {problem}"
                    for grad, g, e in zip(_GRAD_NAMES, got, case.expected)
                    if (problem := _describe(g, e))
                ]
                case.problem = "; ".join(problems)
            cases.append(case)
            _line(case, case.problem or "the three gradients match")

    def hint() -> str | None:
        hints = []
        for index, grad in enumerate(_GRAD_NAMES):
            wrong = [
                c
                for c in cases
                if isinstance(c.got, tuple)
                and not _same(c.got[index], c.expected[index])
            ]
            if not wrong:
                continue
            mistakes = [m for m in _BACKWARD_MISTAKES if m.part == index]
            parts = [
                _Case(
                    c.label,
                    c.data,
                    expected=c.expected[index],
                    got=_part(c.got, index),
                    problem=""
                    if _same(_part(c.got, index), c.expected[index])
                    else "x",
                )
                for c in cases
            ]
            found = _diagnose(parts, mistakes)
            if found:
                hints.append(found)
            elif any(c.got[index] is None for c in wrong):
                hints.append(f"{grad} missing: return it as a tensor, not None")
            else:
                shapes = [
                    c
                    for c in wrong
                    if isinstance(c.got[index], Tensor)
                    and c.got[index].shape != c.expected[index].shape
                ]
                if shapes:
                    hints.append(
                        f"{grad} must have the shape of what it is the gradient of"
                    )
                else:
                    hints.append(
                        f"{grad} is wrong: compare your loop with the "
                        "formulas of chapter 7"
                    )
        if hints:
            return ". Also: ".join(hints)
        if any(c.problem.startswith("returned") for c in cases):
            return (
                "return the three gradients: return grad_input, grad_weight, grad_bias"
            )
        return _error_hint(cases)

    return _finish(cases, "autograd", hint)
