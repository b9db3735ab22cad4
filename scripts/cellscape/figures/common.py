"""What every figure shares: the false-colour composite, class colours, saving as PNG + PDF."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..runtime.io import atomic_path  # noqa: E402

CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
COLOUR_NOTE = "red = cytoplasm, green = nucleus"  # the false colour, for titles and captions
DARK_CLASS_COLOURS = ["#0b3c61", "#6e1414", "#145214", "#4b2f63", "#8a4504", "#4a2d26"]


def false_colour(image, gain=1.0):
    """(2, H, W) or (N, 2, H, W) in [0, 1] -> RGB (..., H, W, 3): red = cytoplasm, green = nucleus."""
    image = np.asarray(image, dtype=np.float32)
    red, green = image[..., 0, :, :], image[..., 1, :, :]
    rgb = np.stack([red, green, np.zeros_like(red)], axis=-1)
    return np.clip(rgb * gain, 0, 1)


def hue_image(maps, hues=None):
    """Channels (C, H, W), each normalised to [0, 1] and drawn in its own hue, summed (Figs. 5, 6, 17)."""
    maps = np.asarray(maps, dtype=np.float32)
    c = len(maps)
    peak = maps.reshape(c, -1).max(axis=1)[:, None, None]
    maps = maps / np.where(peak > 0, peak, 1)
    hues = np.linspace(0, 1, c, endpoint=False) if hues is None else np.asarray(hues)
    colours = matplotlib.colors.hsv_to_rgb(np.stack([hues, np.ones(c), np.ones(c)], axis=1))
    rgb = np.einsum("chw,ck->hwk", maps, colours)
    return np.clip(rgb / max(1.0, np.percentile(rgb, 99.5)), 0, 1)


def save_figure(fig, png_path, pdf_path=None, dpi=150):
    """Write the figure as PNG and PDF (atomically) and close it."""
    pdf_path = pdf_path or str(Path(png_path).with_suffix(".pdf"))
    for path, kwargs in ((png_path, {"dpi": dpi}), (pdf_path, {})):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=Path(path).suffix[1:], bbox_inches="tight", **kwargs)
    plt.close(fig)


def hide_axes(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def image_tile(ax, image, title=None, fontsize=7):
    ax.imshow(false_colour(image), interpolation="nearest")
    hide_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)


def value_map(ax, values, cmap="magma", title=None, vmax=None, fontsize=7):
    """An activation or attribution map, 0 at black; returns the image for a colour bar."""
    values = np.asarray(values, dtype=np.float32)
    top = float(values.max()) if vmax is None else vmax
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=top if top > 0 else 1, interpolation="nearest")
    hide_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)
    return im
