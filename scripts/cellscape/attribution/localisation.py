"""Localisation: how much of a map's attribution falls on the cell's own structures.

The share of the (non-negative) importance inside the cell (the union of the channels' masks) and
inside the nucleus (the nucleus channel's non-zero pixels, when the image set has a channel called
nucleus), beside the share of the image those masks cover: a map that knows nothing of the cell
puts about the area's share there. No I/O here.
"""
import numpy as np


def mass_share(maps, masks):
    """(B,) share of each non-negative map's sum inside its mask (NaN for an all-zero map)."""
    maps = np.abs(np.asarray(maps, dtype=np.float64))
    total = maps.sum(axis=(1, 2))
    inside = (maps * np.asarray(masks, dtype=bool)).sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def area_share(masks):
    """(B,) share of the image each mask covers."""
    return np.asarray(masks, dtype=bool).mean(axis=(1, 2))
