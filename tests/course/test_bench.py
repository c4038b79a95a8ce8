"""The benchmark's machinery on a tiny, fast configuration (not its timings).

The verdict logic is tested on made-up timings: a target is met, missed, or
inconclusive when the spreads of its two implementations straddle the bound.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from book_src import bench, layers
from tools import bench as bench_cli

# The slowest implementations (original and unbind, loops like "loop") are
# left out of the run: a loop training step takes a while on a busy machine.
IMPLS = ("loop", "taps", "im2col", "torch.nn")
TINY = bench.BenchConfig(
    implementations=IMPLS,
    models=("cnn1d",),
    batch_size=4,
    repeats=2,
    max_repeats=2,
    min_seconds=0.0,
    layer_channels=(2, 3),
    lengths_1d=(8, 16),
    sides_2d=(4, 6),
    slow_max_size=(16, 4),
    memory_lengths_1d=(8, 16),
    memory_sides_2d=(4,),
    targets=(
        bench.Target("train step", "cnn1d", "im2col", "torch.nn", 100.0, True),
        bench.Target("layer", "Conv1D L=16", "loop", "im2col", 1e-6, False),
    ),
    epoch=True,
    epoch_batches=2,
    loop_epoch_batches=1,
    device="cpu",
)


def tiny_epoch_data():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(12, 1, 28, 28, generator=generator)
    return images, torch.randint(0, 10, (12,), generator=generator)


@pytest.fixture(scope="module")
def result() -> bench.BenchResult:
    return bench.run_benchmark(TINY, epoch_data=tiny_epoch_data(), progress=False)


# --- Statistics and verdicts, on made-up timings ----------------------------


def test_median_interval_widens_to_min_max_for_few_samples():
    assert bench.median_interval([5, 1, 4, 2, 3]) == (1, 5)  # 93.75 % >= 90 %
    assert bench.median_interval([3, 1, 2]) == (1, 3)  # all there is
    assert bench.median_interval([7.0]) == (7.0, 7.0)
    # 9 samples: the second smallest and second largest (96 %).
    assert bench.median_interval(range(9)) == (1, 7)
    # More samples narrow it: 15 samples, (x[3], x[11]) covers 96.5 %.
    assert bench.median_interval(range(15)) == (3, 11)
    assert bench.median_interval(range(15), confidence=0.99) == (2, 12)


AT_MOST = bench.Target("train step", "cnn1d", "im2col", "torch.nn", 1.2, True)
AT_LEAST = bench.Target("layer", "Conv1D L=2048", "loop", "unbind", 2.5, False)


@pytest.mark.parametrize(
    ("target", "seconds", "reference", "verdict"),
    [
        # ratios 1.0 to 1.1, all under 1.2
        (AT_MOST, [10, 10.5, 11, 10.2, 10.4], [10, 10, 10, 10, 10], "met"),
        # ratios all above 1.2
        (AT_MOST, [13, 13.5, 14, 13.2, 13.4], [10, 10, 10, 10, 10], "missed"),
        # median 1.15 (met on the median alone) but the spreads reach 1.3
        (AT_MOST, [11.5, 11.5, 11.5, 11.5, 13], [10, 10, 10, 10.5, 10], "inconclusive"),
        # median 1.25 (missed on the median) but the spreads reach 1.0
        (
            AT_MOST,
            [12.5, 12.5, 12.5, 10.5, 12.5],
            [10, 10, 10, 10.5, 10],
            "inconclusive",
        ),
        # speed-ups: at least 2.5x
        (AT_LEAST, [30, 31, 29, 30, 30], [10, 10, 10, 10, 10], "met"),
        (AT_LEAST, [20, 21, 19, 20, 20], [10, 10, 10, 10, 10], "missed"),
        (AT_LEAST, [26, 26, 26, 26, 26], [10, 10, 11, 10, 10], "inconclusive"),
    ],
)
def test_verdicts(target, seconds, reference, verdict):
    v = bench.judge(target, seconds, reference)
    assert v.verdict == verdict
    assert v.low <= v.ratio <= v.high
    assert v.ratio == pytest.approx(sorted(seconds)[2] / sorted(reference)[2])
    # the interval holds both spreads: fastest over slowest, slowest over fastest
    assert v.low == pytest.approx(min(seconds) / max(reference))
    assert v.high == pytest.approx(max(seconds) / min(reference))


class NoBar:
    def update(self, n):
        pass


def test_inconclusive_targets_get_more_rounds_until_decided():
    """Extra rounds time only the target's two implementations, until decided."""
    # "a" runs once to calibrate, then 1.3 and 0.9 s (its ratio to "b" straddles
    # 1.2), then 1.0 s every time: with 8 samples the median's interval drops the
    # extremes, and the target is met.
    a_times = iter([1.0, 1.3, 0.9] + [1.0] * 20)
    fns = {
        "a": lambda: (next(a_times),),
        "b": lambda: (1.0,),
        "c": lambda: (1.0,),
    }
    target = bench.Target("train step", "m", "a", "b", 1.2, True)
    samples = bench._interleaved(
        fns,
        repeats=2,
        min_seconds=0.0,
        bar=NoBar(),
        more=bench._more_for([target], "train step", "m"),
        max_repeats=15,
    )
    assert len(samples["c"]) == 2  # in no target: no extra rounds
    assert len(samples["a"]) == len(samples["b"]) == 8
    a = [s[0] for s in samples["a"]]
    b = [s[0] for s in samples["b"]]
    assert bench.judge(target, a, b).verdict == "met"
    assert bench.judge(target, a[:-1], b[:-1]).verdict == "inconclusive"


