"""Chapter 4's checker for a 2D convolution class: chapter 1's, in 2D."""

from __future__ import annotations

from book_src.exercises.conv1d import check_conv
from book_src.exercises.engine import LayerSetup

SETUPS = [
    LayerSetup((2, 3, 6, 7), 3, out_channels=4),
    LayerSetup((2, 2, 7, 7), 3, 1, 1, out_channels=3),
    LayerSetup((3, 2, 8, 8), 3, 2, 1, out_channels=5),
    LayerSetup((1, 3, 9, 7), 3, 2, 1, out_channels=2),
    LayerSetup((2, 2, 8, 9), 2, 3, 0, out_channels=2),
    LayerSetup((1, 3, 6, 5), 3, 1, 1, out_channels=2, unbatched=True),
]


def check_conv2d(cls: type) -> bool:
    """Check a learner's 2D convolution class against ``torch.nn.Conv2d`` (chapter 4).

    As :func:`book_src.exercises.check_conv1d`, with ``nn.Linear(in_channels *
    kernel_size ** 2, out_channels)``, each window ``(C_in, k, k)`` flattened
    channel by channel (then row by row), and input ``(N, C_in, H, W)`` or
    unbatched ``(C_in, H, W)``.

    Returns:
        True when every configuration matches.

    Raises:
        TypeError: if ``cls`` is not a class.
    """
    return check_conv(cls, 2, SETUPS)
