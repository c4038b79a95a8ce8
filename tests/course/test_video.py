"""MovingDigits (chapter 5): shapes, seeds, motion, wrap-around, balance, errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from book_src.models import cnn3d
from book_src.video import DIRECTIONS, STEPS, MovingDigits, show_clips


def fake_digits(n: int = 50, side: int = 28, seed: int = 0) -> TensorDataset:
    """Random 'digits': (1, side, side) images in [0, 1] with labels 0 to 9."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 1, side, side, generator=g)
    images[:, :, :4] = 0  # some black rows, as in MNIST
    return TensorDataset(images, torch.arange(n) % 10)


DIGITS = fake_digits()


@pytest.fixture(scope="module")
def clips() -> MovingDigits:
    return MovingDigits(DIGITS, num_clips=40, seed=0)


def centre_of_mass(frames: torch.Tensor) -> torch.Tensor:
    """(row, column) of the centre of mass of each frame of ``(T, H, W)``."""
    frames = frames.double()
    rows = torch.arange(frames.shape[1], dtype=torch.float64)
    cols = torch.arange(frames.shape[2], dtype=torch.float64)
    total = frames.sum(dim=(1, 2))
    return torch.stack(
        [
            (frames.sum(2) * rows).sum(1) / total,
            (frames.sum(1) * cols).sum(1) / total,
        ],
        dim=1,
    )


def test_items_are_clips_in_unit_range_with_a_direction_label(clips):
    assert len(clips) == 40
    for i in range(len(clips)):
        clip, label = clips[i]
        assert clip.shape == (1, 8, 32, 32) and clip.dtype == torch.float32
        assert clip.min() >= 0 and clip.max() <= 1
        assert isinstance(label, int) and label == clips.directions[i]
        assert DIRECTIONS[label] in ("left", "right", "up", "down")
    assert clips[-1][0].equal(clips[39][0])


def test_other_sizes():
    data = MovingDigits(fake_digits(), 5, frames=4, size=20, digit_size=10, speed=3)
    clip, _ = data[0]
    assert clip.shape == (1, 4, 20, 20)


def test_same_seed_same_clips_other_seed_other_clips(clips):
    again = MovingDigits(fake_digits(), num_clips=40, seed=0)
    other = MovingDigits(fake_digits(), num_clips=40, seed=1)
    for name in ("directions", "digit_indices", "starts", "digit_labels"):
        assert getattr(clips, name).equal(getattr(again, name))
    assert all(clips[i][0].equal(again[i][0]) for i in range(40))
    assert all(clips[i][0].equal(clips[i][0]) for i in range(40))  # no hidden state
    assert not clips.starts.equal(other.starts)
    assert not clips.directions.equal(other.directions)


def test_seed_is_independent_of_the_global_generator():
    torch.manual_seed(1)
    a = MovingDigits(fake_digits(), 12, seed=5)
    torch.manual_seed(2)
    b = MovingDigits(fake_digits(), 12, seed=5)
    assert a.starts.equal(b.starts) and a[3][0].equal(b[3][0])


def test_each_frame_is_the_last_one_moved_speed_pixels_its_way(clips):
    for i in range(len(clips)):
        clip, label = clips[i]
        shift = (STEPS[label] * clips.speed).tolist()
        for t in range(clips.frames - 1):
            moved = torch.roll(clip[0, t], shifts=shift, dims=(0, 1))
            assert moved.equal(clip[0, t + 1])


def test_centre_of_mass_moves_as_labelled_where_no_edge_is_crossed():
    data = MovingDigits(fake_digits(), 200, seed=4)
    moves, expected = [], []
    for i in range(len(data)):
        if data.positions(i).max() > data.size - data.digit_size:
            continue  # the digit wraps around an edge in this clip
        clip, label = data[i]
        centres = centre_of_mass(clip[0])  # (8, 2)
        moves.append(centres[-1] - centres[0])
        expected.append((STEPS[label] * data.speed * 7).double())
    assert len(moves) >= 10
    torch.testing.assert_close(torch.stack(moves), torch.stack(expected))


def test_digit_is_never_cut_off(clips):
    n = clips.digit_size**2
    for i in range(len(clips)):
        clip, _ = clips[i]
        # Every frame holds the digit's pixels (wrapped around, not lost) and
        # black: the same sorted values in every frame.
        pixels = clip[0].flatten(1).sort(dim=1).values
        assert (pixels == pixels[0]).all()
        # The digit as MovingDigits shrinks it: an area resize of its source image.
        image = DIGITS[int(clips.digit_indices[i])][0]
        size = (clips.digit_size, clips.digit_size)
        digit = F.interpolate(image[None], size=size, mode="area").clamp(0, 1)
        assert pixels[0, -n:].equal(digit.flatten().sort().values)
        assert not pixels[0, :-n].any()
        positions = clips.positions(i)
        assert positions.min() >= 0 and positions.max() < clips.size


