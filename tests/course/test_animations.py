"""Animations (chapters 1, 4, 5): frame counts, what each frame shows, offline HTML."""

from __future__ import annotations

import re
import socket

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from matplotlib.animation import AbstractMovieWriter
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from book_src.animations import (
    WINDOW_COLOR,
    play_clips,
    slide_window_1d,
    slide_window_2d,
    to_html,
)
from book_src.layers import output_size

# Some tests build an animation only to look at it, without rendering it.
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")

VALUES = [1, 2, 4, 7, 11, 16]  # chapter 1's sequence
EDGE = [-1.0, 0.0, 1.0]  # chapter 1's kernel


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("an animation tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


class Recorder(AbstractMovieWriter):
    """A movie writer that keeps, for every frame, what ``snapshot(fig)`` returns."""

    def __init__(self, snapshot):
        super().__init__(fps=5)
        self.snapshot = snapshot
        self.frames = []

    def setup(self, fig, outfile, dpi=None):
        self.fig, self.outfile, self.dpi = fig, outfile, dpi

    def grab_frame(self, **savefig_kwargs):
        self.frames.append(self.snapshot(self.fig))

    def finish(self):
        pass


def record(animation, snapshot):
    recorder = Recorder(snapshot)
    animation.save("unused.html", writer=recorder)  # the recorder writes nothing
    return recorder.frames


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def window_boxes(fig) -> list[Rectangle]:
    """The rectangles drawn in the window's colour: the window (and output pixel)."""
    color = matplotlib.colors.to_rgba(WINDOW_COLOR)
    return [
        p
        for p in fig.findobj(Rectangle)
        if p.get_edgecolor() == color and not p.get_fill()
    ]


def digit() -> torch.Tensor:
    """A 28 x 28 'digit': a bright bar and a ring on black, values in [0, 1]."""
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    ring = ((rows - 14) ** 2 + (cols - 12) ** 2).sqrt()
    image = ((ring - 7).abs() < 1.5).float()
    image[4:24, 20:22] = 0.8
    return image


def moving_blocks() -> torch.Tensor:
    """Four clips of 8 frames, 32 x 32: a 14 x 14 ring moving 2 pixels a frame."""
    ring = F.interpolate(digit()[None, None], size=(14, 14), mode="area")[0, 0]
    clips = torch.zeros(4, 1, 8, 32, 32)
    for n in range(4):
        for t in range(8):
            clips[n, 0, t, 2 * n : 2 * n + 14, 2 * t : 2 * t + 14] = ring
    return clips


# 1D: chapter 1


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 1), (1, 0), (3, 2)])
def test_1d_one_frame_per_output_position(stride, padding):
    animation = slide_window_1d(VALUES, EDGE, stride=stride, padding=padding)
    expected = output_size(len(VALUES), len(EDGE), stride, padding)
    assert len(list(animation.new_saved_frame_seq())) == expected
    html = to_html(animation, alt="a window")
    assert f"new Array({expected})" in html


def test_1d_frames_show_the_window_and_the_outputs_written_so_far():
    animation = slide_window_1d(VALUES, EDGE, padding=1, bias=0.5)
    expected = F.conv1d(
        torch.tensor([[VALUES]], dtype=torch.float64),
        torch.tensor([[EDGE]], dtype=torch.float64),
        torch.tensor([0.5], dtype=torch.float64),
        padding=1,
    ).flatten()

    def snapshot(fig):
        (box,) = window_boxes(fig)
        return box.get_x(), texts(fig)

    frames = record(animation, snapshot)
    assert len(frames) == 6
    for i, (x, shown) in enumerate(frames):
        assert x == i  # stride 1: window i starts at i
        (title,) = [t for t in shown if t.startswith("i = ")]
        assert title.startswith(f"i = {i}: ")
        assert title.endswith(f"= {expected[i].item():g}")
        assert "+ 0.5" in title
        for j in range(6):  # outputs after i are not written yet
            written = f"{expected[j].item():g}" in shown
            assert written or j > i, (i, j, shown)
    assert frames[0][1].count("-10.5") == 0  # the last output, not yet written
    assert "-10.5" in frames[-1][1]


def test_1d_with_stride_the_window_jumps():
    frames = record(
        slide_window_1d(VALUES, EDGE, stride=2, padding=1),
        lambda fig: window_boxes(fig)[0].get_x(),
    )
    assert frames == [0, 2, 4]


def test_1d_refuses_a_kernel_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        slide_window_1d([1, 2], [1, 1, 1])


# 2D: chapter 4


def test_2d_default_frames_on_a_digit():
    animation = slide_window_2d(digit(), torch.ones(3, 3))
    positions = []

    def snapshot(fig):
        (title,) = [t for t in texts(fig) if t.startswith("position")]
        return tuple(
            int(n) for n in re.match(r"position \((\d+), (\d+)\)", title).groups()
        )

    positions = record(animation, snapshot)
    # Every 7th row, every 4th column, then the last position: few frames.
    assert 20 <= len(positions) <= 40
    assert positions[0] == (0, 0) and positions[-1] == (27, 27)
    assert positions == sorted(positions)  # the loop's order: row by row


