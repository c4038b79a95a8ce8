"""The sliding window and the clips, animated: HTML a reader can play and step."""

from __future__ import annotations

import hashlib
import html as html_lib
import re
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from matplotlib.animation import FuncAnimation
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

__all__ = ["play_clips", "slide_window_1d", "slide_window_2d", "to_html"]

DPI = 72
"""Dots per inch of every frame: small images keep a chapter under 1.5 MB."""

WINDOW_COLOR = "#e66100"
"""The window's colour (orange, readable next to grey and blue)."""


def _figure(width: float, height: float) -> Figure:
    """A white figure outside pyplot (so a notebook does not show it by itself)."""
    return Figure(figsize=(width, height), dpi=DPI, facecolor="white")


def _number(value: float) -> str:
    """A short label for a value: at most two decimals, no trailing zeros."""
    return f"{round(float(value), 2):g}"


def slide_window_1d(
    values: Sequence[float],
    weight: Sequence[float],
    *,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 0,
    interval: int = 1000,
) -> FuncAnimation:
    """The window of a 1D convolution sliding along a zero-padded sequence (ch. 1).

    One frame per output position ``i``: the padded input on top with the window
    that starts at ``i * stride`` framed, the kernel's weights under its cells,
    and below, the output, filled up to position ``i``, whose new value is
    ``sum(weight * window) + bias``, written out in the title.
    """
    values = [float(v) for v in values]
    weight = [float(w) for w in weight]
    k = len(weight)
    padded = [0.0] * padding + values + [0.0] * padding
    if k == 0 or len(padded) < k or stride < 1:
        raise ValueError(
            f"slide_window_1d: a kernel of {k} with stride {stride} does not fit "
            f"a sequence of {len(values)} padded by {padding}"
        )
    starts = list(range(0, len(padded) - k + 1, stride))
    outputs = [
        sum(w * v for w, v in zip(weight, padded[s : s + k])) + bias for s in starts
    ]

    width = max(len(padded), k) + 1.6
    fig = _figure(min(0.62 * width + 0.4, 8.0), 2.9)
    ax = fig.add_axes((0.01, 0.0, 0.98, 0.8))
    ax.set_xlim(-1.6, width - 1.6)
    ax.set_ylim(-0.7, 4.2)
    ax.set_aspect("equal")
    ax.axis("off")
    in_y, out_y = 2.8, 0.0
    ax.text(-0.2, in_y + 0.5, "input", ha="right", va="center", fontsize=10)
    ax.text(-0.2, out_y + 0.5, "output", ha="right", va="center", fontsize=10)
    for x, v in enumerate(padded):
        if x < padding or x >= len(padded) - padding:  # a zero of the padding
            look = {"facecolor": "#e8e8e8", "edgecolor": "#8c8c8c", "ls": (0, (3, 2))}
        else:
            look = {"facecolor": "white", "edgecolor": "black", "ls": "-"}
        ax.add_patch(Rectangle((x, in_y), 1, 1, **look))
        ax.text(x + 0.5, in_y + 0.5, _number(v), ha="center", va="center", fontsize=11)
    # Output j sits under the middle of window j.
    out_x = [s + (k - 1) / 2 for s in starts]
    out_boxes, out_text = [], []
    for x in out_x:
        box = Rectangle((x, out_y), 1, 1, facecolor="white", edgecolor="black")
        out_boxes.append(ax.add_patch(box))
        text = ax.text(x + 0.5, out_y + 0.5, "", ha="center", va="center", fontsize=11)
        out_text.append(text)
    frame = Rectangle((0, in_y - 0.08), k, 1.16, fill=False, ec=WINDOW_COLOR, lw=3)
    ax.add_patch(frame)
    weight_text = [
        ax.text(0, in_y - 0.35, f"×{_number(w)}", ha="center", va="center", fontsize=9)
        for w in weight
    ]
    arrow = ax.annotate(
        "",
        xy=(0, out_y + 1.05),
        xytext=(0, in_y - 0.6),
        arrowprops=dict(arrowstyle="-|>", color=WINDOW_COLOR, lw=1.5),
    )
    title = fig.suptitle("", fontsize=10, y=0.96)

    def draw(i: int) -> None:
        start = starts[i]
        frame.set_x(start)
        for j, text in enumerate(weight_text):
            text.set_x(start + j + 0.5)
        arrow.xy = (out_x[i] + 0.5, out_y + 1.05)
        arrow.set_position((out_x[i] + 0.5, in_y - 0.6))
        for j, (box, text) in enumerate(zip(out_boxes, out_text)):
            text.set_text(_number(outputs[j]) if j <= i else "")
            box.set_facecolor("#fdd9b5" if j == i else "white")
        window = padded[start : start + k]
        terms = " + ".join(
            f"({_number(w)})·{_number(v)}" if w < 0 else f"{_number(w)}·{_number(v)}"
            for w, v in zip(weight, window)
        )
        if bias:
            terms += f" + {_number(bias)}"
        title.set_text(f"i = {i}: {terms} = {_number(outputs[i])}")

    return FuncAnimation(fig, draw, frames=len(starts), interval=interval)


