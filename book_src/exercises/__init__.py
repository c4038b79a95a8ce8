"""Checkers for the book's code exercises: your code against PyTorch's (every chapter).

Each checker takes what the exercise asks you to write, a function or a class, runs it
on several configurations in float64 and compares the result with PyTorch's own layer:

- :func:`check_output_size` (chapter 1): ``fn(length, kernel_size, stride, padding)``;
- :func:`check_conv1d` (chapter 1): a 1D convolution class;
- :func:`check_maxpool1d` (chapter 2): a 1D max-pooling class;
- :func:`check_conv2d` (chapter 4): a 2D convolution class;
- :func:`check_conv1d_backward` (chapter 7): the gradients of a 1D convolution.

A convolution class is built as the course builds its own,
``cls(in_channels, out_channels, kernel_size, stride=1, padding=0)``, and holds one
``nn.Linear`` named ``kernel`` with ``in_channels * kernel_size`` inputs
(``in_channels * kernel_size ** 2`` in 2D), each window flattened channel by channel.
The checker copies the weights of the ``torch.nn`` twin into that Linear. A pooling
class is built as ``cls(kernel_size, stride=None, padding=0)``. Layers must also accept
an unbatched input, ``(C, L)`` or ``(C, H, W)``, as ``torch.nn`` does.

Every checker prints one line per configuration and, when one fails, a hint that
names the likely mistake: from which configurations fail (only those with a stride,
only those with padding...), or, where two mistakes fail the same ones, from the
known mistake that gives exactly what your code gave. It returns ``True`` only when
every configuration passes. An error in your code is caught and printed, never
raised; a wrong argument to the checker itself (an instance instead of a class,
say) raises ``TypeError``. Each checker has its own module; :mod:`.engine` runs them.
"""

from book_src.exercises.conv1d import check_conv1d
from book_src.exercises.conv1d_backward import check_conv1d_backward
from book_src.exercises.conv2d import check_conv2d
from book_src.exercises.maxpool1d import check_maxpool1d
from book_src.exercises.output_size import check_output_size

__all__ = [
    "check_conv1d",
    "check_conv1d_backward",
    "check_conv2d",
    "check_maxpool1d",
    "check_output_size",
]
