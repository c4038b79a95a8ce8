"""The one loop every checker runs, and what its hints are made of (every chapter).

:func:`run_checks` runs a checker's configurations, prints one line each and the
verdict, then asks the checker for a hint. A hint comes, in this order, from
which configurations fail (:class:`Mistake` with ``fails``: only the strided
ones, only those whose last window ends the input...), from a simulated mistake
where two mistakes fail the same configurations (``simulate``), or from the
error the learner's code raised. A layer's unbatched input gets its own hint.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

#: Tolerances of the comparison. Every configuration runs in float64, where a right
#: answer agrees to about 1e-15; these also accept a loop that computes in float32.
RTOL, ATOL = 1e-5, 1e-6
#: Seed of the inputs and weights: the same numbers on every run.
SEED = 0

_HIDDEN = (str(Path(torch.__file__).parent), str(Path(__file__).parent))


@dataclass(frozen=True)
class Raised:
    """An exception raised by the learner's code, or by a simulated mistake."""

    message: str

    @classmethod
    def from_error(cls, error: Exception) -> Raised:
        """Summarise ``error`` in one line, with where it happened in the user's code.

        The place is the innermost frame outside torch and this package, as a
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
            if not frame.filename.startswith(_HIDDEN)
        ]
        if frames:
            message += f" (in {frames[-1].name}, line {frames[-1].lineno})"
        return cls(message)


def attempt(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``run(*args, **kwargs)``, or a :class:`Raised` if it raised."""
    try:
        return run(*args, **kwargs)
    except Exception as error:  # the learner's bug: report it, never raise it
        return Raised.from_error(error)


def same(a: Any, b: Any) -> bool:
    """Whether two outcomes agree: both raised, equal numbers, or close tensors."""
    if isinstance(a, Raised) or isinstance(b, Raised):
        return isinstance(a, Raised) and isinstance(b, Raised)
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        if a.shape != b.shape:
            return False
        a, b = a.detach().double(), b.detach().double()
        return bool(torch.allclose(a, b, rtol=RTOL, atol=ATOL, equal_nan=True))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
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
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the learner's outcome is right."""
        return not self.problem


@dataclass(frozen=True)
class Mistake:
    """A known mistake: its hint, and how to recognise it.

    ``fails(config)`` says which configurations the mistake fails: when the
    learner's code fails exactly those, the hint names it. ``simulate(case)``
    returns what code making the mistake gives (it may raise, as that code
    would); it is kept where two mistakes fail the same configurations. With
    both, both must agree.
    """

    hint: str
    fails: Callable[[dict[str, Any]], bool] | None = None
    simulate: Callable[[Case], Any] | None = None


def matches(mistake: Mistake, cases: Sequence[Case]) -> bool:
    """Whether ``mistake`` explains the learner's outcomes on ``cases``.

    A learner whose code raises everywhere gets the error message, not a guess:
    some configuration (a failing one, for a mistake known by ``fails`` alone)
    must have returned a value.
    """
    seen = cases if mistake.simulate else [case for case in cases if not case.ok]
    if all(isinstance(case.got, Raised) for case in seen):
        return False
    if mistake.fails and any(mistake.fails(c.config) == c.ok for c in cases):
        return False
    if mistake.simulate:
        return all(same(c.got, attempt(mistake.simulate, c)) for c in cases)
    return True


def diagnose(cases: Sequence[Case], mistakes: Iterable[Mistake]) -> str | None:
    """The hint of the first mistake that explains the learner's outcomes."""
    return next((m.hint for m in mistakes if matches(m, cases)), None)


def error_hint(cases: Sequence[Case]) -> str | None:
    """A hint for a learner whose code raised, read from the error itself."""
    raised = [case.got for case in cases if isinstance(case.got, Raised)]
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


