"""tools.bench, ``make bench``: the harness on a tiny, fast configuration.

The verdict logic is tested on made-up timings: a target is met, missed, or
inconclusive when the spreads of its two implementations straddle the bound.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from pathlib import Path

import pytest
import torch

from book_src import timing
from tools import bench

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


def made_up(samples: dict[str, list[float]]) -> timing.Timings:
    return timing.Timings(
        [timing.Measurement("train step", "m", 0, n, s) for n, s in samples.items()]
    )


def test_inconclusive_targets_get_more_rounds_until_decided():
    """Extra rounds time only the target's two implementations, until decided."""
    # "a" took 1.3 and 0.9 s (its ratio to "b" straddles 1.2), then takes 1.0 s
    # every time: with 8 samples the median's interval drops the extremes, and
    # the target is met.
    timings = made_up({"a": [1.3, 0.9], "b": [1.0, 1.0], "c": [1.0, 1.0]})
    target = bench.Target("train step", "m", "a", "b", 1.2, True)
    asked = []

    def rerun(m, names):
        asked.append(names)
        return [timing.Measurement(m.benchmark, m.case, 0, n, [1.0]) for n in names]

    bench.extra_rounds(timings, [target], rerun, max_repeats=15, deadline=float("inf"))
    assert set(map(tuple, asked)) == {("a", "b")}  # in no target: no extra rounds
    assert len(timings.find("train step", "m", "c").seconds) == 2
    a = timings.find("train step", "m", "a").seconds
    b = timings.find("train step", "m", "b").seconds
    assert len(a) == len(b) == 8
    assert bench.judge(target, a, b).verdict == "met"
    assert bench.judge(target, a[:-1], b[:-1]).verdict == "inconclusive"


def test_extra_rounds_stop_at_max_repeats_and_deadline():
    target = bench.Target("train step", "m", "a", "b", 1.2, True)

    def rerun(m, names):  # "a" keeps swinging: the target stays inconclusive
        return [
            timing.Measurement("train step", "m", 0, "a", [1.5]),
            timing.Measurement("train step", "m", 0, "b", [1.0]),
        ]

    timings = made_up({"a": [1.0, 1.5], "b": [1.0, 1.0]})
    bench.extra_rounds(timings, [target], rerun, 6, deadline=float("inf"))
    assert len(timings.find("train step", "m", "a").seconds) == 6
    timings = made_up({"a": [1.0, 1.5], "b": [1.0, 1.0]})
    bench.extra_rounds(timings, [target], rerun, 6, deadline=0.0)
    assert len(timings.find("train step", "m", "a").seconds) == 2


# --- The tiny run -----------------------------------------------------------


def test_every_case_has_every_implementation(result):
    by_case: dict[tuple[str, str], list[str]] = {}
    for m in result.timings.measurements:
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
    for m in result.timings.measurements:
        assert all(s > 0 for s in m.seconds)
        assert len(m.seconds) == (1 if m.benchmark == "epoch" else 2)
    assert result.timings.device == "cpu"
    assert result.timings.threads == torch.get_num_threads()


def test_rows_hold_the_ratios_of_medians(result):
    loop = result.timings.find("train step", "cnn1d", "loop")
    torch_nn = result.timings.find("train step", "cnn1d", "torch.nn")
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
    on_gpu = dataclasses.replace(
        result, timings=dataclasses.replace(result.timings, device="cuda")
    )
    assert "these targets were set for a 2-core CPU; on cuda" in bench.format_verdicts(
        on_gpu
    )


def test_epoch_note_says_when_it_is_not_a_full_epoch(result):
    estimated = "estimated: first 1 of 3 batches timed, scaled to a full epoch"
    assert result.timings.find("epoch", "cnn1d", "loop").note == estimated
    table = bench.format_table(result.timings)
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


def test_the_table_is_aligned_for_a_terminal(result):
    aligned = bench.format_table(result.timings)
    assert len({len(line) for line in aligned.splitlines()[3:8]}) == 1
    assert re.search(r"\|\s+min \|\s+median \|\s+max \|", aligned)
    assert aligned.startswith(timing.format_table(result.timings).splitlines()[0])


def test_a_note_closes_the_table():
    timings = timing.Timings(
        [
            bench.EpochMeasurement("epoch", "cnn1d", 0, impl, [1.0], note)
            for impl, note in (("loop", "a note"), ("taps", "a note"), ("im2col", ""))
        ]
    )
    table = bench.format_table(timings)
    assert table.splitlines()[-1] == "(loop, taps: a note)"


# --- The command line -------------------------------------------------------


def test_saved_csv_and_json(result, tmp_path: Path):
    csv_path, json_path = bench.save(result, tmp_path / "bench")
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == len(result.timings.measurements)
    assert {r["implementation"] for r in rows} == set(IMPLS)
    data = json.loads(json_path.read_text())
    assert data["device"] == "cpu"
    assert data["threads"] == torch.get_num_threads()
    assert data["torch"] == torch.__version__
    assert data["config"]["batch_size"] == 4
    assert len(data["measurements"]) == len(result.timings.measurements)
    assert data["measurements"][0]["seconds"] == result.timings.measurements[0].seconds
    assert [v["verdict"] for v in data["verdicts"]] == ["met", "met"]
    assert data["peak_bytes"]["Conv1D"]["taps"]["8"] > 0


def test_main_writes_table_and_files(result, monkeypatch, tmp_path, capsys):
    configs, threads = [], []
    monkeypatch.setattr(torch, "set_num_threads", threads.append)
    monkeypatch.setattr(
        bench, "run_benchmark", lambda config: configs.append(config) or result
    )
    assert bench.main(["--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Training step" in out and "Targets" in out
    assert re.search(r"\|\s+min \|\s+median \|\s+max \|", out)
    for name in ("bench.csv", "bench.json", "train_step.png", "scaling.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "memory.png").stat().st_size > 0
    assert configs == [bench.BenchConfig()]  # the full benchmark by default
    assert configs[0].epoch is False  # epochs only on request: minutes
    bench.main(["--out", str(tmp_path), "--quick", "--device", "cpu"])
    assert configs[1].sides_2d == (8, 16) and configs[1].max_repeats == 2
    bench.main(["--out", str(tmp_path), "--epochs", "--epoch-batches", "5"])
    assert configs[2].epoch and configs[2].epoch_batches == 5
    assert threads == [1, 1, 1]  # one thread by default: see tools/bench.py
    bench.main(["--out", str(tmp_path), "--threads", "2"])
    assert threads[-1] == 2


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
