"""book_src.plots: the scales the figures claim, and the confusion counts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.colors import to_rgba

from book_src.plots import (
    confusion_matrix,
    largest_confusions,
    plot_confusion_matrix,
    plot_history,
    show_filters,
    show_grid,
    show_images,
)
from book_src.training import History


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 1, 1, 2])
    counts = confusion_matrix(predictions, labels, num_classes=3)
    assert counts.tolist() == [[1, 1, 0], [0, 1, 0], [0, 2, 1]]
    assert counts.sum() == len(labels)


def test_largest_confusions_skip_the_diagonal_and_zeros():
    counts = torch.tensor([[50, 3, 0], [7, 40, 3], [0, 9, 30]])
    assert largest_confusions(counts, 3) == [(2, 1, 9), (1, 0, 7), (0, 1, 3)]
    assert largest_confusions(torch.eye(3, dtype=torch.long) * 5) == []


def test_filters_share_one_scale_centred_on_zero_with_a_colour_bar():
    weights = torch.tensor([[[0.5, -0.1], [0.0, 0.2]], [[-0.3, 0.1], [0.4, 0.0]]])
    fig = show_filters(weights)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2
    for image in images:
        assert image.get_clim() == pytest.approx((-0.5, 0.5))
        assert image.get_cmap().name == "RdBu_r"
    assert any(ax.get_ylabel() == "weight" for ax in fig.axes)  # the colour bar
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "0.5" in texts and "-0.3" in texts and "-0.0" not in texts


def test_feature_maps_share_one_scale_unless_asked_otherwise():
    maps = torch.stack([torch.full((3, 3), 0.1), torch.linspace(0, 2, 9).view(3, 3)])
    shared = show_grid(maps)
    clims = [ax.images[0].get_clim() for ax in shared.axes[:2]]
    assert clims == [pytest.approx((0.0, 2.0))] * 2
    assert len(shared.axes) == 3  # a colour bar
    each = show_grid(maps, shared=False)
    assert each.axes[1].images[0].get_clim() == pytest.approx((0.0, 2.0))
    assert each.axes[0].images[0].get_clim() == pytest.approx((0.1, 0.1))
    assert len(each.axes) == 2  # no colour bar: the maps do not compare


@pytest.mark.parametrize(
    "draw",
    [
        lambda: show_images(torch.rand(3, 28, 28)),
        lambda: show_grid(torch.rand(4, 5, 5)),
        lambda: show_filters(torch.randn(4, 3, 3)),
        lambda: plot_history(History([1.0, 0.5], [0.9, 0.6], [80.0, 90.0], [1.0, 1.0])),
        lambda: plot_confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0])),
    ],
    ids=["images", "grid", "filters", "history", "confusion"],
)
def test_every_figure_has_an_opaque_white_background(draw):
    # Readable on a dark page: no transparent figure, whatever the rc settings.
    with plt.rc_context({"figure.facecolor": (1, 1, 1, 0)}):
        fig = draw()
    assert to_rgba(fig.get_facecolor()) == (1.0, 1.0, 1.0, 1.0)
