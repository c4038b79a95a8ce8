"""The vectorised twins beyond the shared parity sweep of test_layers.py.

test_layers.py holds them to torch.nn (outputs and gradients, float64, every
argument). Here: they really are the loop layers with one method replaced, their
im2col and its hand-written backward are right, the work does not grow into a
loop over positions, the output is laid out contiguously, and training with
them follows the loop layers step for step.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from book_src import layers, models, profiling, vectorized

from parity import Im2colConv3D

DTYPE = torch.float64
TWINS = {
    1: vectorized.Im2colConv1D,
    2: vectorized.Im2colConv2D,
    3: Im2colConv3D,
}
LOOPS = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}
TORCH_CONVS = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_twin_overrides_only_convolve(ndim):
    twin, loop = TWINS[ndim], LOOPS[ndim]
    assert issubclass(twin, loop)
    added = {
        name
        for cls in twin.__mro__
        if cls.__module__ == vectorized.__name__
        for name, value in vars(cls).items()
        if inspect.isfunction(value)
    }
    assert added == {"convolve"}
    # Same constructor, same single Linear, same weights from the same seed.
    torch.manual_seed(0)
    ours = twin(4, 6, 3, groups=2)
    torch.manual_seed(0)
    theirs = loop(4, 6, 3, groups=2)
    assert [n for n, _ in ours.named_parameters()] == ["kernel.weight", "kernel.bias"]
    assert torch.equal(ours.weight, theirs.weight)
    assert type(twin.from_torch(TORCH_CONVS[ndim](2, 2, 3))) is twin


@pytest.mark.parametrize(
    ("stride", "dilation"), [((1, 1), (1, 1)), ((2, 1), (1, 2)), ((3, 2), (2, 1))]
)
def test_im2col_matches_unfold(stride, dilation):
    x = torch.randn(2, 3, 9, 8, dtype=DTYPE)
    cols = vectorized.im2col(x, (3, 2), stride, dilation)
    expected = F.unfold(x, (3, 2), dilation=dilation, stride=stride)
    assert torch.equal(cols, expected)


def test_im2col_small_example():
    # One channel, kernel 3: column p holds elements p, p + 1 and p + 2.
    x = torch.arange(1.0, 7.0).view(1, 1, 6)
    assert vectorized.im2col(x, (3,)).squeeze(0).tolist() == [
        [1.0, 2.0, 3.0, 4.0],
        [2.0, 3.0, 4.0, 5.0],
        [3.0, 4.0, 5.0, 6.0],
    ]


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "dilation"),
    [
        ((2, 2, 9), (3,), (2,), (1,)),
        ((1, 2, 6, 7), (2, 3), (1, 2), (2, 1)),
        ((1, 1, 4, 5, 5), (2, 2, 3), (1, 2, 1), (1, 1, 2)),
    ],
)
def test_im2col_backward_is_right(shape, kernel, stride, dilation):
    x = torch.randn(shape, dtype=DTYPE, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: vectorized.im2col(t, kernel, stride, dilation), (x,)
    )
    # col2im is the adjoint of im2col: <im2col(x), y> == <x, col2im(y)>.
    cols = vectorized.im2col(x.detach(), kernel, stride, dilation)
    y = torch.randn_like(cols)
    out_size = [
        layers.output_size(s, k, st, 0, d)
        for s, k, st, d in zip(shape[2:], kernel, stride, dilation)
    ]
    back = vectorized.col2im(y, shape, kernel, stride, dilation, out_size)
    torch.testing.assert_close((cols * y).sum(), (x.detach() * back).sum())


def test_window_view_copies_nothing():
    x = torch.randn(2, 3, 10)
    view = vectorized.window_view(x, (3,), (2,), (1,), (4,))
    assert view.shape == (2, 3, 3, 4)
    assert view.data_ptr() == x.data_ptr()
    assert view.stride() == (30, 10, 1, 2)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_no_python_loop_over_positions(ndim):
    """The same torch calls, as many of them, whatever the input size."""
    conv = TWINS[ndim](2, 4, 3, stride=2, padding=1, groups=2)

    def calls(size: int):
        x = torch.randn(2, 2, *(size,) * ndim, requires_grad=True)
        return profiling.count_calls(lambda: conv(x).sum().backward())

    small, large = calls(6), calls(12 if ndim < 3 else 9)
    assert small == large
    assert small["torch.baddbmm"] == 1  # one matrix product for every window
    assert small["torch.nn.functional.linear"] == 0
    # The loop layer, for contrast, calls its Linear once per position.
    loop = LOOPS[ndim](2, 4, 3, stride=2, padding=1)
    x = torch.randn(2, 2, *(6,) * ndim)
    calls = profiling.count_calls(lambda: loop(x))
    assert calls["torch.nn.functional.linear"] == 3**ndim


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("batch", [None, 0, 3], ids=["unbatched", "empty", "three"])
def test_output_is_contiguous(ndim, batch):
    conv = TWINS[ndim](4, 6, 3, stride=2, padding=1, groups=2, dtype=DTYPE)
    shape = (4, *(7,) * ndim) if batch is None else (batch, 4, *(7,) * ndim)
    y = conv(torch.randn(shape, dtype=DTYPE))
    assert y.is_contiguous()
    assert y.shape == (*shape[:-ndim][:-1], 6, *(4,) * ndim)


def test_input_that_is_not_contiguous():
    # A view with a storage offset and odd strides, and no padding: im2col reads
    # the strides of the input itself.
    base = torch.randn(3, 10, 4, 12, dtype=DTYPE)
    x = base[1:, 2:6].transpose(2, 3)[..., 1:]  # (2, 4, 12, 3), not contiguous
    theirs = nn.Conv2d(4, 5, (3, 2), stride=(2, 1), dtype=DTYPE)
    ours = vectorized.Im2colConv2D.from_torch(theirs)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-10, atol=1e-12)


def _train_losses(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(3):
        batch = slice(4 * step, 4 * step + 4)
        loss = F.cross_entropy(model(inputs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize(
    ("network", "ndim", "shape"),
    [(models.cnn1d, 1, (1, 784)), (models.cnn2d, 2, (1, 28, 28))],
    ids=["cnn1d", "cnn2d"],
)
def test_training_follows_the_loop_layers(network, ndim, shape):
    generator = torch.Generator().manual_seed(0)
    inputs = torch.rand(12, *shape, generator=generator, dtype=DTYPE)
    labels = torch.randint(0, 10, (12,), generator=generator)
    runs = {}
    for name, conv in (("loop", LOOPS[ndim]), ("vectorized", TWINS[ndim])):
        torch.manual_seed(0)
        model = network(conv=conv).to(DTYPE)
        runs[name] = (_train_losses(model, inputs, labels), model.state_dict())
    (loop_losses, loop_state), (vec_losses, vec_state) = runs.values()
    assert len(set(loop_losses)) == 3  # it does learn something
    torch.testing.assert_close(vec_losses, loop_losses, rtol=1e-10, atol=1e-12)
    for key in loop_state:
        torch.testing.assert_close(
            vec_state[key], loop_state[key], rtol=1e-9, atol=1e-11
        )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("classes", [TWINS, LOOPS], ids=["vectorized", "loop"])
@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_matches_torch_on_cuda(ndim, classes):
    # float64, as on the CPU: in float32, cuDNN may use TF32 for torch.nn's
    # convolution (about 3 significant digits), while our matmul does not.
    theirs = TORCH_CONVS[ndim](4, 6, 3, stride=2, padding=1, groups=2)
    theirs = theirs.to("cuda", torch.float64)
    ours = classes[ndim].from_torch(theirs)
    x1 = torch.randn(3, 4, *(9,) * ndim, device="cuda", dtype=torch.float64)
    x1.requires_grad_()
    x2 = x1.detach().clone().requires_grad_()
    y1, y2 = ours(x1), theirs(x2)
    assert y1.device == x1.device
    torch.testing.assert_close(y1, y2)
    y1.sum().backward()
    y2.sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(
        ours.kernel.weight.grad.view_as(theirs.weight), theirs.weight.grad
    )
