"""Chapter 1's checker for ``fn(length, kernel_size, stride, padding)``."""

from __future__ import annotations

import numbers
from collections.abc import Callable

from book_src.exercises import engine
from book_src.exercises.engine import Case, Mistake, Raised
from book_src.layers import output_size

ARGUMENTS = "(length, kernel_size, stride, padding)"
#: Odd and even lengths, strides and paddings.
CASES = [
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


def formula(hint: str, fn: Callable[[int, int, int, int], int]) -> Mistake:
    """A mistake known by the formula of ``(L, k, s, p)`` it computes."""
    return Mistake(hint, simulate=lambda case: fn(*case.config["args"]))


MISTAKES = [
    Mistake(
        "padding missing: the padded input is L + 2 * padding long",
        fails=lambda c: c["args"][3] > 0,
    ),
    Mistake(
        "stride ignored: the window starts move by stride, so divide by it",
        fails=lambda c: c["args"][2] > 1,
    ),
    formula(
        "padding counted once: it is added at both ends, L + 2 * padding",
        lambda L, k, s, p: (L + p - k) // s + 1,
    ),
    formula(
        "off-by-one: the first window counts too, add 1 after dividing: "
        "floor((L + 2p - k) / s) + 1",
        lambda L, k, s, p: (L + 2 * p - k) // s,
    ),
    formula(
        "off-by-one: a window of k numbers starts at most at L + 2p - k, "
        "so the formula has - k, not - (k - 1)",
        lambda L, k, s, p: (L + 2 * p - k + 1) // s + 1,
    ),
    formula(
        "rounding up: a last window that does not fit is not counted, "
        "round the division down (//)",
        lambda L, k, s, p: -(-(L + 2 * p - k) // s) + 1,
    ),
    formula(
        "the original course's h // stride: that is right only for one choice of "
        "kernel and padding; use floor((L + 2p - k) / s) + 1",
        lambda L, k, s, p: L // s,
    ),
    formula(
        "stride and padding swapped: the function is called as "
        "fn(length, kernel_size, stride, padding)",
        lambda L, k, s, p: (L + 2 * s - k) // p + 1,
    ),
]


def check_output_size(fn: Callable[[int, int, int, int], int]) -> bool:
    """Check ``fn(length, kernel_size, stride, padding)`` against ``output_size``.

    ``fn`` must return an int.
    """
    name = engine.check_callable(fn, "check_output_size", f"fn{ARGUMENTS}")

    def run(args: tuple[int, int, int, int]) -> Case:
        case = Case(f"{name}{args}", {"args": args}, output_size(*args))
        case.got = got = engine.attempt(fn, *args)
        if isinstance(got, Raised):
            case.problem = f"raised {got.message}"
        elif isinstance(got, bool) or not isinstance(got, numbers.Integral):
            case.problem = f"{got!r}, a {type(got).__name__}: expected the int "
            case.problem += str(case.expected)
        else:
            case.got = int(got)
            case.result = str(case.got)
            if case.got != case.expected:
                case.problem = f"{case.got}, expected {case.expected}"
        return case

    def hint(cases: list[Case]) -> str | None:
        if any(isinstance(c.got, float) for c in cases):
            return (
                "return an int: / divides into a float; floor division // "
                "rounds down and keeps an int"
            )
        return (
            engine.diagnose(cases, MISTAKES)
            or engine.error_hint(cases)
            or "count the window starts 0, s, 2s, ... up to L + 2p - k: "
            "floor((L + 2p - k) / s) + 1"
        )

    title = f"Checking {name}{ARGUMENTS}:"
    return engine.run_checks(title, "output_size", CASES, run, hint)