def test_2d_each_frame_writes_the_output_pixel_of_its_window():
    image, weight = digit(), torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    positions = [(0, 0), (3, 5), (14, 20), (27, 27)]
    expected = F.conv2d(
        image[None, None].double(), weight[None, None].double(), padding=1
    )[0, 0]
    animation = slide_window_2d(image, weight, positions=positions, bias=0.0)

    def snapshot(fig):
        window, pixel = window_boxes(fig)
        output = fig.axes[2].images[0].get_array()
        return (
            window.get_xy(),
            pixel.get_xy(),
            torch.tensor(output.filled(float("nan"))),
        )

    frames = record(animation, snapshot)
    assert len(frames) == len(positions)
    for (i, j), (window_xy, pixel_xy, output) in zip(positions, frames):
        # The window's top-left corner in the padded image, the pixel in the output.
        assert window_xy == (j - 0.5, i - 0.5)
        assert pixel_xy == (j - 0.5, i - 0.5)
        written = ~output.isnan()
        assert written.sum() == i * 28 + j + 1  # everything the loop has done so far
        assert written[i, j] and (i == 27 or not written[i + 1 :].any())
        torch.testing.assert_close(output[written], expected[written])


def test_2d_stride_moves_the_window_by_the_stride():
    animation = slide_window_2d(
        digit(), torch.ones(3, 3), stride=2, positions=[(0, 0), (1, 3), (13, 13)]
    )
    frames = record(animation, lambda fig: window_boxes(fig)[0].get_xy())
    assert frames == [(-0.5, -0.5), (5.5, 1.5), (25.5, 25.5)]


def test_2d_accepts_batched_shapes_and_refuses_bad_ones():
    slide_window_2d(digit()[None], torch.ones(1, 1, 3, 3), positions=[(0, 0)])
    with pytest.raises(ValueError, match="expected an image"):
        slide_window_2d(torch.zeros(2, 28, 28), torch.ones(3, 3))
    with pytest.raises(ValueError, match="outside"):
        slide_window_2d(digit(), torch.ones(3, 3), positions=[(28, 0)])


# Clips: chapter 5


def test_clips_one_frame_per_time_step():
    clips = torch.zeros(3, 1, 8, 32, 32)
    for n in range(3):
        for t in range(8):
            clips[n, 0, t, 10, 2 * t + n] = 1.0  # a dot moving right

    def snapshot(fig):
        (label,) = [t for t in texts(fig) if t.startswith("t = ")]
        return label, [ax.images[0].get_array().copy() for ax in fig.axes]

    frames = record(play_clips(clips, labels=["a", "b\nc", "d"]), snapshot)
    assert len(frames) == 8
    for t, (label, images) in enumerate(frames):
        assert label == f"t = {t}"
        for n, image in enumerate(images):
            assert image[10, 2 * t + n] == 1.0 and image.sum() == 1.0


def test_clips_accept_a_list_and_refuse_none():
    animation = play_clips([torch.rand(1, 4, 16, 16), torch.rand(1, 4, 16, 16)])
    assert len(list(animation.new_saved_frame_seq())) == 4
    with pytest.raises(ValueError, match="no clips"):
        play_clips([])


# The HTML


def test_html_is_self_contained_and_accessible():
    html = to_html(
        slide_window_1d(VALUES, EDGE, padding=1),
        alt='The window "slides"',
        caption="Chapter 1's loop & its outputs",
    )
    assert not re.search(r"https?://", html)  # no CDN, no font, no script to fetch
    assert "<link" not in html and 'class="fa' not in html
    (img,) = re.findall(r"<img [^>]*>", html)
    assert 'alt="The window &quot;slides&quot;"' in img
    assert 'src="data:image/png;base64,' in img  # frame 0 shows without JavaScript
    assert 'type="range" aria-label="Frame"' in html
    for label in ("Play", "Pause", "Next frame", "Previous frame"):
        assert f'aria-label="{label}"' in html
    assert html.startswith('<figure class="book-animation">')
    assert "<figcaption>Chapter 1&#x27;s loop &amp; its outputs</figcaption>" in html
    assert "new Array(6)" in html


def test_html_is_the_same_on_every_run_and_ids_differ_between_animations():
    first = to_html(slide_window_1d(VALUES, EDGE, padding=1), alt="x")
    again = to_html(slide_window_1d(VALUES, EDGE, padding=1), alt="x")
    other = to_html(slide_window_1d(VALUES, EDGE, padding=0), alt="x")
    assert first == again
    ids = [set(re.findall(r"_anim_img([0-9a-f]+)", h)) for h in (first, other)]
    assert ids[0] != ids[1]


def test_nothing_is_left_for_pyplot_to_show():
    plt.close("all")
    slide_window_1d(VALUES, EDGE)
    slide_window_2d(digit(), torch.ones(3, 3), positions=[(0, 0)])
    play_clips(torch.zeros(1, 1, 2, 8, 8))
    assert plt.get_fignums() == []


def test_html_sizes_keep_a_chapter_small():
    # Bounds with room to spare; the chapters themselves must stay under 1.5 MB.
    sizes = {
        "1d": len(to_html(slide_window_1d(VALUES, EDGE, padding=1), alt="x")),
        "2d": len(to_html(slide_window_2d(digit(), torch.ones(3, 3)), alt="x")),
        "clips": len(to_html(play_clips(moving_blocks()), alt="x")),
    }
    assert sizes["1d"] < 150_000, sizes
    assert sizes["2d"] < 700_000, sizes
    assert sizes["clips"] < 400_000, sizes


def test_white_opaque_frames():
    import base64
    import io

    from PIL import Image

    html = to_html(play_clips(torch.zeros(1, 1, 2, 8, 8)), alt="x")
    data = re.search(r'src="data:image/png;base64,([^"]*)"', html)[1]
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGBA")
    assert image.getpixel((0, 0)) == (255, 255, 255, 255)