def test_digit_is_the_shrunk_image_with_its_label():
    digits = fake_digits(20)
    data = MovingDigits(digits, 30, seed=2)
    for i in range(30):
        k = int(data.digit_indices[i])
        image, label = digits[k]
        assert data.digit_labels[i] == label
        small = torch.nn.functional.avg_pool2d(image[None], 2)[0, 0]  # 28 -> 14
        row, col = data.positions(i)[0].tolist()
        first = torch.roll(data[i][0][0, 0], shifts=(-row, -col), dims=(0, 1))
        torch.testing.assert_close(first[:14, :14], small)


def test_starts_anywhere_and_backwards_is_the_other_way():
    # Starts cover the whole frame in every direction: where the digit is, in
    # any one frame, says nothing about where it goes.
    data = MovingDigits(fake_digits(), 2000, seed=3)
    for label in range(4):
        starts = data.starts[data.directions == label]
        assert starts.min() == 0 and starts.max() == data.size - 1
        assert len(starts.unique(dim=0)) > 350  # of 32 * 32 = 1024, from 500 draws
    opposite = (1, 0, 3, 2)
    for i in range(20):
        clip, label = data[i]
        backwards = clip.flip(1)  # the frames in reverse order
        shift = (STEPS[opposite[label]] * data.speed).tolist()
        assert torch.roll(backwards[0, 0], shift, dims=(0, 1)).equal(backwards[0, 1])


def test_directions_are_balanced():
    for n in (1, 7, 40, 1001):
        data = MovingDigits(fake_digits(), n, seed=n)
        counts = torch.bincount(data.directions, minlength=4)
        assert counts.sum() == n and counts.max() - counts.min() <= 1


def test_batches_feed_cnn3d():
    data = MovingDigits(fake_digits(), 10)
    clips_, labels = next(iter(DataLoader(data, batch_size=4)))
    assert clips_.shape == (4, 1, 8, 32, 32) and labels.dtype == torch.int64
    assert cnn3d()(clips_).shape == (4, 4)


def test_show_clips_draws_one_row_per_clip(clips):
    fig = show_clips([clips[0][0], clips[1][0]], labels=["a", "b"])
    assert len(fig.axes) == 2 * 8
    assert fig.axes[0].get_ylabel() == "a" and fig.axes[8].get_ylabel() == "b"
    assert matplotlib.colors.to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_clips": 0}, "num_clips must be an int >= 1, got 0"),
        ({"num_clips": 2.5}, "num_clips must be an int >= 1, got 2.5"),
        ({"frames": 1}, "frames must be an int >= 2, got 1"),
        ({"speed": 0}, "speed must be an int >= 1, got 0"),
        ({"digit_size": True}, "digit_size must be an int >= 1, got True"),
        ({"seed": None}, "seed must be an int, got None"),
        ({"size": 12}, r"digit_size \(14\) must be at most the frame size \(12\)"),
        (
            {"speed": 16},
            r"speed must be less than half the frame size \(32\), got 16: on a "
            "frame that wraps around, a step of 16 one way would look like a step "
            "of 16 the other",
        ),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    args = {"digits": fake_digits(), "num_clips": 4, **kwargs}
    with pytest.raises(ValueError, match=f"^MovingDigits: .*{message}"):
        MovingDigits(**args)


def test_largest_digit_and_speed_are_fine():
    clip, _ = MovingDigits(fake_digits(), 4, size=14, speed=6)[0]
    assert clip.shape == (1, 8, 14, 14)


@pytest.mark.parametrize(
    ("digits", "message"),
    [
        (TensorDataset(torch.rand(0, 1, 28, 28), torch.zeros(0)), "is empty"),
        (
            TensorDataset(torch.rand(3, 2, 28, 28), torch.zeros(3)),
            r"digit \d has shape \(2, 28, 28\), expected \(1, H, W\) or \(H, W\)",
        ),
        (
            TensorDataset(255 * torch.rand(3, 1, 28, 28), torch.zeros(3)),
            r"digit \d has values outside \[0, 1\]",
        ),
        ([("not a tensor", 0)] * 3, r"digit \d is a str, expected a tensor"),
    ],
)
def test_bad_digits_raise_clear_errors(digits, message):
    with pytest.raises(ValueError, match=message):
        MovingDigits(digits, 4)


def test_index_out_of_range(clips):
    with pytest.raises(IndexError, match="index 40 out of range for 40 clips"):
        clips[40]
    with pytest.raises(IndexError):
        clips[-41]
