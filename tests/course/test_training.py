"""fit/evaluate: reproducible, learns, reports clearly, loses nothing on interrupt."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from book_src.training import evaluate, fit, make_loaders, predict, set_seed


def toy_data(n: int = 256, seed: int = 0) -> TensorDataset:
    """Two well separated classes in 4 dimensions."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 4, generator=g) + 3.0 * labels[:, None]
    return TensorDataset(x, labels)


def train_once(seed: int = 0, epochs: int = 3, log=None):
    set_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    loaders = make_loaders(toy_data(), toy_data(seed=1), batch_size=32, seed=seed)
    history = fit(
        model,
        loaders.train,
        loaders.val,
        epochs=epochs,
        lr=1e-2,
        device="cpu",
        progress=False,
        log=log,
    )
    return model, loaders, history


def test_fit_learns_and_records_each_epoch():
    model, loaders, history = train_once()
    assert history.epochs == 3
    assert len(history.val_loss) == len(history.epoch_seconds) == 3
    assert history.train_loss[-1] < history.train_loss[0]
    result = evaluate(model, loaders.test, "cpu")
    assert result.total == 256 and result.accuracy > 90
    predictions, labels = predict(model, loaders.test, "cpu")
    assert predictions.shape == labels.shape == (256,)
    assert 100 * (predictions == labels).float().mean().item() == pytest.approx(
        result.accuracy
    )


def test_same_seed_same_run_bit_for_bit():
    _, _, a = train_once(seed=3)
    _, _, b = train_once(seed=3)
    _, _, c = train_once(seed=4)
    assert a.train_loss == b.train_loss and a.val_loss == b.val_loss
    assert a.train_loss != c.train_loss


def test_split_is_80_20_and_seeded():
    loaders = make_loaders(toy_data(), toy_data(), val_fraction=0.2, seed=0)
    assert len(loaders.train.dataset) == 205 and len(loaders.val.dataset) == 51
    again = make_loaders(toy_data(), toy_data(), val_fraction=0.2, seed=0)
    assert loaders.train.dataset.indices == again.train.dataset.indices
    with pytest.raises(ValueError, match="val_fraction"):
        make_loaders(toy_data(), toy_data(), val_fraction=1.5)


def test_one_line_per_epoch():
    lines = []
    train_once(epochs=2, log=lines.append)
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2: train loss ")
    assert "val loss" in lines[0] and "val accuracy" in lines[0]


def test_nan_loss_is_an_error_not_a_result():
    model = nn.Linear(4, 2)
    with torch.no_grad():
        model.weight.fill_(float("nan"))
    loaders = make_loaders(toy_data(), toy_data(), batch_size=32)
    with pytest.raises(FloatingPointError, match="loss became nan"):
        fit(model, loaders.train, loaders.val, epochs=1, progress=False, log=None)


def test_interrupt_keeps_completed_epochs():
    class StopInEpoch2(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(4, 2)
            self.calls = 0

        def forward(self, x):
            if self.training:
                self.calls += 1
                if self.calls == 10:  # 7 batches an epoch: this is epoch 2
                    raise KeyboardInterrupt
            return self.net(x)

    loaders = make_loaders(toy_data(), toy_data(), batch_size=32)
    lines = []
    history = fit(
        StopInEpoch2(),
        loaders.train,
        loaders.val,
        epochs=5,
        progress=False,
        log=lines.append,
    )
    assert history.epochs == 1
    assert "interrupted" in lines[-1] and "1 completed epoch" in lines[-1]


def test_evaluate_refuses_an_empty_loader():
    empty = make_loaders(toy_data(), TensorDataset(torch.empty(0, 4), torch.empty(0)))
    with pytest.raises(ValueError, match="no samples"):
        evaluate(nn.Linear(4, 2), empty.test, "cpu")
