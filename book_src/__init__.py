"""Convolution from scratch: the code the course notebooks import.

Every module's docstring names the chapters that use it: ``layers`` holds the loop
layers (Conv1D, Conv2D, Conv3D), ``torch_twin`` their checks and torch.nn conversions.
The book's tooling lives in the top-level ``tools/`` folder; nothing here imports
it. Importing the package sets nothing global: no seeds, no warnings filters.
"""
