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
    bench: timing of loop, vectorised and torch.nn convolutions (`make bench`).
    notebooks: re-executes the chapters as nbval runs them (`make notebooks`).
    sphinx_ext: the book's offline MathJax and execution-statistics page.

Importing the package sets nothing global: no seeds, no warnings filters.
"""
