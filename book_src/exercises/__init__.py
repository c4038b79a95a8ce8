"""Checkers for the book's code exercises: your code against PyTorch's.

Each checker runs what an exercise asks you to write on several configurations,
in float64, and compares the result with PyTorch's:

- :func:`check_output_size` (chapter 1): ``fn(length, kernel_size, stride, padding)``;
- :func:`check_conv1d` (chapter 1) and :func:`check_conv2d` (chapter 4): a class
  ``cls(in_channels, out_channels, kernel_size, stride=1, padding=0)`` holding one
  ``nn.Linear`` named ``kernel`` (``in_channels * kernel_size`` inputs, times
  ``kernel_size`` again in 2D), each window flattened channel by channel; the
  checker copies the ``torch.nn`` twin's weights into it;
- :func:`check_maxpool1d` (chapter 2): a class ``cls(kernel_size, stride=None,
  padding=0)``;
- :func:`check_conv1d_backward` (chapter 7): the gradients of a 1D convolution.

Layers must also accept an unbatched input, ``(C, L)`` or ``(C, H, W)``. A checker
prints one line per configuration and, when one fails, a hint that names the
likely mistake; it returns ``True`` only when every configuration passes. An
error in your code is printed, never raised; a wrong argument to the checker (an
instance instead of a class, say) raises ``TypeError``.
"""

from book_src.exercises.conv import check_conv1d, check_conv2d
from book_src.exercises.conv1d_backward import check_conv1d_backward
from book_src.exercises.maxpool1d import check_maxpool1d
from book_src.exercises.output_size import check_output_size

__all__ = [
    "check_conv1d",
    "check_conv1d_backward",
    "check_conv2d",
    "check_maxpool1d",
    "check_output_size",
]
