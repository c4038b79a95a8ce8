"""Chapter 7's checker for the three gradients of a 1D convolution."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from book_src.exercises import engine
from book_src.exercises.engine import Case, Mistake, Raised

#: (N, C_in, C_out, L, kernel_size, stride, padding); stride None: not passed.
SETUPS = [
    (2, 3, 4, 10, 3, None, None),
    (3, 2, 3, 11, 3, 1, 1),
    (2, 2, 2, 13, 5, 2, 2),
    (1, 3, 2, 9, 2, 3, 0),
    (4, 1, 3, 8, 4, 2, 1),
]
NAMES = ("grad_input", "grad_weight", "grad_bias")
SIGNATURE = "fn(x, weight, bias, grad_output, stride=1, padding=0)"


def autograd(
    c: dict[str, Any], positions: slice = slice(None), samples: int | None = None
) -> tuple[Tensor, Tensor]:
    """Autograd's gradients of the padded input and of the weight.

    Only the upstream gradient at ``positions`` and of the first ``samples`` count.
    """
    x = F.pad(c["x"], (c["p"], c["p"])).requires_grad_()
    weight = c["weight"].clone().requires_grad_()
    grad = torch.zeros_like(c["grad_output"])
    grad[:, :, positions] = c["grad_output"][:, :, positions]
    kernel = weight.unflatten(1, (c["c_in"], -1))
    F.conv1d(x[:samples], kernel, None, c["s"]).backward(grad[:samples])
    return x.grad, weight.grad


def on(fn: Callable[[dict[str, Any]], Any]) -> Callable[[Case], Any]:
    """A simulated mistake computed from a case's inputs."""
    return lambda case: fn(case.config)


#: The known mistakes of each gradient: grad_input, grad_weight, grad_bias.
MISTAKES: tuple[list[Mistake], ...] = (
    [
        Mistake(
            "grad_input still holds the padding: it must have the input's shape; "
            "cut it with grad_padded[:, :, padding : padding + L]",
            simulate=on(lambda c: autograd(c)[0]),
        ),
        Mistake(
            "grad_input: cut the padding off the gradient of the padded input, "
            "grad_padded[:, :, padding : padding + L]",
            fails=lambda c: c["p"] > 0,
        ),
        Mistake(
            "grad_input: windows overlap, so add each window's gradient into "
            "grad_input (+=) instead of assigning it (=)",
            fails=lambda c: c["k"] > c["s"],
        ),
        Mistake(
            "grad_input: stride ignored; the gradient of window i goes back to "
            "where window i started, i * stride",
            fails=lambda c: c["s"] > 1,
        ),
        Mistake(
            "grad_input: window flattened position by position instead of channel "
            "by channel; reshape W^T g to (N, C_in, k)",
            fails=lambda c: c["c_in"] > 1,
        ),
        Mistake(
            "grad_input: off-by-one in the loop's range, the last position is missing",
            simulate=on(
                lambda c: autograd(c, slice(None, -1))[0][
                    :, :, c["p"] : c["p"] + c["x"].shape[2]
                ]
            ),
        ),
    ],
    [
        Mistake(
            "grad_weight must have the Linear's layout (C_out, C_in * k): reshape it",
            simulate=lambda case: case.expected.unflatten(1, (case.config["c_in"], -1)),
        ),
        Mistake(
            "grad_weight has the shape of the weight (C_out, C_in * k), not of its "
            "transpose",
            simulate=lambda case: case.expected.T,
        ),
        Mistake(
            "grad_weight: window flattened position by position instead of channel "
            "by channel; flatten it with window.reshape(N, -1)",
            fails=lambda c: c["c_in"] > 1,
        ),
        Mistake(
            "grad_weight: the same weights serve every position, so add the "
            "contributions g_i w_i^T of all positions, not only the last",
            simulate=on(lambda c: autograd(c, slice(-1, None))[1]),
        ),
        Mistake(
            "grad_weight: add the contributions of every sample of the batch, "
            "do not average them",
            simulate=lambda case: case.expected / case.config["x"].shape[0],
        ),
        Mistake(
            "grad_weight: add the contributions of every sample of the batch, "
            "not only the first",
            simulate=on(lambda c: autograd(c, samples=1)[1]),
        ),
        Mistake(
            "grad_weight: padding missing; the windows are cut from the padded input",
            fails=lambda c: c["p"] > 0,
        ),
        Mistake(
            "grad_weight: stride ignored; window i starts at i * stride",
            fails=lambda c: c["s"] > 1,
        ),
    ],
    [
        Mistake(
            "grad_bias: sum grad_output over the batch too, "
            "grad_output.sum(dim=(0, 2))",
            simulate=on(lambda c: c["grad_output"].sum(2)),
        ),
        Mistake(
            "grad_bias: sum grad_output over the positions too, "
            "grad_output.sum(dim=(0, 2))",
            simulate=on(lambda c: c["grad_output"].sum(0)),
        ),
        Mistake(
            "grad_bias: add, do not average: grad_output.sum(dim=(0, 2))",
            simulate=on(lambda c: c["grad_output"].mean((0, 2))),
        ),
        Mistake(
            "grad_bias missing: the bias gets grad_output.sum(dim=(0, 2))",
            simulate=on(lambda c: torch.zeros_like(c["bias"])),
        ),
    ],
)


