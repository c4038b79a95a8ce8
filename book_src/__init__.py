"""Convolution from scratch: the code the course notebooks import.

Modules:
    layers: convolution and pooling layers as Python loops (chapters 1, 2, 4, 5).
    vectorized: the same convolutions as one im2col and one matrix product (ch. 6).
    data: MNIST, provided offline and verified by sha256 (chapter 3 onward).
    video: clips of MNIST digits moving across a frame (chapter 5).
    models: the cnn1d, cnn2d and cnn3d networks (chapters 3 to 6).
    training: seeding, data loaders, fit and evaluate helpers (chapters 3 to 6).
    results: a chapter's result summary saved as JSON (chapters 3 and 4).
    plots: figures shared by several chapters.
    bench: timing of loop, vectorised and torch.nn convolutions (chapter 6).

The book's own tooling (Sphinx extension, notebook runner, benchmark command line)
lives in the top-level ``tools/`` folder; nothing here imports it.

Importing the package sets nothing global: no seeds, no warnings filters.
"""
