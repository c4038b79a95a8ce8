"""The benchmark's machinery on a tiny, fast configuration (not its timings)."""

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

from book_src import bench

TINY = bench.BenchConfig(
    batch_size=4,
    repeats=2,
    min_seconds=0.0,
    layer_channels=(2, 3),
    lengths_1d=(8, 16),
    sides_2d=(4, 6),
    layer_repeats=2,
    epoch_batches=2,
    device="cpu",
)


def tiny_epoch_data():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(12, 1, 28, 28, generator=generator)
    return images, torch.randint(0, 10, (12,), generator=generator)


@pytest.fixture(scope="module")
def result() -> bench.BenchResult:
    return bench.run_benchmark(TINY, epoch_data=tiny_epoch_data(), progress=False)


def test_every_case_has_every_implementation(result):
    cases = {(m.benchmark, m.case) for m in result.measurements}
    assert cases == {
        ("train step", "cnn1d"),
        ("train step", "cnn2d"),
        ("layer", "Conv1D L=8"),
        ("layer", "Conv1D L=16"),
        ("layer", "Conv2D 4x4"),
        ("layer", "Conv2D 6x6"),
        ("epoch", "cnn1d"),
        ("epoch", "cnn2d"),
    }
    for benchmark, case in cases:
        found = [
            m.implementation
            for m in result.measurements
            if (m.benchmark, m.case) == (benchmark, case)
        ]
        assert found == list(bench.IMPLEMENTATIONS), (benchmark, case)
    for m in result.measurements:
        assert all(s > 0 for s in m.seconds)
        assert len(m.seconds) == (1 if m.benchmark == "epoch" else 2)
    assert result.device == "cpu"
    assert result.threads == torch.get_num_threads()


def test_ratios_are_ratios_of_medians(result):
    loop = result.find("train step", "cnn1d", "loop")
    torch_nn = result.find("train step", "cnn1d", "torch.nn")
    assert loop.median == sum(loop.seconds) / 2  # the median of two values
    assert result.ratio("train step", "cnn1d", "loop", "torch.nn") == pytest.approx(
        loop.median / torch_nn.median
    )
    row = next(
        r
        for r in result.rows()
        if (r["case"], r["implementation"]) == ("cnn1d", "loop")
        and r["benchmark"] == "train step"
    )
    assert row["time_over_torch_nn"] == pytest.approx(
        loop.median / torch_nn.median, rel=1e-2
    )
    assert row["loop_time_over_time"] == 1.0
    with pytest.raises(KeyError):
        result.ratio("train step", "cnn3d", "loop", "torch.nn")


def test_epoch_note_says_when_it_is_not_a_full_epoch(result):
    estimated = "estimated: first 2 of 3 batches timed, scaled to a full epoch"
    assert result.find("epoch", "cnn1d", "loop").note == estimated
    assert f"(original, loop, vectorized, torch.nn: {estimated})" in (
        bench.format_table(result)
    )
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


def test_saved_csv_and_json(result, tmp_path: Path):
    csv_path, json_path = result.save(tmp_path / "bench")
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(result.measurements)
    assert {r["implementation"] for r in rows} == set(bench.IMPLEMENTATIONS)
    data = json.loads(json_path.read_text())
    assert data["device"] == "cpu"
    assert data["threads"] == torch.get_num_threads()
    assert data["config"]["batch_size"] == 4
    assert len(data["measurements"]) == len(result.measurements)
    assert data["measurements"][0]["seconds"] == result.measurements[0].seconds


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
    for impl in bench.IMPLEMENTATIONS:
        assert f"| {impl}" in table
    assert re.search(
        r"\| \d+(\.\d+)? (ms|µs|s) \| \d+\.\d+x \| \d+\.\d+x$", table, re.M
    )
    assert "<time> | <ratio>x | <ratio>x" in sanitize(table)
    aligned = bench.format_table(result, align=True)
    assert len({len(line) for line in aligned.splitlines()[3:8]}) == 1


def test_format_time():
    assert bench.format_time(2.345) == "2.35 s"
    assert bench.format_time(0.0431) == "43.1 ms"
    assert bench.format_time(0.000512) == "512 µs"


def test_targets_report(result):
    report = bench.format_targets(result)
    assert "cnn1d: loop / original" in report
    assert "Conv2D 64x64" not in report  # not measured in this run
    assert "set for a 2-core CPU" not in report
    on_gpu = bench.format_targets(dataclasses.replace(result, device="cuda"))
    assert "these targets were set for a 2-core CPU; on cuda" in on_gpu


def test_figures(result):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    for fig in (bench.plot_step_times(result), bench.plot_scaling(result)):
        assert fig.axes
        matplotlib.pyplot.close(fig)


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
        bench.conv_class("vectorized", 1).from_torch(conv.to_torch())(x)
    )


def test_main_writes_table_and_files(result, monkeypatch, tmp_path, capsys):
    configs = []
    monkeypatch.setattr(
        bench, "run_benchmark", lambda config: configs.append(config) or result
    )
    assert bench.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Training step" in out and "Targets" in out
    for name in ("bench.csv", "bench.json", "train_step.png", "scaling.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert configs == [bench.BenchConfig()]  # the full benchmark by default
    bench.main(["--out", str(tmp_path), "--quick", "--device", "cpu"])
    assert configs[1].sides_2d == (8, 16) and configs[1].epoch_batches == 20


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
