"""Convolution from scratch: the code the course notebooks import.

Modules:
    layers: convolution and pooling layers as Python loops (chapters 1, 2, 4, 5);
        their argument checks and torch.nn conversions live in _plumbing.
    vectorized: the same convolutions as one im2col and one matrix product (ch. 6).
    ladder: the steps between the loop and im2col: unbind, kernel taps (ch. 6).
    bench: timing and profiling of those implementations (chapter 6).
    backward: the convolution's gradients written as loops (chapter 7).
    transposed: ConvTranspose1D and ConvTranspose2D as loops (chapter 7).
    family: parameter and multiply-add counts, receptive fields (chapter 7).
    data: MNIST, provided offline and verified by sha256 (chapter 3 onward).
    video: clips of MNIST digits moving across a frame (chapter 5).
    models: the cnn1d, cnn2d and cnn3d networks (chapters 3 to 6).
    training: seeding, data loaders, fit and evaluate helpers (chapters 3 to 7).
    results: chapter 3's committed result summary, read by chapters 4 and 6.
    plots: figures shared by several chapters.
    animations: the sliding window and the video clips, animated (ch. 1, 4, 5).
    exercises: checkers for the learner's own layers (every chapter's exercises).

The book's own tooling (Sphinx extension, notebook runner, benchmark command line)
lives in the top-level ``tools/`` folder; nothing here imports it.

Importing the package sets nothing global: no seeds, no warnings filters.
"""