def run_checks(
    title: str,
    twin: str,
    configs: Iterable[Any],
    run: Callable[[Any], Case],
    hint: Callable[[list[Case]], str | None],
) -> bool:
    """The one loop: run each configuration, print its line, then the verdict.

    ``run(config)`` builds one :class:`Case`; the configurations take turns with
    the seeds ``SEED``, ``SEED + 1``... inside their own random state, so a
    checker leaves the caller's random numbers alone. Returns True when every
    configuration passes; otherwise prints ``hint(cases)``.
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
    failed = [case for case in cases if not case.ok]
    if not failed:
        print(f"All {len(cases)} configurations match {twin}.")
        return True
    print(f"{len(failed)} of {len(cases)} configurations differ from {twin}.")
    text = hint(cases)
    if text:
        print(f"Hint: {text}")
    return False


# --- Layers: a class built like the course's, batched and unbatched input ---


@dataclass(frozen=True)
class LayerSetup:
    """One configuration of a layer check."""

    input_shape: tuple[int, ...]  # batched shape (N, C, *spatial)
    kernel_size: int
    stride: int | None = None  # None: not passed (the default)
    padding: int | None = None
    out_channels: int = 0  # convolutions only
    unbatched: bool = False  # feed input_shape[1:]

    def kwargs(self) -> dict[str, int]:
        """Keyword arguments beyond the kernel size: only those that were set."""
        args = {"stride": self.stride, "padding": self.padding}
        return {name: value for name, value in args.items() if value is not None}

    def label(self) -> str:
        """The configuration as its line shows it."""
        size = self.input_shape[1:] if self.unbatched else self.input_shape
        text = f"input {tuple(size)}{' unbatched' if self.unbatched else ''}"
        text += f", kernel_size={self.kernel_size}"
        if self.stride is None and self.padding is None:
            return text + " (default stride, padding)"
        return text + "".join(f", {k}={v}" for k, v in self.kwargs().items())


def check_class_argument(cls: Any, checker: str, example: str) -> None:
    """Raise a TypeError unless ``cls`` is a class (an instance gets an example)."""
    if isinstance(cls, type):
        return
    if isinstance(cls, nn.Module):
        raise TypeError(
            f"{checker} expects the class itself, not an instance: write "
            f"{checker}({type(cls).__name__}), not {checker}({example})"
        )
    raise TypeError(f"{checker} expects a class, got {type(cls).__name__} {cls!r}")


def try_layer(
    case: Case,
    cls: type,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    prepare: Callable[[nn.Module], str] = lambda layer: "",
) -> Case:
    """Build the learner's layer and run it on the case's input ``config["xb"]``.

    ``prepare(layer)`` copies the reference weights in, or returns what is wrong
    with the layer's structure. An unbatched case also runs the same sample as a
    batch of one (``extra["as_batch"]``), to tell the two problems apart.
    """

    def build() -> nn.Module:
        layer = cls(*args, **kwargs)
        if not isinstance(layer, nn.Module):
            raise TypeError(f"{cls.__name__} must be a subclass of nn.Module")
        return layer.double()

    layer = attempt(build)
    if isinstance(layer, Raised):
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        case.got, case.extra["construction"] = layer, True
        case.problem = f"{cls.__name__}({', '.join(parts)}) raised {layer.message}"
        return case
    structure = prepare(layer)
    if structure:
        case.got, case.extra["structure"] = Raised("no kernel"), True
        case.problem = structure
        return case
    xb = case.config["xb"]
    with torch.no_grad():
        case.got = attempt(layer, (xb[0] if case.config["unbatched"] else xb).clone())
        if case.config["unbatched"]:
            case.extra["as_batch"] = attempt(layer, xb.clone())
    case.problem = describe(case.got, case.expected)
    case.result = "" if case.problem else shape(case.got)
    return case


def batched(case: Case, run: Callable[[Tensor], Tensor]) -> Tensor:
    """A computation on the batched input, without the batch for unbatched cases."""
    out = run(case.config["xb"])
    return out.squeeze(0) if case.config["unbatched"] else out


def shape_hint(cases: Sequence[Case], dims: int) -> str | None:
    """'wrong output length' for the first case whose output has the wrong size."""
    for case in cases:
        got, expected = case.got, case.expected
        if isinstance(got, Tensor) and got.shape != expected.shape:
            sizes = "length" if dims == 1 else "height and width"
            return (
                f"wrong output {sizes}: got {shape(got)}, expected "
                f"{shape(expected)}; each spatial size is "
                "floor((L + 2p - k) / s) + 1"
            )
    return None


def layer_hint(
    cases: list[Case],
    mistakes: Sequence[Mistake],
    construction: str,
    generic: str,
    structure: str = "",
    dims: int = 1,
) -> str:
    """The hint of a layer check: batched configurations first, then the unbatched.

    A known mistake is looked for on the batched configurations alone, so that a
    layer with one mistake there and no support for unbatched input gets both
    hints.
    """
    if any(case.extra.get("construction") for case in cases):
        errors = [c.got.message for c in cases if isinstance(c.got, Raised)]
        if errors[0].startswith("TypeError") and "argument" in errors[0]:
            return f"the class must be built as {construction}, with these defaults"
        return error_hint(cases) or ""
    if any(case.extra.get("structure") for case in cases):
        return structure
    batch = [case for case in cases if not case.config["unbatched"]]
    hints = []
    found = None
    if any(not case.ok for case in batch):
        found = next((m for m in mistakes if matches(m, batch)), None)
        hints.append(
            found.hint
            if found
            else shape_hint(batch, dims) or error_hint(batch) or generic
        )
    for case in cases:
        if case.ok or not case.config["unbatched"]:
            continue
        # What the same sample gives as a batch of one, against what it should
        # give (with the mistake already named, if any): if it matches, the
        # unbatched input is a problem of its own.
        as_batch, should = case.extra["as_batch"], case.expected.unsqueeze(0)
        if found and found.simulate:
            one = Case(case.label, {**case.config, "unbatched": False}, should)
            should = attempt(found.simulate, one)
        elif found and found.fails and found.fails(case.config):
            should = as_batch  # the same mistake, already named
        if not same(as_batch, should):
            if not hints:
                hints.append(
                    "a batch of one sample gives a wrong result: "
                    + (shape_hint([case], dims) or error_hint([case]) or generic)
                )
        elif isinstance(case.got, Raised):
            hints.append(
                "unbatched input not handled: the layer must also accept one sample "
                "without the batch dimension, as torch.nn does; add it with "
                "x.unsqueeze(0) and remove it at the end with out.squeeze(0)"
            )
        elif same(case.got, as_batch):
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
