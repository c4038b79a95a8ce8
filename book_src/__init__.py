"""Convolution from scratch: the code the course notebooks import.

Modules:
    layers: Conv1D, Conv2D, Conv3D as loops over window positions (ch. 1, 4, 5).
    pooling: max and average pooling as loops (chapter 2).
    matrix: a 1D convolution as one banded, weight-tied matrix (ch. 1, 3, 6, 7).
    torch_twin: what every loop layer shares besides its loop: argument checks
        and the conversions to and from torch.nn (no chapter needs to read it).
    ladder: the steps between the loop and im2col: unbind, kernel taps (ch. 6).
    vectorized: the same convolutions as im2col and one matrix product (ch. 6).
    profiling: counting calls, the profiler's view, peak memory (chapter 6).
    timing: timing the implementations of chapter 6, and their tables.
    backward: the convolution's gradients written as loops (chapter 7).
    transposed: ConvTranspose1D and ConvTranspose2D as loops (chapter 7).
    family: parameter and multiply-add counts, receptive fields (chapter 7).
    data: MNIST, provided offline and verified by sha256 (chapter 3 onward).
    video: clips of MNIST digits moving across a frame (chapter 5).
    models: the cnn1d, cnn2d and cnn3d networks (chapters 3 to 6).
    training: seeding, data loaders, fit and evaluate helpers (chapters 3 to 7).
    results: chapter 3's committed result summary, read by chapters 4 and 6.
    plots: figures of chapters 3 to 6.
    animations: the sliding window and the video clips, animated (ch. 1, 4, 5).
    exercises: checkers for the learner's own layers (every chapter's exercises).

The book's own tooling (Sphinx extension, notebook runner, the benchmark behind
``make bench``) lives in the top-level ``tools/`` folder; nothing here imports it.

Importing the package sets nothing global: no seeds, no warnings filters.
"""
