"""The course's networks: architecture, parameter counts, any conv implementation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from book_src import layers
from book_src.models import cnn1d, cnn2d, cnn3d, count_parameters


def test_cnn1d_as_in_the_original_course():
    model = cnn1d()
    assert count_parameters(model) == 33_370
    assert isinstance(model.conv1, layers.Conv1D)
    assert model(torch.randn(8, 1, 784)).shape == (8, 10)


def test_cnn2d_as_in_the_original_course():
    model = cnn2d()
    assert count_parameters(model) == 21_578
    assert isinstance(model.conv1, layers.Conv2D)
    assert model(torch.randn(8, 1, 28, 28)).shape == (8, 10)


def test_cnn3d_sizes_its_linear_from_the_clip_shape():
    model = cnn3d(clip_shape=(8, 32, 32), num_classes=4)
    assert model.fc.in_features == 32 * 1 * 4 * 4
    assert model(torch.randn(2, 1, 8, 32, 32)).shape == (2, 4)
    assert cnn3d(clip_shape=(6, 20, 24)).fc.in_features == 32 * 1 * 3 * 3


@pytest.mark.parametrize(
    ("network", "loop", "native", "shape"),
    [
        (cnn1d, layers.Conv1D, nn.Conv1d, (3, 1, 784)),
        (cnn2d, layers.Conv2D, nn.Conv2d, (3, 1, 28, 28)),
        (cnn3d, layers.Conv3D, nn.Conv3d, (3, 1, 8, 32, 32)),
    ],
)
def test_same_network_on_any_conv_class(network, loop, native, shape):
    # Built on torch.nn convolutions, then converted conv by conv to loop layers:
    # the same parameter count and, in float64, the same outputs.
    torch.manual_seed(0)
    reference = network(conv=native).double()
    ours = network(conv=loop).double()
    assert count_parameters(ours) == count_parameters(reference)
    ours.load_state_dict(
        {
            k: v
            for name, module in reference.named_children()
            for k, v in _state_for(name, module, loop).items()
        }
    )
    x = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-10, atol=1e-12)


def _state_for(name: str, module: nn.Module, loop: type) -> dict:
    if isinstance(module, nn.Linear):
        return {f"{name}.{k}": v for k, v in module.state_dict().items()}
    twin = loop.from_torch(module)
    return {f"{name}.{k}": v for k, v in twin.state_dict().items()}