def gradient_hint(cases: list[Case], index: int) -> str | None:
    """The hint for the gradient ``NAMES[index]`` alone (None: it is right)."""
    grad = NAMES[index]
    # One case per configuration for this gradient alone.
    parts = [Case(c.label, c.config, c.expected[index], c.got) for c in cases]
    for part in parts:
        if isinstance(part.got, tuple):
            part.got = part.got[index]
        part.problem = "" if engine.same(part.got, part.expected) else "wrong"
    wrong = [p for p in parts if p.problem and not isinstance(p.got, Raised)]
    if not wrong:
        return None
    if found := engine.diagnose(parts, MISTAKES[index]):
        return found
    if any(part.got is None for part in wrong):
        return f"{grad} missing: return it as a tensor, not None"
    if any(
        isinstance(p.got, Tensor) and p.got.shape != p.expected.shape for p in wrong
    ):
        return f"{grad} must have the shape of what it is the gradient of"
    return f"{grad} is wrong: compare your loop with the formulas of chapter 7"


def hint(cases: list[Case]) -> str | None:
    """The hints of the three gradients, or what the learner's function returned."""
    hints = [found for index in range(3) if (found := gradient_hint(cases, index))]
    if hints:
        return ". Also: ".join(hints)
    if any(case.problem.startswith("returned") for case in cases):
        return "return the three gradients: return grad_input, grad_weight, grad_bias"
    return engine.error_hint(cases)


def check_conv1d_backward(fn: Callable[..., Any]) -> bool:
    """Check a learner's 1D convolution gradients against autograd (chapter 7).

    ``fn(x, weight, bias, grad_output, stride=1, padding=0)`` returns
    ``(grad_input, grad_weight, grad_bias)``, each shaped like what it is the
    gradient of: ``x`` ``(N, C_in, L)``, ``weight`` in the Linear's layout
    ``(C_out, C_in * k)`` (rows flattened channel by channel), ``bias`` ``(C_out,)``;
    ``grad_output`` is ``(N, C_out, L_out)``.
    """
    name = engine.check_callable(fn, "check_conv1d_backward", SIGNATURE)

    def run(setup: tuple[int, ...]) -> Case:
        n, c_in, c_out, length, k, stride, padding = setup
        s, p = stride or 1, padding or 0
        x = torch.randn(n, c_in, length, dtype=torch.float64, requires_grad=True)
        weight = torch.randn(c_out, c_in * k, dtype=torch.float64, requires_grad=True)
        bias = torch.randn(c_out, dtype=torch.float64, requires_grad=True)
        out = F.conv1d(x, weight.view(c_out, c_in, k), bias, s, p)
        grad_output = torch.randn_like(out)
        out.backward(grad_output)
        kwargs = {} if stride is None else {"stride": s, "padding": p}
        label = f"x {tuple(x.shape)}, weight {tuple(weight.shape)} (k={k})"
        label += "".join(f", {key}={v}" for key, v in kwargs.items())
        inputs = dict(x=x.detach(), weight=weight.detach(), bias=bias.detach())
        config = dict(**inputs, grad_output=grad_output, c_in=c_in, k=k, s=s, p=p)
        case = Case(label, config, (x.grad, weight.grad, bias.grad))
        args = [t.clone() for t in (*inputs.values(), grad_output)]
        got = engine.attempt(fn, *args, **kwargs)
        case.got = tuple(got) if isinstance(got, list) else got
        if isinstance(case.got, Raised):
            case.problem = f"raised {case.got.message}"
        elif not isinstance(case.got, tuple) or len(case.got) != 3:
            case.problem = (
                f"returned {type(case.got).__name__}, expected a tuple "
                "(grad_input, grad_weight, grad_bias)"
            )
            case.got = Raised("wrong return")
        else:
            case.problem = "; ".join(
                f"{grad} {problem}"
                for grad, g, e in zip(NAMES, case.got, case.expected)
                if (problem := engine.describe(g, e))
            )
        case.result = "the three gradients match"
        return case

    title = f"Checking {name} against autograd of F.conv1d, in float64:"
    return engine.run_checks(title, "autograd", SETUPS, run, hint)
