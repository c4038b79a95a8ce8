"""Where chapter 6's time and memory go, told by PyTorch's own instruments."""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode, resolve_name
from torch.profiler import ProfilerActivity, profile, record_function

__all__ = [
    "OpRow",
    "PassProfile",
    "count_calls",
    "format_bytes",
    "format_profile",
    "format_time",
    "graph_size",
    "onednn_primitives",
    "peak_memory",
    "profile_passes",
]


# --- Counting what a forward pass does -------------------------------------


class _CallCounter(TorchFunctionMode):
    """Counts every torch function and Tensor method called while it is active."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.counts[resolve_name(func) or getattr(func, "__name__", repr(func))] += 1
        return func(*args, **(kwargs or {}))


def count_calls(fn: Callable[[], object]) -> Counter[str]:
    """How many times each torch function is called from Python while ``fn()`` runs.

    A loop over window positions shows up as counts that grow with the input.
    """
    with _CallCounter() as counter:
        fn()
    return counter.counts


def graph_size(output: Tensor) -> int:
    """Nodes of the autograd graph behind ``output``: the backward functions to run."""
    seen, stack = set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(parent for parent, _ in node.next_functions)
    return len(seen)


# --- The profiler's view ----------------------------------------------------

# Kineto, behind torch.profiler, logs a line to stderr each time a profile starts
# and stops; level 6 keeps them out of notebook outputs. It reads the level once,
# at the first profile of the process; a level the user set is left alone.
os.environ.setdefault("KINETO_LOG_LEVEL", "6")


@dataclass
class OpRow:
    """One operation of a profile (``"aten::addmm"``), summed over all its calls.

    ``self_seconds`` is the time inside it and ``self_bytes`` the memory it
    allocated minus what it freed (through PyTorch's CPU allocator), neither
    counting the operations it called.
    """

    name: str
    calls: int
    self_seconds: float
    self_bytes: int


@dataclass
class PassProfile:
    """The profile of one pass, ``"forward"`` or ``"backward"``.

    ``seconds`` is its wall time, profiler included; ``outside_seconds`` the part
    in no operation at all: Python, and the profiler's bookkeeping between them.
    """

    name: str
    seconds: float
    outside_seconds: float
    rows: list[OpRow]

    def row(self, name: str) -> OpRow:
        """The row of operation ``name``; calls 0 if it never ran."""
        for r in self.rows:
            if r.name == name:
                return r
        return OpRow(name, 0, 0.0, 0)

    @property
    def calls(self) -> int:
        """Operations run in this pass, all names together."""
        return sum(r.calls for r in self.rows)


def profile_passes(
    fn: Callable[[], Tensor], grad: Tensor | None = None
) -> dict[str, PassProfile]:
    """Profile ``fn()`` (the forward pass) and, given ``grad``, the backward pass.

    ``fn`` computes the output (``lambda: layer(x)``), ``grad`` is sent back from
    it. The autograd engine's wrappers (``autograd::engine::evaluate_function``)
    are left out: each wraps one backward node, listed under its own name.
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        with record_function("forward"):
            out = fn()
        if grad is not None:
            with record_function("backward"):
                out.backward(grad)
    passes = {}
    for event in prof.events():
        if event.cpu_parent is None and event.name in ("forward", "backward"):
            passes[event.name] = _summarise(event)
    return passes


def _summarise(marker: Any) -> PassProfile:
    """Sum the operations under one ``record_function`` marker by name.

    Rows come by calls, most first, then by first call: the same order every
    run, and it reads like the code (a forward's slice, reshape, linear...).
    """
    rows: dict[str, OpRow] = {}
    stack = sorted(marker.cpu_children, key=lambda e: e.time_range.start, reverse=True)
    while stack:  # depth first, in the order the operations started
        event = stack.pop()
        children = sorted(event.cpu_children, key=lambda e: e.time_range.start)
        stack.extend(reversed(children))
        if event.name.startswith("autograd::engine::evaluate_function"):
            continue
        row = rows.setdefault(event.name, OpRow(event.name, 0, 0.0, 0))
        row.calls += 1
        row.self_seconds += event.self_cpu_time_total / 1e6
        row.self_bytes += event.self_cpu_memory_usage
    ordered = sorted(rows.values(), key=lambda r: -r.calls)  # stable: first call
    seconds = marker.cpu_time_total / 1e6
    outside = marker.self_cpu_time_total / 1e6
    return PassProfile(marker.name, seconds, outside, ordered)


def format_bytes(n: float) -> str:
    """``"1.2 GB"``, ``"271.6 MB"``, ``"12.0 kB"`` or ``"512 B"`` (powers of 1000)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def format_profile(
    profile: PassProfile, limit: int = 12, names: Sequence[str] = ()
) -> str:
    """A profile as a text table: operation, calls, self memory, self time.

    Rows in the profile's order, the same every run, times last: ``limit`` of
    them, plus any operation in ``names``; a last line counts the rest.
    """
    shown = profile.rows[:limit]
    shown += [r for r in profile.rows[limit:] if r.name in names]
    width = max([len(r.name) for r in shown] + [len("operation")])
    lines = [
        f"{profile.name}: {profile.calls} operations, "
        f"{format_time(profile.seconds)} in all",
        f"{'operation':<{width}} | calls | self memory | self time",
    ]
    for r in shown:
        memory = format_bytes(r.self_bytes) if r.self_bytes else "-"
        lines.append(
            f"{r.name:<{width}} | {r.calls:>5} | {memory:>11} | "
            f"{format_time(r.self_seconds)}"
        )
    rest = len(profile.rows) - len(shown)
    if rest:
        lines.append(f"... and {rest} more operations, each called fewer times")
    return "\n".join(lines)


def onednn_primitives(fn: Callable[[], object]) -> list[dict[str, str]]:
    """What oneDNN itself reports running while ``fn()`` runs (CPU only).

    oneDNN, behind ``torch.nn``'s float32 convolutions on a CPU, logs each primitive
    it executes to standard output (``torch.backends.mkldnn.verbose``). One dict
    per primitive: ``kind`` (``convolution``, ``reorder``: a copy into another
    memory layout), ``implementation``, ``pass`` (``forward_training``...) and
    ``algorithm`` (or ``""``).
    """
    libc = ctypes.CDLL(None)
    sys.stdout.flush()
    libc.fflush(None)
    with tempfile.TemporaryFile() as log:
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                fn()
        finally:
            libc.fflush(None)
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    found = []
    for line in lines:
        # onednn_verbose,v1,primitive,exec,cpu,<kind>,<implementation>,<pass>,...
        fields = line.split(",")
        if fields[:5] != ["onednn_verbose", "v1", "primitive", "exec", "cpu"]:
            continue
        algorithm = next((f[4:] for f in fields if f.startswith("alg:")), "")
        keys = ("kind", "implementation", "pass")
        found.append(dict(zip(keys, fields[5:8]), algorithm=algorithm))
    return found


def peak_memory(fn: Callable[[], object]) -> int:
    """Most bytes held at once by what ``fn()`` allocates, over its whole run.

    The largest running total of the allocations and frees of PyTorch's CPU
    allocator, which the profiler records; memory held before ``fn`` runs, or
    allocated by a library outside PyTorch's allocator, is not counted.
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]"
    )
    return max(accumulate((nbytes for _, nbytes in events), initial=0))


def format_time(seconds: float) -> str:
    """``"5.12 s"``, ``"43.1 ms"`` or ``"512 µs"``."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{1000 * seconds:.1f} ms"
    return f"{1e6 * seconds:.0f} µs"