def slide_window_2d(
    image: Tensor,
    weight: Tensor,
    *,
    bias: float = 0.0,
    stride: int = 1,
    padding: int = 1,
    positions: Sequence[tuple[int, int]] | None = None,
    interval: int = 500,
) -> FuncAnimation:
    """A 2D window sliding over an image, and the output pixel it writes (ch. 4).

    Three panels: the zero-padded image ``(H, W)`` or ``(1, H, W)`` with the window
    framed, the kernel ``(kH, kW)`` or ``(1, 1, kH, kW)``, and the output. The loop
    visits the positions row by row, left to right; frame ``f`` shows the window at
    ``positions[f]`` (by default about 30 of them, few enough for a small page) and
    the output with every pixel the loop has written by then (the rest grey), the
    new one framed. Its value, ``(window * weight).sum() + bias``, is in the title.
    """
    image = torch.as_tensor(image).detach().cpu().double()
    weight = torch.as_tensor(weight).detach().cpu().double()
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    weight = weight.reshape(weight.shape[-2:]) if weight.dim() > 2 else weight
    if image.dim() != 2 or weight.dim() != 2:
        raise ValueError(
            "slide_window_2d: expected an image (H, W) and a kernel (kH, kW), got "
            f"{tuple(image.shape)} and {tuple(weight.shape)}"
        )
    kh, kw = weight.shape
    padded = F.pad(image, (padding, padding, padding, padding))
    if padded.shape[0] < kh or padded.shape[1] < kw or stride < 1:
        raise ValueError("slide_window_2d: the kernel does not fit the padded image")
    # Every window, as the loop cuts it: (out_h, out_w, kh, kw).
    windows = padded.unfold(0, kh, stride).unfold(1, kw, stride)
    output = (windows * weight).sum(dim=(2, 3)) + bias
    out_h, out_w = output.shape
    if positions is None:  # a quarter of the rows, a seventh of the columns, the last
        rows = range(0, out_h, max(1, out_h // 4))
        cols = range(0, out_w, max(1, out_w // 7))
        positions = [(i, j) for i in rows for j in cols]
        if positions[-1] != (out_h - 1, out_w - 1):
            positions.append((out_h - 1, out_w - 1))
    positions = [(int(i), int(j)) for i, j in positions]
    for i, j in positions:
        if not (0 <= i < out_h and 0 <= j < out_w):
            raise ValueError(
                f"slide_window_2d: position {(i, j)} is outside the "
                f"{out_h} x {out_w} output"
            )

    fig = _figure(7.2, 2.9)
    ratios = [padded.shape[1], 0.55 * padded.shape[1], out_w]
    ax_in, ax_w, ax_out = fig.subplots(1, 3, gridspec_kw={"width_ratios": ratios})
    for ax in (ax_in, ax_w, ax_out):
        ax.set(xticks=[], yticks=[])
    brightest = max(1.0, padded.max().item())
    ax_in.imshow(padded.numpy(), cmap="gray", vmin=0, vmax=brightest)
    ax_in.set_title(f"input, padded by {padding}", fontsize=9)
    if padding:  # the image's own edge, inside the padding, dashed
        height, width = image.shape
        corner = (padding - 0.5, padding - 0.5)
        dashed = {"fill": False, "edgecolor": "#4a90d9", "lw": 1, "ls": (0, (2, 2))}
        ax_in.add_patch(Rectangle(corner, width, height, **dashed))
    window_box = Rectangle((-0.5, -0.5), kw, kh, fill=False, ec=WINDOW_COLOR, lw=2.5)
    ax_in.add_patch(window_box)

    reach = max(weight.abs().max().item(), 1e-12)
    ax_w.imshow(weight.numpy(), cmap="RdBu_r", vmin=-reach, vmax=reach)
    ax_w.set_title("kernel", fontsize=9)
    for (r, c), w in np.ndenumerate(weight.numpy()):
        dark = abs(w) > 0.6 * reach  # white text on the saturated colours
        color = "white" if dark else "black"
        ax_w.text(c, r, _number(w), ha="center", va="center", fontsize=8, color=color)

    scale = max(output.abs().max().item(), 1e-12)
    cmap = colormaps["RdBu_r"].with_extremes(bad="#c8c8c8")  # NaN (not written) grey
    shown = torch.full_like(output, float("nan"))
    out_image = ax_out.imshow(shown.numpy(), cmap=cmap, vmin=-scale, vmax=scale)
    ax_out.set_title("output", fontsize=9)
    pixel_box = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor=WINDOW_COLOR, lw=2)
    ax_out.add_patch(pixel_box)
    title = fig.suptitle("", fontsize=10)
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.02, top=0.8, wspace=0.08)

    def draw(f: int) -> None:
        i, j = positions[f]
        window_box.set_xy((j * stride - 0.5, i * stride - 0.5))
        pixel_box.set_xy((j - 0.5, i - 0.5))
        written = torch.arange(out_h * out_w).view(out_h, out_w) <= i * out_w + j
        out_image.set_data(torch.where(written, output, float("nan")).numpy())
        title.set_text(
            f"position ({i}, {j}): sum(window × kernel)"
            + (f" + {_number(bias)}" if bias else "")
            + f" = {output[i, j].item():.2f}"
        )

    return FuncAnimation(fig, draw, frames=len(positions), interval=interval)


def play_clips(
    clips: Tensor | Sequence[Tensor],
    labels: Sequence[str] | None = None,
    *,
    size: float = 1.3,
    interval: int = 400,
) -> FuncAnimation:
    """Clips side by side, played frame by frame (chapter 5), ``size`` inches each.

    ``clips``: ``(N, 1, T, H, W)``, ``(N, T, H, W)`` or a list of ``(1, T, H, W)``,
    values in [0, 1]; ``labels``: one short title per clip.
    """
    clips = [clip.detach().cpu().reshape(-1, *clip.shape[-2:]) for clip in clips]
    if not clips:
        raise ValueError("play_clips: no clips")
    frames = max(len(clip) for clip in clips)
    title_lines = max((label.count("\n") + 1 for label in labels or []), default=0)
    top, bottom = 0.08 + 0.17 * title_lines, 0.3  # inches for titles, for "t = "
    fig = _figure(size * len(clips) + 0.2, size + top + bottom)
    axes = fig.subplots(1, len(clips), squeeze=False)[0]
    images = []
    for n, (ax, clip) in enumerate(zip(axes, clips)):
        ax.set(xticks=[], yticks=[])
        ax.spines[:].set_color("0.6")  # a thin grey border: the frame's edge
        images.append(ax.imshow(clip[0].numpy(), cmap="gray", vmin=0, vmax=1))
        if labels is not None:
            ax.set_title(labels[n], fontsize=9)
    height = size + top + bottom
    fig.subplots_adjust(
        left=0.1 / fig.get_figwidth(),
        right=1 - 0.1 / fig.get_figwidth(),
        bottom=bottom / height,
        top=1 - top / height,
        wspace=0.08,
    )
    title = fig.text(0.5, 0.04, "", ha="center", va="bottom", fontsize=10)

    def draw(t: int) -> None:
        for image, clip in zip(images, clips):
            image.set_data(clip[min(t, len(clip) - 1)].numpy())
        title.set_text(f"t = {t}")

    return FuncAnimation(fig, draw, frames=frames, interval=interval)


_ICONS = {
    "fa-minus": "−",
    "fa-fast-backward": "|◀◀",
    "fa-step-backward": "|◀",
    "fa-play fa-flip-horizontal": "◀",
    "fa-pause": "❚❚",
    "fa-play": "▶",
    "fa-step-forward": "▶|",
    "fa-fast-forward": "▶▶|",
    "fa-plus": "+",
}
"""matplotlib's Font Awesome icons (from a CDN) and the text that replaces them."""


def to_html(animation: FuncAnimation, alt: str, caption: str | None = None) -> str:
    """The animation as self-contained HTML and JavaScript: no network needed.

    matplotlib's ``to_jshtml`` (every frame a PNG), with the CDN's icons as text,
    the first frame in place (a page without JavaScript, or printed, shows it) and
    ids derived from the content (a re-run writes the same HTML). ``alt``: what the
    animation shows, in one sentence; with a ``caption``, the HTML is a
    ``<figure>``. Nothing plays until the reader asks. In a notebook, show it with
    ``IPython.display.HTML``. A RuntimeError means a frame went missing (over
    matplotlib's ``animation.embed_limit``) or the HTML still points to the network.
    """
    expected = len(list(animation.new_saved_frame_seq()))
    raw = animation.to_jshtml()
    html = re.sub(r"<link[^>]*>\s*", "", raw)  # the Font Awesome stylesheet
    for icon, text in _ICONS.items():
        html = html.replace(
            f'<i class="fa {icon}"></i>', f'<span aria-hidden="true">{text}</span>'
        )
    ids = set(re.findall(r"_anim_img([0-9a-f]{32})", html))
    frames = re.findall(r'frames\[\d+\] = "(data:image/png;base64,[^"]*)"', html)
    if len(ids) != 1 or len(frames) != expected:
        raise RuntimeError(
            f"to_html: expected one animation of {expected} frames, found "
            f"{len(ids)} animation(s) and {len(frames)} frame(s)"
        )
    (old,) = ids
    new = hashlib.sha256(html.replace(old, "").encode()).hexdigest()[:32]
    html = html.replace(old, new)
    first = frames[0].replace("\\\n", "")
    html = html.replace(
        f'<img id="_anim_img{new}">',
        f'<img id="_anim_img{new}" src="{first}" alt="{html_lib.escape(alt)}">',
    )
    html = html.replace(
        f'<input id="_anim_slider{new}" type="range"',
        f'<input id="_anim_slider{new}" type="range" aria-label="Frame"',
    )
    if re.search(r"https?://|<i class=\"fa", html):
        raise RuntimeError("to_html: the HTML still loads something from the network")
    if caption is not None:
        figcaption = f"<figcaption>{html_lib.escape(caption)}</figcaption>"
        html = f'<figure class="book-animation">\n{html}\n{figcaption}\n</figure>'
    return html
