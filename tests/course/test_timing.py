"""book_src.timing on a tiny, fast run: its machinery, tables and figures (chapter 6).

Not its timings: those depend on the machine. ``tests/tools/test_bench.py`` tests
what ``make bench`` adds on top (targets, extra rounds, epochs, files).
"""

from __future__ import annotations

import copy
import re

import pytest
import torch
import torch.nn.functional as F

from book_src import plots, timing

from helpers import ROOT, sanitize

# The slowest implementations (original and unbind, loops like "loop") are left
# out: a loop training step takes a while on a busy machine.
IMPLS = ("loop", "taps", "im2col", "torch.nn")
FAST = ("taps", "im2col", "torch.nn")
TINY = dict(batch_size=4, repeats=2, min_seconds=0.0, progress=False)


@pytest.fixture(scope="module")
def result() -> timing.Timings:
    layer = dict(channels=(2, 3), **TINY)
    measurements = timing.time_train_steps(["cnn1d"], IMPLS, **TINY)
    measurements += timing.time_layers(1, (8, 16), IMPLS, **layer)
    measurements += timing.time_layers(2, (4,), IMPLS, **layer)
    measurements += timing.time_layers(2, (6,), FAST, **layer)  # no loop at 6x6
    memory = {
        f"Conv{ndim}D": timing.peak_memories(
            ndim, sizes, FAST, batch_size=4, channels=(2, 3)
        )
        for ndim, sizes in ((1, (8, 16)), (2, (4,)))
    }
    return timing.Timings(measurements, memory, batch_size=4, channels=(2, 3))


def test_every_case_has_every_implementation(result):
    by_case: dict[tuple[str, str], list[str]] = {}
    for m in result.measurements:
        by_case.setdefault((m.benchmark, m.case), []).append(m.implementation)
    for benchmark in ("layer", "forward", "backward"):
        for case in ("Conv1D L=8", "Conv1D L=16", "Conv2D 4x4"):
            assert by_case[benchmark, case] == list(IMPLS)
        assert by_case[benchmark, "Conv2D 6x6"] == list(FAST)
    assert by_case["train step", "cnn1d"] == list(IMPLS)
    assert ("train step", "cnn2d") not in by_case
    for m in result.measurements:
        assert all(s > 0 for s in m.seconds)
        assert len(m.seconds) == 2
    assert result.device == "cpu"
    assert result.threads == torch.get_num_threads()
    assert result.implementations == list(IMPLS)


def test_forward_and_backward_add_up_to_the_layer(result):
    for impl in IMPLS:
        layer = result.find("layer", "Conv1D L=8", impl).seconds
        forward = result.find("forward", "Conv1D L=8", impl).seconds
        backward = result.find("backward", "Conv1D L=8", impl).seconds
        assert layer == pytest.approx([f + b for f, b in zip(forward, backward)])


def test_ratios_are_ratios_of_medians(result):
    loop = result.find("train step", "cnn1d", "loop")
    torch_nn = result.find("train step", "cnn1d", "torch.nn")
    assert loop.median == sum(loop.seconds) / 2  # the median of two values
    assert (loop.min, loop.max) == (min(loop.seconds), max(loop.seconds))
    assert result.ratio(loop, None, "torch.nn") == pytest.approx(
        loop.median / torch_nn.median
    )
    assert result.ratio(loop, "loop", None) == 1.0
    assert (
        result.ratio(result.find("layer", "Conv2D 6x6", "taps"), "loop", None) is None
    )
    with pytest.raises(KeyError):
        result.find("train step", "cnn3d", "loop")


def test_table_is_stable_apart_from_times(result):
    """What a notebook prints must not change between runs once sanitized."""
    # Another run, with times from 1000 times shorter to 100 times longer.
    again = copy.deepcopy(result)
    for k, m in enumerate(again.measurements):
        m.seconds = [s * 10.0 ** (k % 6 - 3) * 1.37 for s in m.seconds]
    table = timing.format_table(result)
    assert sanitize(table) == sanitize(timing.format_table(again))
    assert "Measured on cpu" in table
    for impl in IMPLS:
        assert f"| {impl}" in table
    assert "<time> | <time> | <time> | 2 | <ratio>x | <ratio>x" in sanitize(table)
    medians = timing.format_medians(result, "backward")
    assert medians.splitlines()[0] == "backward    | " + " | ".join(IMPLS)
    assert "Conv2D 6x6  | - | " in medians  # the loop was not timed there
    assert sanitize(medians) == sanitize(timing.format_medians(again, "backward"))
    taps = timing.Timings(
        [m for m in result.measurements if m.implementation == "taps"]
    )
    only = timing.format_table(taps, benchmarks=["forward"])
    assert "forward pass" in only and "backward" not in only
    assert "| taps " in only and "| im2col " not in only


def test_figures_have_white_backgrounds(result):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    for plot in (plots.plot_step_times, plots.plot_scaling, plots.plot_memory):
        fig = plot(result)
        assert fig.axes
        assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
        matplotlib.pyplot.close(fig)
    fig = plots.plot_scaling(result, IMPLS)
    # forward and backward apart, 1D and 2D, with slope-1 and slope-2 lines
    assert [ax.get_title().split(", ")[1] for ax in fig.axes] == [
        "forward",
        "backward",
        "forward",
        "backward",
    ]
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == [*IMPLS, "slope 1", "slope 2"]
    matplotlib.pyplot.close(fig)


def test_peak_memories_of_the_fast_implementations(result):
    assert set(result.memory) == {"Conv1D", "Conv2D"}
    peaks = result.memory["Conv1D"]
    assert set(peaks) == set(FAST)
    for by_size in peaks.values():
        assert set(by_size) == {8, 16}
        # at least the output and the input's gradient: (4, 3, L) + (4, 2, L)
        assert all(b >= 4 * 5 * size * 4 for size, b in by_size.items())
        assert by_size[16] > by_size[8]


@pytest.mark.parametrize("ndim", [1, 2])
def test_original_baseline_computes_a_convolution(ndim):
    """The baseline times the same work: same result as torch.nn, same weights."""
    torch.manual_seed(0)
    original = timing.conv_class("original", ndim)(3, 4, kernel_size=3, padding=1)
    original.stride = 2
    x = torch.randn(2, 3, *(8,) * ndim)
    weight = original.kernel.weight.view(4, 3, *(3,) * ndim)
    conv = F.conv1d if ndim == 1 else F.conv2d
    expected = conv(x, weight, original.kernel.bias, stride=2, padding=1)
    torch.testing.assert_close(original(x), expected)


@pytest.mark.parametrize("impl", timing.IMPLEMENTATIONS)
@pytest.mark.parametrize("ndim", [1, 2])
def test_every_implementation_computes_the_same_layer(impl, ndim):
    layer, x, _ = timing.layer_and_data(impl, ndim, 6, batch_size=2, channels=(2, 3))
    reference, same_x, _ = timing.layer_and_data("torch.nn", ndim, 6, 2, (2, 3))
    assert torch.equal(x, same_x)
    torch.testing.assert_close(layer(x), reference(x))


def test_conv_class_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown implementation"):
        timing.conv_class("numpy", 1)
    with pytest.raises(ValueError, match="unknown implementation"):
        timing.conv_class("loop", 3)


def test_book_src_does_not_import_tools():
    for path in (ROOT / "book_src").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) tools\b", text, re.M), path.name
