"""Moving digits: a small video task made from MNIST by code (chapter 5).

Each clip shows one digit, shrunk to 14 x 14 pixels, sliding at constant speed
across a black 32 x 32 frame in one of four directions: left, right, up or
down. The label is the direction. The frame wraps around, like the screen of an
old arcade game: what leaves on the right comes back on the left, so the digit
is never cut off and can start anywhere.

That makes motion the only clue. The digit, its place in any one frame and the
direction are drawn independently, so one frame, even knowing which frame it
is, is equally likely in all four directions: a model that sees a single frame
cannot beat 25 %. Played backwards, a clip moving right is a clip moving left.
Only the order of the frames tells the directions apart, which is what a 3D
convolution, whose window spans several frames, can see.

Every clip is fixed by the seed: its digit, direction and start are drawn once,
when the data set is made, from its own ``torch.Generator``, and
``dataset[i]`` returns the same frames each time.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["DIRECTIONS", "STEPS", "MovingDigits", "show_clips"]

DIRECTIONS = ("left", "right", "up", "down")
"""The four classes, in label order: ``DIRECTIONS[label]`` names a label."""

STEPS = torch.tensor([[0, -1], [0, 1], [-1, 0], [1, 0]])
"""One ``(row, column)`` step per direction, in label order (rows grow downward)."""


def _check_int(name: str, value: object, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(
            f"MovingDigits: {name} must be an int >= {minimum}, got {value!r}"
        )
    return value


def _shrink(image: object, index: int, digit_size: int) -> Tensor:
    """One digit image ``(1, H, W)`` or ``(H, W)`` in [0, 1], resized to a square."""
    if not isinstance(image, Tensor):
        raise ValueError(
            f"MovingDigits: digit {index} is a {type(image).__name__}, expected a "
            "tensor (give the MNIST data set a ToTensor transform)"
        )
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 2:
        raise ValueError(
            f"MovingDigits: digit {index} has shape {tuple(image.shape)}, expected "
            "(1, H, W) or (H, W)"
        )
    image = image.float()
    if image.min() < 0 or image.max() > 1:
        raise ValueError(
            f"MovingDigits: digit {index} has values outside [0, 1] "
            f"(min {image.min().item():g}, max {image.max().item():g})"
        )
    # "area" averages the pixels that fall into each new pixel: 28 -> 14 is a
    # 2 x 2 average, which keeps the strokes smooth and the values in [0, 1].
    small = F.interpolate(image[None, None], size=(digit_size, digit_size), mode="area")
    return small[0, 0].clamp(0, 1)


class MovingDigits(Dataset):
    """Short clips of one digit moving left, right, up or down (chapter 5).

    Clip ``i`` shows the digit ``digits[k]`` (a random ``k``), shrunk to
    ``digit_size`` pixels a side, in ``frames`` black frames of ``size`` x
    ``size`` pixels. It starts anywhere and, from one frame to the next, moves
    ``speed`` pixels in its direction; the frame wraps around (a pixel that
    leaves on one side comes back on the other), so every frame holds the whole
    digit.

    Items are ``(clip, label)``: ``clip`` is a float tensor ``(1, frames, size,
    size)`` with values in [0, 1] (one channel, then time, height, width, as
    ``Conv3D`` wants) and ``label`` the index of the direction in
    :data:`DIRECTIONS`. The four directions are balanced: their counts differ
    by at most one.

    Args:
        digits: a data set of ``(image, digit_label)`` pairs, images ``(1, H, W)``
            or ``(H, W)`` float tensors in [0, 1], e.g. ``book_src.data.mnist()``.
        num_clips: number of clips.
        frames: frames per clip (at least 2).
        size: height and width of a frame, in pixels.
        seed: seeds the generator that draws every clip.
        digit_size: side of the shrunk digit, in pixels (at most ``size``).
        speed: pixels moved from one frame to the next, less than half of
            ``size`` (on a wrapping frame, a step of ``size - speed`` to the
            right is a step of ``speed`` to the left).

    Attributes:
        directions: ``(num_clips,)`` the labels, indices into :data:`DIRECTIONS`.
        digit_labels: ``(num_clips,)`` the digit (0 to 9 for MNIST) in each clip.
        digit_indices: ``(num_clips,)`` which item of ``digits`` each clip shows.
        starts: ``(num_clips, 2)`` the digit's top-left ``(row, column)`` in the
            first frame.

    Raises:
        ValueError: an argument is out of range, or a digit image is not a
            tensor of the expected shape and range.
    """

    def __init__(
        self,
        digits: Dataset,
        num_clips: int,
        frames: int = 8,
        size: int = 32,
        seed: int = 0,
        digit_size: int = 14,
        speed: int = 2,
    ) -> None:
        self.num_clips = _check_int("num_clips", num_clips, 1)
        self.frames = _check_int("frames", frames, 2)
        self.size = _check_int("size", size, 1)
        self.digit_size = _check_int("digit_size", digit_size, 1)
        self.speed = _check_int("speed", speed, 1)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ValueError(f"MovingDigits: seed must be an int, got {seed!r}")
        self.seed = seed
        if digit_size > size:
            raise ValueError(
                f"MovingDigits: digit_size ({digit_size}) must be at most the frame "
                f"size ({size})"
            )
        if 2 * speed >= size:
            raise ValueError(
                f"MovingDigits: speed must be less than half the frame size "
                f"({size}), got {speed}: on a frame that wraps around, a step of "
                f"{speed} one way would look like a step of {size - speed} the other"
            )
        available = len(digits)  # type: ignore[arg-type]
        if available == 0:
            raise ValueError("MovingDigits: the digits data set is empty")

        generator = torch.Generator().manual_seed(seed)
        # Balanced labels: 0, 1, 2, 3, 0, 1, ... in a random order.
        order = torch.randperm(num_clips, generator=generator)
        self.directions = order % len(DIRECTIONS)
        self.digit_indices = torch.randint(available, (num_clips,), generator=generator)
        # Anywhere: the frame wraps around, so every start lets the digit travel.
        self.starts = torch.randint(size, (num_clips, 2), generator=generator)

        images, labels = [], []
        for k in self.digit_indices.tolist():
            image, label = digits[k]
            images.append(_shrink(image, k, digit_size))
            labels.append(int(label))
        self._digits = torch.stack(images)  # (num_clips, digit_size, digit_size)
        self.digit_labels = torch.tensor(labels)

    def __len__(self) -> int:
        return self.num_clips

    def _index(self, index: int) -> int:
        if not -self.num_clips <= index < self.num_clips:
            raise IndexError(
                f"MovingDigits: index {index} out of range for {self.num_clips} clips"
            )
        return index % self.num_clips

    def positions(self, index: int) -> Tensor:
        """The digit's top-left ``(row, column)`` in every frame: ``(frames, 2)``.

        Positions wrap around: they are taken modulo ``size``.
        """
        index = self._index(index)
        time = torch.arange(self.frames)[:, None]
        step = STEPS[self.directions[index]] * self.speed
        return (self.starts[index] + time * step) % self.size

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        """Clip ``index`` as ``(clip (1, frames, size, size), direction label)``."""
        index = self._index(index)
        # The digit in the top-left corner of an empty frame, then, for each
        # frame, rolled (shifted with wrap-around) to where it is.
        canvas = torch.zeros(self.size, self.size)
        canvas[: self.digit_size, : self.digit_size] = self._digits[index]
        frames = [
            torch.roll(canvas, shifts=(row, col), dims=(0, 1))
            for row, col in self.positions(index).tolist()
        ]
        return torch.stack(frames)[None], int(self.directions[index])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.num_clips} clips of {self.frames} frames, "
            f"{self.size}x{self.size} pixels, digits of {self.digit_size} pixels "
            f"moving {self.speed} pixels a frame, seed={self.seed})"
        )


def show_clips(
    clips: Tensor | Sequence[Tensor],
    labels: Sequence[str] | None = None,
    size: float = 1.0,
) -> Figure:
    """Draw clips as strips of frames: one row per clip, one column per frame.

    Args:
        clips: ``(N, 1, T, H, W)``, ``(N, T, H, W)`` or a list of ``(1, T, H, W)``.
        labels: one short text per clip, written left of its row.
        size: inches per frame.

    Returns:
        The figure, on an opaque white background.
    """
    clips = [clip.detach().cpu().reshape(-1, *clip.shape[-2:]) for clip in clips]
    frames = max(len(clip) for clip in clips)
    fig, axes = plt.subplots(
        len(clips),
        frames,
        figsize=(size * frames + (1.2 if labels else 0.2), size * len(clips) + 0.35),
        squeeze=False,
        facecolor="white",  # opaque, so that it reads on a dark page too
    )
    for row, clip in enumerate(clips):
        for t, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():  # a thin grey border: the frame's edge
                spine.set_color("0.6")
                spine.set_linewidth(0.8)
            if t < len(clip):
                ax.imshow(clip[t].numpy(), cmap="gray", vmin=0, vmax=1)
            if row == 0:
                ax.set_title(f"t = {t}", fontsize=9)
        if labels is not None:
            axes[row, 0].set_ylabel(
                labels[row], rotation=0, ha="right", va="center", fontsize=9
            )
    fig.tight_layout(pad=0.3, h_pad=0.6, w_pad=0.3)
    return fig
