"""Moving digits: a small video task made from MNIST by code (chapter 5).

One digit slides across a wrapping frame, left, right, up or down (the label). No
single frame tells the direction: only the order of the frames does.
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

#: The four classes, in label order: ``DIRECTIONS[label]`` names a label.
DIRECTIONS = ("left", "right", "up", "down")
#: One ``(row, column)`` step per direction, in label order (rows grow downward).
STEPS = torch.tensor([[0, -1], [0, 1], [-1, 0], [1, 0]])


class MovingDigits(Dataset):
    """Clips ``(1, frames, size, size)`` of a digit of ``digits``, drawn from ``seed``.

    Items are ``(clip, label)``, ``label`` an index into :data:`DIRECTIONS`, the
    four equally often (within one). ``directions``, ``digit_labels``,
    ``digit_indices`` and ``starts`` hold one entry per clip.
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
        for name, value, least in [
            ("num_clips", num_clips, 1),
            ("frames", frames, 2),
            ("size", size, 1),
            ("digit_size", digit_size, 1),
            ("speed", speed, 1),
            ("seed", seed, None),
        ]:
            bad = not isinstance(value, int) or isinstance(value, bool)
            if bad or (least is not None and value < least):
                need = "an int" if least is None else f"an int >= {least}"
                raise ValueError(f"MovingDigits: {name} must be {need}, got {value!r}")
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
        if len(digits) == 0:
            raise ValueError("MovingDigits: the digits data set is empty")
        self.num_clips, self.frames, self.size = num_clips, frames, size
        self.seed, self.digit_size, self.speed = seed, digit_size, speed

        generator = torch.Generator().manual_seed(seed)
        # Balanced labels: 0, 1, 2, 3, 0, 1, ... in a random order.
        order = torch.randperm(num_clips, generator=generator)
        self.directions = order % len(DIRECTIONS)
        self.digit_indices = torch.randint(
            len(digits), (num_clips,), generator=generator
        )
        self.starts = torch.randint(size, (num_clips, 2), generator=generator)
        images, labels = [], []
        for k in self.digit_indices.tolist():
            image, label = digits[k]
            images.append(self._shrink(image, k))
            labels.append(int(label))
        self._digits = torch.stack(images)  # (num_clips, digit_size, digit_size)
        self.digit_labels = torch.tensor(labels)

    def _shrink(self, image: object, index: int) -> Tensor:
        """Digit ``index`` of ``digits`` as a ``digit_size`` square, checked."""
        if not isinstance(image, Tensor):
            raise ValueError(
                f"MovingDigits: digit {index} is a {type(image).__name__}, expected "
                "a tensor (give the MNIST data set a ToTensor transform)"
            )
        if image.dim() == 3 and image.shape[0] == 1:
            image = image[0]
        if image.dim() != 2:
            raise ValueError(
                f"MovingDigits: digit {index} has shape {tuple(image.shape)}, "
                "expected (1, H, W) or (H, W)"
            )
        image = image.float()
        if image.min() < 0 or image.max() > 1:
            raise ValueError(
                f"MovingDigits: digit {index} has values outside [0, 1] "
                f"(min {image.min().item():g}, max {image.max().item():g})"
            )
        # "area" averages the pixels that fall into each new one: 28 -> 14 is a
        # 2 x 2 average, which keeps the strokes smooth and the values in [0, 1].
        size = (self.digit_size, self.digit_size)
        small = F.interpolate(image[None, None], size=size, mode="area")
        return small[0, 0].clamp(0, 1)

    def __len__(self) -> int:
        return self.num_clips

    def positions(self, index: int) -> Tensor:
        """The digit's top-left ``(row, column)`` in every frame, ``(frames, 2)``."""
        if not -self.num_clips <= index < self.num_clips:
            raise IndexError(
                f"MovingDigits: index {index} out of range for {self.num_clips} clips"
            )
        step = STEPS[self.directions[index]] * self.speed
        time = torch.arange(self.frames)[:, None]
        return (self.starts[index] + time * step) % self.size  # wrapped around

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        # The digit in the top-left corner of an empty frame, then rolled
        # (shifted with wrap-around) to where it is in each frame.
        positions = self.positions(index)
        canvas = torch.zeros(self.size, self.size)
        canvas[: self.digit_size, : self.digit_size] = self._digits[index]
        frames = [
            torch.roll(canvas, shifts, dims=(0, 1)) for shifts in positions.tolist()
        ]
        return torch.stack(frames)[None], int(self.directions[index])

    def __repr__(self) -> str:
        return (
            f"MovingDigits({self.num_clips} clips of {self.frames} frames, "
            f"{self.size}x{self.size} pixels, digits of {self.digit_size} pixels "
            f"moving {self.speed} pixels a frame, seed={self.seed})"
        )


def show_clips(
    clips: Tensor | Sequence[Tensor],
    labels: Sequence[str] | None = None,
    size: float = 1.0,
) -> Figure:
    """Clips ``(N, [1,] T, H, W)`` as rows of frames, ``size`` inches each."""
    clips = [clip.detach().cpu().reshape(-1, *clip.shape[-2:]) for clip in clips]
    frames = max(len(clip) for clip in clips)
    inches = (size * frames + (1.2 if labels else 0.2), size * len(clips) + 0.35)
    fig, axes = plt.subplots(
        len(clips), frames, figsize=inches, squeeze=False, facecolor="white"
    )
    for row, clip in enumerate(clips):
        for t, ax in enumerate(axes[row]):
            ax.set(xticks=[], yticks=[])
            ax.spines[:].set_color("0.6")  # a thin grey border: the frame's edge
            ax.spines[:].set_linewidth(0.8)
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