def test_extra_rounds_stop_at_max_repeats_and_deadline():
    fns = {"a": lambda: (1.0,), "b": lambda: (1.0,)}

    def always(samples):
        return ["a", "b"]

    samples = bench._interleaved(fns, 2, 0.0, NoBar(), always, max_repeats=6)
    assert len(samples["a"]) == 6
    samples = bench._interleaved(fns, 2, 0.0, NoBar(), always, 6, deadline=0.0)
    assert len(samples["a"]) == 2


# --- The tiny run -----------------------------------------------------------


def test_every_case_has_every_implementation(result):
    by_case: dict[tuple[str, str], list[str]] = {}
    for m in result.measurements:
        by_case.setdefault((m.benchmark, m.case), []).append(m.implementation)
    fast = [i for i in IMPLS if i not in bench.SLOW_IMPLEMENTATIONS]
    for benchmark in ("layer", "forward", "backward"):
        for case in ("Conv1D L=8", "Conv1D L=16", "Conv2D 4x4"):
            assert by_case[benchmark, case] == list(IMPLS)
        # the position loops only up to slow_max_size: 4 in 2D
        assert by_case[benchmark, "Conv2D 6x6"] == fast
    for benchmark in ("train step", "epoch"):
        assert by_case[benchmark, "cnn1d"] == list(IMPLS)
        assert (benchmark, "cnn2d") not in by_case  # not in TINY.models
    for m in result.measurements:
        assert all(s > 0 for s in m.seconds)
        assert len(m.seconds) == (1 if m.benchmark == "epoch" else 2)
    assert result.device == "cpu"
    assert result.threads == torch.get_num_threads()


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
    assert result.ratio("train step", "cnn1d", "loop", "torch.nn") == pytest.approx(
        loop.median / torch_nn.median
    )
    row = next(
        r
        for r in result.rows()
        if (r["benchmark"], r["case"], r["implementation"])
        == ("train step", "cnn1d", "loop")
    )
    assert row["time_over_torch_nn"] == pytest.approx(
        loop.median / torch_nn.median, rel=1e-2
    )
    assert row["loop_time_over_time"] == 1.0
    assert row["min_ms"] <= row["median_ms"] <= row["max_ms"]
    with pytest.raises(KeyError):
        result.ratio("train step", "cnn3d", "loop", "torch.nn")


def test_the_run_judges_its_targets(result):
    verdicts = result.verdicts()
    assert [(v.target.case, v.verdict) for v in verdicts] == [
        ("cnn1d", "met"),  # im2col within 100x of torch.nn
        ("Conv1D L=16", "met"),  # loop at least 1e-6 times im2col's time
    ]
    report = bench.format_verdicts(result)
    assert "train step, cnn1d: im2col / torch.nn = " in report
    assert "target <= 100.0x): met" in report
    assert "set for a 2-core CPU" not in report
    on_gpu = bench.format_verdicts(dataclasses.replace(result, device="cuda"))
    assert "these targets were set for a 2-core CPU; on cuda" in on_gpu


def test_epoch_note_says_when_it_is_not_a_full_epoch(result):
    estimated = "estimated: first 1 of 3 batches timed, scaled to a full epoch"
    assert result.find("epoch", "cnn1d", "loop").note == estimated
    table = bench.format_table(result)
    assert f"(loop: {estimated})" in table
    assert "(taps, im2col, torch.nn: estimated: first 2 of 3 batches" in table
    measurements = bench.time_epochs(
        ["cnn2d"],
        *tiny_epoch_data(),
        ["loop", "torch.nn"],
        batch_size=4,
        loop_max_batches=1,
        progress=False,
    )
    notes = [m.note for m in measurements]
    assert notes == [
        "estimated: first 1 of 3 batches timed, scaled to a full epoch",
        "full epoch: 3 batches",
    ]


