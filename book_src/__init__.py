"""Convolution from scratch: the code the course notebooks import.

Modules:
    layers: convolution and pooling layers as Python loops (chapters 1, 2, 4, 5).
    data: MNIST, provided offline and verified by sha256 (chapter 3).
    models: the cnn1d, cnn2d and cnn3d networks (chapters 3 to 5).
    training: seeding, data loaders, fit and evaluate helpers (chapters 3 to 5).

Importing the package sets nothing global: no seeds, no warnings filters.
"""
