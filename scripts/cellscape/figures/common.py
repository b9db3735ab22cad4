"""What every figure shares: the channel composite, class colours, saving as PNG + PDF."""
import colorsys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..data.channels import rgb_colours  # noqa: E402
from ..runtime.io import atomic_path  # noqa: E402

CLASS_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
DARK_CLASS_COLOURS = ["#0b3c61", "#6e1414", "#145214", "#4b2f63", "#8a4504", "#4a2d26"]
#: colour names for the colour note, by hue (degrees, the upper end of each name's range)
HUE_NAMES = ((15, "red"), (45, "orange"), (75, "yellow"), (105, "lime"), (135, "green"), (165, "spring green"),
             (195, "cyan"), (255, "blue"), (285, "violet"), (315, "magenta"), (345, "pink"), (360, "red"))


def channel_mix(image, channels):
    """Each channel's intensity times its display colour, summed: (C, H, W) or (N, C, H, W) ->
    (..., H, W, 3), not clipped (kernel weights need the peak to scale)."""
    image = np.asarray(image, dtype=np.float32)
    colours = np.asarray(rgb_colours(channels), dtype=np.float32)
    if image.ndim < 3 or image.shape[-3] != len(colours):
        raise ValueError(f"images of shape {image.shape}: expected (..., {len(colours)}, H, W), one plane per channel "
                         f"({', '.join(c.get('name', '?') for c in channels)})")
    return np.einsum("...chw,ck->...hwk", image, colours)


def compose_channels(image, channels, gain=1.0):
    """(C, H, W) or (N, C, H, W) in [0, 1] -> RGB (..., H, W, 3) in [0, 1]: the channels added in
    their configured colours (``channels``: dicts with ``colour``), as a microscope overlays them;
    where colours add past 1 the composite saturates."""
    return np.clip(channel_mix(image, channels) * gain, 0, 1)


def colour_name(colour):
    """A "#rrggbb" colour's everyday name (grey or white when unsaturated), for titles."""
    hue, lightness, saturation = colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))
    if saturation < 0.25 or lightness in (0.0, 1.0):
        return "white" if lightness > 0.95 else "black" if lightness < 0.05 else "grey"
    return next(name for top, name in HUE_NAMES if 360 * hue < top)


def colour_note(channels):
    """Which colour shows which channel in a composite: "red = cytoplasm, green = nucleus"."""
    return ", ".join(f"{colour_name(c['colour'])} = {c['name']}" for c in channels)


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


def image_tile(ax, image, channels, title=None, fontsize=7):
    """One (C, H, W) image as the composite of its ``channels``."""
    ax.imshow(compose_channels(image, channels), interpolation="nearest")
    hide_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)


def channel_tiles(axes, image, channels, fontsize=7, prefix=""):
    """Each channel of one (C, H, W) image alone in grey (0 black, 1 white), titled by its name
    and framed in its colour: what the composite mixes, readable whatever the colours."""
    for ax, plane, channel in zip(axes, np.asarray(image), channels):
        ax.imshow(plane, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        hide_axes(ax)
        ax.set_title(prefix + channel["name"], fontsize=fontsize)
        colour_frame(ax, channel["colour"])


def colour_frame(ax, colour):
    """Frame a one-channel panel in the channel's composite colour."""
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(2)


def value_map(ax, values, cmap="magma", title=None, vmax=None, fontsize=7):
    """An activation or attribution map, 0 at black; returns the image for a colour bar."""
    values = np.asarray(values, dtype=np.float32)
    top = float(values.max()) if vmax is None else vmax
    im = ax.imshow(values, cmap=cmap, vmin=0, vmax=top if top > 0 else 1, interpolation="nearest")
    hide_axes(ax)
    if title is not None:
        ax.set_title(title, fontsize=fontsize)
    return im
