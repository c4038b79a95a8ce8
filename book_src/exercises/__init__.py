"""Checkers for the book's code exercises: your code against PyTorch's.

:func:`check_output_size` and :func:`check_conv1d` (chapter 1), :func:`check_maxpool1d`
(chapter 2), :func:`check_conv2d` (chapter 4) and :func:`check_conv1d_backward`
(chapter 7) run what an exercise asks you to write on several configurations, in
float64, and compare it with PyTorch. Each prints one line per configuration and, when
one fails, a hint that names the likely mistake; it returns ``True`` only when every
configuration passes. An error in your code is printed, never raised; a wrong argument
to the checker (an instance instead of a class, say) raises ``TypeError``.
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
