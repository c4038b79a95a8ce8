"""Convolution from scratch: the code the course notebooks import.

Modules, by chapter: layers (Conv1D, Conv2D, Conv3D as loops; ch. 1, 4, 5),
pooling (ch. 2), matrix (a 1D convolution as one banded matrix), torch_twin (the
loop layers' argument checks and torch.nn conversions; no chapter needs to read
it), ladder, vectorized, profiling and timing (ch. 6), backward, transposed and
family (ch. 7), data (MNIST, verified by sha256), video (moving digits, ch. 5),
models (cnn1d, cnn2d, cnn3d), training (seeds, loaders, fit, evaluate), results
(chapter 3's committed run), plots, animations, and exercises (the checkers).

The book's tooling lives in the top-level ``tools/`` folder; nothing here imports
it. Importing the package sets nothing global: no seeds, no warnings filters.
"""