def sanitize(text: str) -> str:
    """Apply the notebook tests' sanitizer rules (tests/nbval_sanitize.cfg)."""
    config = (Path(__file__).resolve().parents[1] / "nbval_sanitize.cfg").read_text()
    pairs = re.findall(r"^regex: (.*)\nreplace: (.*)$", config, flags=re.M)
    for pattern, replacement in pairs:
        text = re.sub(pattern, replacement, text)
    return text


def test_table_is_stable_apart_from_times(result):
    """What a notebook prints must not change between runs once sanitized."""
    # Another run, with times from 1000 times shorter to 100 times longer.
    again = copy.deepcopy(result)
    for k, m in enumerate(again.measurements):
        m.seconds = [s * 10.0 ** (k % 6 - 3) * 1.37 for s in m.seconds]
    table = bench.format_table(result)
    assert sanitize(table) == sanitize(bench.format_table(again))
    assert "Measured on cpu" in table
    for impl in IMPLS:
        assert f"| {impl}" in table
    assert "<time> | <time> | <time> | 2 | <ratio>x | <ratio>x" in sanitize(table)
    aligned = bench.format_table(result, align=True)
    assert len({len(line) for line in aligned.splitlines()[3:8]}) == 1
    medians = bench.format_medians(result, "backward")
    assert medians.splitlines()[0] == "backward    | " + " | ".join(IMPLS)
    assert "Conv2D 6x6  | - | " in medians  # the loop was not timed there
    assert sanitize(medians) == sanitize(bench.format_medians(again, "backward"))
    only = bench.format_table(result, benchmarks=["forward"], implementations=["taps"])
    assert "forward pass" in only and "backward" not in only
    assert "| taps " in only and "| im2col " not in only


def test_format_time_and_bytes():
    assert bench.format_time(2.345) == "2.35 s"
    assert bench.format_time(0.0431) == "43.1 ms"
    assert bench.format_time(0.000512) == "512 µs"
    assert bench.format_bytes(271_581_184) == "271.6 MB"
    assert bench.format_bytes(-1_050_000) == "-1.1 MB"
    assert bench.format_bytes(2_500) == "2.5 kB"
    assert bench.format_bytes(512) == "512 B"


def test_figures_have_white_backgrounds(result):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    for plot in (bench.plot_step_times, bench.plot_scaling, bench.plot_memory):
        fig = plot(result)
        assert fig.axes
        assert fig.get_facecolor() == (1.0, 1.0, 1.0, 1.0)
        matplotlib.pyplot.close(fig)
    fig = bench.plot_scaling(result, IMPLS)
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


# --- The profiler and memory ------------------------------------------------


def test_profile_shows_one_zero_filled_slice_gradient_per_window():
    layer = layers.Conv1D(2, 3, 3, padding=1)
    x = torch.randn(4, 2, 10, requires_grad=True)
    passes = bench.profile_passes(lambda: layer(x), torch.randn(4, 3, 10))
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
    table = bench.format_profile(backward, limit=3, names=["aten::slice_backward"])
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
    again = bench.profile_passes(lambda: layer(x), torch.randn(4, 3, 10))
    assert sanitize(bench.format_profile(again["backward"])) == sanitize(
        bench.format_profile(backward)
    )
    assert "backward" not in bench.profile_passes(lambda: layer(x))


@pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="PyTorch built without oneDNN"
)
def test_onednn_reports_its_convolutions():
    conv = torch.nn.Conv1d(4, 8, 3, padding=1)
    x = torch.randn(2, 4, 16, requires_grad=True)
    primitives = bench.onednn_primitives(lambda: conv(x).sum().backward())
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
    assert bench.onednn_primitives(lambda: conv64(x64)) == []


def test_peak_memory_counts_what_the_function_holds_at_once():
    def two_then_one():
        a = torch.empty(1_000_000, dtype=torch.uint8)
        b = torch.empty(2_000_000, dtype=torch.uint8)
        del a, b
        c = torch.empty(500_000, dtype=torch.uint8)
        return c

    assert 3_000_000 <= bench.peak_memory(two_then_one) < 3_100_000


def test_peak_memories_of_the_fast_implementations(result):
    assert set(result.memory) == {"Conv1D", "Conv2D"}
    peaks = result.memory["Conv1D"]
    assert set(peaks) == {"taps", "im2col", "torch.nn"}
    for by_size in peaks.values():
        assert set(by_size) == {8, 16}
        # at least the output and the input's gradient: (4, 3, L) + (4, 2, L)
        assert all(b >= 4 * 5 * size * 4 for size, b in by_size.items())
        assert by_size[16] > by_size[8]


