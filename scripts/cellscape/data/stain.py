"""Fluorescence-like channels from an RGB photograph of a stained smear.

Brightfield stains absorb light: optical density OD = -log10(I / I0) grows with the amount
of dye, as fluorescence grows with the amount of marker. In May-Grunwald-Giemsa smears the
red band's OD is dominated by the purple nucleus and the blue band's OD by the whole cell
(cytoplasm and nucleus), so they play the paper's nucleus and cytoplasm channels; all three
bands can be channels of their own (configs/pbc_three_channels.yaml). The white
point I0 is measured per image (its 99th percentile per band), which removes the colour cast of
an acquisition batch with a bluish background.
"""
import numpy as np

BANDS = {"red": 0, "green": 1, "blue": 2}


def optical_density(rgb):
    """Per-band optical density against the image's own white point, clipped at 0."""
    rgb = np.asarray(rgb, dtype=np.float32)
    white = np.percentile(rgb.reshape(-1, 3), 99, axis=0)
    od = -np.log10((rgb + 1.0) / (white + 1.0))
    return np.clip(od, 0.0, None)


def centre_crop(image, size):
    """Centre crop of the last two axes to at most ``size`` x ``size``."""
    h, w = image.shape[-2:]
    size = min(size, h, w)
    top, left = (h - size) // 2, (w - size) // 2
    return image[..., top:top + size, left:left + size]


def band_channels(rgb, bands, crop):
    """float32 (len(bands), H, W): the optical density of each named band, centre-cropped."""
    od = optical_density(rgb)
    return centre_crop(np.stack([od[..., BANDS[band]] for band in bands]), int(crop))
