"""book_src.profiling: counting calls, the profiler's view, peak memory (chapter 6)."""

from __future__ import annotations

import re

import pytest
import torch

from book_src import layers, profiling, timing

from helpers import sanitize


def test_format_time_and_bytes():
    assert profiling.format_time(2.345) == "2.35 s"
    assert profiling.format_time(0.0431) == "43.1 ms"
    assert profiling.format_time(0.000512) == "512 µs"
    assert profiling.format_bytes(271_581_184) == "271.6 MB"
    assert profiling.format_bytes(-1_050_000) == "-1.1 MB"
    assert profiling.format_bytes(2_500) == "2.5 kB"
    assert profiling.format_bytes(512) == "512 B"


def test_profile_shows_one_zero_filled_slice_gradient_per_window():
    layer = layers.Conv1D(2, 3, 3, padding=1)
    x = torch.randn(4, 2, 10, requires_grad=True)
    passes = profiling.profile_passes(lambda: layer(x), torch.randn(4, 3, 10))
    forward, backward = passes["forward"], passes["backward"]
    assert forward.row("aten::linear").calls == 10  # one per window
    assert backward.row("aten::slice_backward").calls == 10
    assert backward.row("aten::zeros").calls >= 10
    # each slice gradient is as large as the padded input: 4 x 2 x 12 floats
    assert backward.row("aten::empty").self_bytes >= 10 * 4 * 2 * 12 * 4
    assert forward.seconds > forward.outside_seconds > 0
    assert backward.row("no such operation").calls == 0
    # No autograd-engine wrappers: each backward node is listed by its own name.
    assert all("evaluate_function" not in r.name for r in backward.rows)
    assert backward.row("SliceBackward0").calls == 10
    table = profiling.format_profile(backward, limit=3, names=["aten::slice_backward"])
    lines = table.splitlines()
    assert re.fullmatch(r"backward: \d+ operations, \S+ \S+ in all", lines[0])
    assert lines[1] == "operation            | calls | self memory | self time"
    assert len(lines) == 2 + 3 + 1 + 1  # header, 3 rows, slice_backward, the rest
    assert "aten::slice_backward |    10 |" in table
    assert lines[-1].startswith("... and ")
    # Rows ordered by calls, then first call: the same order every run.
    calls = [r.calls for r in backward.rows]
    assert calls == sorted(calls, reverse=True)
    names = [r.name for r in forward.rows if r.calls == 10]  # once per window
    assert names.index("aten::clone") < names.index("aten::linear")  # reshape copies
    assert names.index("aten::linear") < names.index("aten::addmm")
    # Only the times change from run to run (from the same state: no gradients).
    layer.zero_grad(set_to_none=True)
    x.grad = None
    again = profiling.profile_passes(lambda: layer(x), torch.randn(4, 3, 10))
    assert sanitize(profiling.format_profile(again["backward"])) == sanitize(
        profiling.format_profile(backward)
    )
    assert "backward" not in profiling.profile_passes(lambda: layer(x))


@pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN"
)
def test_onednn_reports_its_convolutions():
    conv = torch.nn.Conv1d(4, 8, 3, padding=1)
    x = torch.randn(2, 4, 16, requires_grad=True)
    primitives = profiling.onednn_primitives(lambda: conv(x).sum().backward())
    convolutions = [p for p in primitives if p["kind"] == "convolution"]
    assert [p["pass"] for p in convolutions] == [
        "forward_training",
        "backward_data",
        "backward_weights",
    ]
    assert all(p["algorithm"].startswith("convolution_") for p in convolutions)
    assert all(p["implementation"] for p in primitives)
    # float64 does not go through oneDNN at all
    conv64 = torch.nn.Conv1d(4, 8, 3, dtype=torch.float64)
    x64 = torch.randn(2, 4, 16, dtype=torch.float64)
    assert profiling.onednn_primitives(lambda: conv64(x64)) == []


def test_peak_memory_counts_what_the_function_holds_at_once():
    def two_then_one():
        a = torch.empty(1_000_000, dtype=torch.uint8)
        b = torch.empty(2_000_000, dtype=torch.uint8)
        del a, b
        c = torch.empty(500_000, dtype=torch.uint8)
        return c

    assert 3_000_000 <= profiling.peak_memory(two_then_one) < 3_100_000


def test_count_calls_and_graph_size():
    conv = timing.conv_class("loop", 1)(1, 2, kernel_size=3)
    x = torch.randn(1, 1, 7)
    counts = profiling.count_calls(lambda: conv(x))
    assert counts["torch.nn.functional.linear"] == 5  # one per window position
    assert profiling.graph_size(conv(x)) > profiling.graph_size(
        timing.conv_class("im2col", 1).from_torch(conv.to_torch())(x)
    )