# --- The rest ---------------------------------------------------------------


@pytest.mark.parametrize("ndim", [1, 2])
def test_original_baseline_computes_a_convolution(ndim):
    """The baseline times the same work: same result as torch.nn, same weights."""
    torch.manual_seed(0)
    original = bench.conv_class("original", ndim)(3, 4, kernel_size=3, padding=1)
    original.stride = 2
    x = torch.randn(2, 3, *(8,) * ndim)
    weight = original.kernel.weight.view(4, 3, *(3,) * ndim)
    conv = F.conv1d if ndim == 1 else F.conv2d
    expected = conv(x, weight, original.kernel.bias, stride=2, padding=1)
    torch.testing.assert_close(original(x), expected)


@pytest.mark.parametrize("impl", bench.IMPLEMENTATIONS)
@pytest.mark.parametrize("ndim", [1, 2])
def test_every_implementation_computes_the_same_layer(impl, ndim):
    layer = bench._layer(impl, ndim, (2, 3), 3, "cpu", seed=0)
    reference = bench._layer("torch.nn", ndim, (2, 3), 3, "cpu", seed=0)
    x = torch.randn(2, 2, *(6,) * ndim)
    torch.testing.assert_close(layer(x), reference(x))


def test_conv_class_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown implementation"):
        bench.conv_class("numpy", 1)
    with pytest.raises(ValueError, match="unknown implementation"):
        bench.conv_class("loop", 3)


def test_count_calls_and_graph_size():
    conv = bench.conv_class("loop", 1)(1, 2, kernel_size=3)
    x = torch.randn(1, 1, 7)
    counts = bench.count_calls(lambda: conv(x))
    assert counts["torch.nn.functional.linear"] == 5  # one per window position
    assert bench.graph_size(conv(x)) > bench.graph_size(
        bench.conv_class("im2col", 1).from_torch(conv.to_torch())(x)
    )


# --- The command line (tools/bench.py) --------------------------------------


def test_saved_csv_and_json(result, tmp_path: Path):
    csv_path, json_path = bench_cli.save(result, tmp_path / "bench")
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(result.measurements)
    assert {r["implementation"] for r in rows} == set(IMPLS)
    data = json.loads(json_path.read_text())
    assert data["device"] == "cpu"
    assert data["threads"] == torch.get_num_threads()
    assert data["torch"] == torch.__version__
    assert data["config"]["batch_size"] == 4
    assert len(data["measurements"]) == len(result.measurements)
    assert data["measurements"][0]["seconds"] == result.measurements[0].seconds
    assert [v["verdict"] for v in data["verdicts"]] == ["met", "met"]
    assert data["peak_bytes"]["Conv1D"]["taps"]["8"] > 0


def test_main_writes_table_and_files(result, monkeypatch, tmp_path, capsys):
    configs, threads = [], []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    monkeypatch.setattr(
        bench, "run_benchmark", lambda config: configs.append(config) or result
    )
    assert bench_cli.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Training step" in out and "Targets" in out
    assert re.search(r"\|\s+min \|\s+median \|\s+max \|", out)
    for name in ("bench.csv", "bench.json", "train_step.png", "scaling.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "memory.png").stat().st_size > 0
    assert configs == [bench.BenchConfig()]  # the full benchmark by default
    assert configs[0].epoch is False  # epochs only on request: minutes
    bench_cli.main(["--out", str(tmp_path), "--quick", "--device", "cpu"])
    assert configs[1].sides_2d == (8, 16) and configs[1].max_repeats == 2
    bench_cli.main(["--out", str(tmp_path), "--epochs", "--epoch-batches", "5"])
    assert configs[2].epoch and configs[2].epoch_batches == 5
    assert threads == [1, 1, 1]  # one thread by default: see tools/bench.py
    bench_cli.main(["--out", str(tmp_path), "--threads", "2"])
    assert threads[-1] == 2


def test_book_src_does_not_import_tools():
    root = Path(bench.__file__).parent
    for path in root.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) tools\b", text, re.M), path.name


def test_mnist_training_split_is_make_loaders_training_split():
    from book_src.data import mnist
    from book_src.training import make_loaders

    images, labels = bench.mnist_training_split(seed=0)
    assert images.shape == (48_000, 1, 28, 28) and labels.shape == (48_000,)
    assert images.dtype == torch.float32 and 0 <= images.min() < images.max() <= 1
    train = make_loaders(mnist(train=True), mnist(train=False), seed=0).train.dataset
    for i in (0, 1, 23_456, 47_999):
        image, label = train[i]
        torch.testing.assert_close(images[i], image, rtol=0, atol=0)
        assert labels[i] == label
