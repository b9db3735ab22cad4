"""Intensity features of every channel, in the image set's units (the filtered, normalised
images the network sees; ``data/index.csv`` keeps the counts before normalisation)."""
import numpy as np

from .registry import register


@register("integrated_intensity", "channel", "image units x px", "sum of the channel over the cell mask")
def integrated_intensity(view, c):
    return float(view.image[c][view.cell].sum())


@register("mean_intensity", "channel", "image units", "integrated intensity / cell area")
def mean_intensity(view, c):
    area = view.cell.sum()
    return float(view.image[c][view.cell].sum() / area) if area else float("nan")


@register("max_intensity", "channel", "image units", "largest value of the channel in the cell mask")
def max_intensity(view, c):
    return float(view.image[c][view.cell].max()) if view.cell.any() else float("nan")
