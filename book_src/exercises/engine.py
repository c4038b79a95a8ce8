"""The one loop every checker runs, and what its hints are made of.

A hint comes, in this order, from which configurations fail (a :class:`Mistake`'s
``fails``), from a simulated mistake where two mistakes fail the same ones
(``simulate``), or from the error the learner's code raised. A layer's unbatched
input gets a hint of its own.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

#: In float64 a right answer agrees to about 1e-15; these also accept a float32 loop.
RTOL, ATOL = 1e-5, 1e-6
SEED = 0  # configuration i runs with the seed SEED + i
_HIDDEN = (str(Path(torch.__file__).parent), str(Path(__file__).parent))


@dataclass(frozen=True)
class Raised:
    """An exception raised by the learner's code, or by a simulated mistake."""

    message: str


def attempt(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``run(*args, **kwargs)``, or a :class:`Raised` naming the learner's frame."""
    try:
        return run(*args, **kwargs)
    except Exception as error:  # the learner's bug: report it, never raise it
        text = str(error).strip().splitlines()
        message = f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")
        if len(message) > 100:
            message = message[:97] + "..."
        tb = traceback.extract_tb(error.__traceback__)
        frames = [frame for frame in tb if not frame.filename.startswith(_HIDDEN)]
        if frames:
            message += f" (in {frames[-1].name}, line {frames[-1].lineno})"
        return Raised(message)


def same(a: Any, b: Any) -> bool:
    """Whether two outcomes agree: both raised, close tensors, or equal values."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        return isinstance(a, Raised) and isinstance(b, Raised)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        a, b = a.detach().double(), b.detach().double()
        return a.shape == b.shape and torch.allclose(
            a, b, rtol=RTOL, atol=ATOL, equal_nan=True
        )
    return type(a) is type(b) and a == b


def shape(value: Tensor) -> str:
    """A tensor's shape as a tuple: ``(2, 4, 8)``."""
    return str(tuple(value.shape))


def describe(got: Any, expected: Tensor) -> str:
    """What went wrong with one tensor, in a few words ('' when nothing did)."""
    if isinstance(got, Raised):
        return f"raised {got.message}"
    if not isinstance(got, Tensor):
        return f"returned a {type(got).__name__}, expected a tensor"
    if got.shape != expected.shape:
        return f"{shape(got)}, expected {shape(expected)}"
    if not got.dtype.is_floating_point:
        return f"a tensor of {got.dtype}, expected floating point numbers"
    if same(got, expected):
        return ""
    difference = (got.detach().double() - expected).abs()
    if torch.isnan(difference).any():
        return f"{shape(got)}, with NaN where the expected output has numbers"
    return f"{shape(got)}, values off by up to {difference.max().item():.2g}"


@dataclass
class Case:
    """One configuration: its settings, the expected outcome and the learner's."""

    label: str
    config: dict[str, Any]
    expected: Any = None
    got: Any = None
    problem: str = ""  # '' when the learner's outcome is right
    result: str = ""  # what the line says when it is right
    as_batch: Any = None  # a layer's unbatched sample, run as a batch of one
    broken: str = ""  # "construction" or "structure": the layer never ran

    @property
    def ok(self) -> bool:
        """Whether the learner's outcome is right."""
        return not self.problem


@dataclass(frozen=True)
class Mistake:
    """A known mistake: its hint, the configurations it ``fails``, or ``simulate``."""

    hint: str
    fails: Callable[[dict[str, Any]], bool] | None = None
    simulate: Callable[[Case], Any] | None = None


def matches(mistake: Mistake, cases: Sequence[Case]) -> bool:
    """Whether ``mistake`` explains the outcomes (code that always raised: never)."""
    seen = cases if mistake.simulate else [case for case in cases if not case.ok]
    if all(isinstance(case.got, Raised) for case in seen):
        return False
    if mistake.fails and any(mistake.fails(c.config) == c.ok for c in cases):
        return False
    return not mistake.simulate or all(
        same(c.got, attempt(mistake.simulate, c)) for c in cases
    )


def diagnose(cases: Sequence[Case], mistakes: Iterable[Mistake]) -> str | None:
    """The hint of the first mistake that explains the learner's outcomes."""
    return next((m.hint for m in mistakes if matches(m, cases)), None)


#: Hints for a learner whose code raised, by a piece of the error message.
ERROR_HINTS = {
    "shapes cannot be multiplied": "a window reached the Linear with the wrong "
    "number of numbers: each window must hold in_channels * kernel_size of them "
    "(check the slice and the loop's range: a window that runs past the end is cut "
    "short)",
    "return_types": "torch.max(t, dim=...) returns a pair (values, indices): keep "
    ".values (or [0])",
    "is invalid for input of size": "a reshape got the wrong number of elements: "
    "reshape to the output size that the formula floor((L + 2p - k) / s) + 1 gives",
}


def error_hint(cases: Sequence[Case]) -> str | None:
    """A hint for a learner whose code raised, read from the first error."""
    raised = [case.got.message for case in cases if isinstance(case.got, Raised)]
    if not raised:
        return None
    return next(
        (hint for key, hint in ERROR_HINTS.items() if key in raised[0]),
        "your code raised an error: read the message on the FAIL line above",
    )


def run_checks(
    title: str,
    twin: str,
    configs: Iterable[Any],
    run: Callable[[Any], Case],
    hint: Callable[[list[Case]], str | None],
) -> bool:
    """The one loop: ``run(config)`` for each configuration, its line, the verdict.

    Seeds are set inside a forked random state: the caller's stay as they were.
    """
    print(title)
    cases = []
    with torch.random.fork_rng(devices=[]):
        for number, config in enumerate(configs):
            torch.manual_seed(SEED + number)
            case = run(config)
            cases.append(case)
            status = "ok  " if case.ok else "FAIL"
            print(f"  {status} {case.label} -> {case.problem or case.result}")
    failed = sum(not case.ok for case in cases)
    if not failed:
        print(f"All {len(cases)} configurations match {twin}.")
        return True
    print(f"{failed} of {len(cases)} configurations differ from {twin}.")
    text = hint(cases)
    if text:
        print(f"Hint: {text}")
    return False


def check_callable(fn: Any, checker: str, signature: str) -> str:
    """Raise a TypeError unless ``fn`` is callable; return its name."""
    if not callable(fn):
        raise TypeError(
            f"{checker} expects a function {signature}, got {type(fn).__name__} {fn!r}"
        )
    return getattr(fn, "__name__", "fn")


# --- Layers: a class built like the course's, batched and unbatched input ---


@dataclass(frozen=True)
class LayerSetup:
    """One configuration of a layer check; stride or padding None: not passed."""

    input_shape: tuple[int, ...]  # batched (N, C, *spatial)
    kernel_size: int
    stride: int | None = None
    padding: int | None = None
    out_channels: int = 0  # convolutions only
    unbatched: bool = False  # feed input_shape[1:]

    def kwargs(self) -> dict[str, int]:
        """Stride and padding, where they are passed."""
        args = {"stride": self.stride, "padding": self.padding}
        return {name: value for name, value in args.items() if value is not None}

    def label(self) -> str:
        """The configuration as its line shows it."""
        size = self.input_shape[1:] if self.unbatched else self.input_shape
        text = f"input {tuple(size)}{' unbatched' if self.unbatched else ''}"
        text += f", kernel_size={self.kernel_size}"
        if not self.kwargs():
            return text + " (default stride, padding)"
        return text + "".join(f", {k}={v}" for k, v in self.kwargs().items())


def on_batch(fn: Callable[[Tensor, dict[str, Any]], Tensor]) -> Callable[[Case], Any]:
    """A simulated layer mistake ``fn(x, config)`` on the batched input ``x``."""

    def simulate(case: Case) -> Tensor:
        out = fn(case.config["xb"], case.config)
        return out.squeeze(0) if case.config["unbatched"] else out

    return simulate


def check_layer(
    cls: Any,
    checker: str,
    twin: str,
    setups: Sequence[LayerSetup],
    reference: Callable[[LayerSetup], tuple[Case, tuple, dict, Callable | None]],
    mistakes: Sequence[Mistake],
    example: str,
    **hints: str,
) -> bool:
    """Check the layer class ``cls`` against ``twin`` on ``setups``.

    ``reference(setup)`` gives the case (``config["xb"]``: the batched input), the
    constructor's arguments, and ``prepare(layer)``, which copies the weights in
    or says what is wrong.
    """
    if not isinstance(cls, type):
        if isinstance(cls, nn.Module):
            raise TypeError(
                f"{checker} expects the class itself, not an instance: write "
                f"{checker}({type(cls).__name__}), not {checker}({example})"
            )
        raise TypeError(f"{checker} expects a class, got {type(cls).__name__} {cls!r}")
    hints["construction"] = cls.__name__ + hints["construction"]

    def build(*args: Any, **kwargs: Any) -> nn.Module:
        layer = cls(*args, **kwargs)
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{cls.__name__} must be a subclass of nn.Module")
        return layer.double()

    def run(setup: LayerSetup) -> Case:
        case, args, kwargs, prepare = reference(setup)
        layer = attempt(build, *args, **kwargs)
        if isinstance(layer, Raised):
            parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
            case.problem = f"{cls.__name__}({', '.join(parts)}) raised {layer.message}"
            case.got, case.broken = layer, "construction"
            return case
        if prepare and (problem := prepare(layer)):
            case.problem, case.got, case.broken = problem, Raised(problem), "structure"
            return case
        xb = case.config["xb"]
        with torch.no_grad():
            case.got = attempt(layer, (xb[0] if setup.unbatched else xb).clone())
            if setup.unbatched:
                case.as_batch = attempt(layer, xb.clone())
        case.problem = describe(case.got, case.expected)
        case.result = "" if case.problem else shape(case.got)
        return case

    def hint(cases: list[Case]) -> str:
        return layer_hint(cases, mistakes, **hints)

    title = f"Checking {cls.__name__} against {twin}, in float64:"
    return run_checks(title, twin, setups, run, hint)


def shape_hint(cases: Sequence[Case], sizes: str) -> str | None:
    """'wrong output length' for the first case whose output has the wrong size."""
    for case in cases:
        if isinstance(case.got, Tensor) and case.got.shape != case.expected.shape:
            return (
                f"wrong output {sizes}: got {shape(case.got)}, expected "
                f"{shape(case.expected)}; each spatial size is "
                "floor((L + 2p - k) / s) + 1"
            )
    return None


def layer_hint(
    cases: list[Case],
    mistakes: Sequence[Mistake],
    construction: str,
    generic: str,
    structure: str = "",
    sizes: str = "length",
) -> str:
    """The hint of a layer check: the batched configurations, then the unbatched.

    Mistakes are looked for on the batched ones alone, so that a layer that also
    lacks unbatched input gets both hints.
    """
    built = [case for case in cases if case.broken == "construction"]
    if built:
        message = built[0].got.message
        if message.startswith("TypeError") and "argument" in message:
            return f"the class must be built as {construction}, with these defaults"
        return error_hint(built) or ""
    if any(case.broken for case in cases):
        return structure

    def fallback(some: list[Case]) -> str:
        return shape_hint(some, sizes) or error_hint(some) or generic

    batch = [case for case in cases if not case.config["unbatched"]]
    found, hints = None, []
    if any(not case.ok for case in batch):
        found = next((m for m in mistakes if matches(m, batch)), None)
        hints.append(found.hint if found else fallback(batch))
    for case in cases:
        if case.ok or not case.config["unbatched"]:
            continue
        # What the sample gives as a batch of one, against what it should give
        # (with the mistake already named): if that matches, the unbatched input
        # is a problem of its own.
        should = case.expected.unsqueeze(0)
        if found and found.simulate:
            one = Case(case.label, {**case.config, "unbatched": False}, should)
            should = attempt(found.simulate, one)
        elif found and found.fails and found.fails(case.config):
            should = case.as_batch  # the same mistake, already named
        if not same(case.as_batch, should):
            if not hints:
                hints.append(
                    "a batch of one sample gives a wrong result: " + fallback([case])
                )
        elif isinstance(case.got, Raised):
            hints.append(
                "unbatched input not handled: the layer must also accept one sample "
                "without the batch dimension, as torch.nn does; add it with "
                "x.unsqueeze(0) and remove it at the end with out.squeeze(0)"
            )
        elif same(case.got, case.as_batch):
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
