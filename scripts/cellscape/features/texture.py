"""Texture features: Haralick's contrast and entropy of a grey-level co-occurrence matrix (GLCM)
for every channel, and the darkfield channel's granularity (its high-frequency energy), the
image-cytometry stand-in for side-scatter granularity."""
import numpy as np
from scipy import ndimage
from skimage.feature import graycomatrix

from .registry import register

#: grey levels of the co-occurrence matrix (the cell's own range split in equal steps)
GLCM_LEVELS = 16
#: the four directions of the 1-px neighbour pairs (averaged: the measure does not turn with the cell)
GLCM_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
#: the Gaussian whose blur is the low-frequency part that granularity leaves out, px
GRANULARITY_SIGMA_PX = 1.5


def cooccurrence(values, mask, levels=GLCM_LEVELS):
    """Normalised symmetric GLCM (levels x levels) of the pixels of ``mask``: values quantised to
    1..levels over [0, their maximum] (so brightness scales out), neighbours at 1 px in four
    directions summed; pairs with a pixel outside the mask are left out. None for < 2 pixels."""
    if mask.sum() < 2:
        return None
    top = values[mask].max()
    quantised = np.zeros(values.shape, dtype=np.uint8)
    scaled = values[mask] / top if top > 0 else np.zeros(int(mask.sum()))
    quantised[mask] = 1 + np.minimum((np.clip(scaled, 0, 1) * levels).astype(int), levels - 1)
    counts = graycomatrix(quantised, [1], list(GLCM_ANGLES), levels=levels + 1, symmetric=True)
    pairs = counts[1:, 1:, 0, :].sum(axis=-1).astype(np.float64)
    total = pairs.sum()
    return pairs / total if total else None


def glcm_contrast(matrix):
    """sum_ij P(i, j) (i - j)^2, in grey levels squared."""
    i, j = np.indices(matrix.shape)
    return float((matrix * (i - j) ** 2).sum())


def glcm_entropy(matrix):
    """-sum_ij P(i, j) log2 P(i, j), in bits."""
    p = matrix[matrix > 0]
    return float(-(p * np.log2(p)).sum())


def _glcm(view, c):
    return view.memo(("glcm", c), lambda: cooccurrence(view.image[c], view.mask(c)))


@register("glcm_contrast", "channel", "grey levels^2",
          f"Haralick contrast sum P(i,j)(i-j)^2 of the GLCM ({GLCM_LEVELS} levels over the cell's range, "
          "1-px neighbours, 4 directions)")
def contrast(view, c):
    matrix = _glcm(view, c)
    return glcm_contrast(matrix) if matrix is not None else float("nan")


@register("glcm_entropy", "channel", "bits", "Haralick entropy -sum P(i,j) log2 P(i,j) of the same GLCM")
def entropy(view, c):
    matrix = _glcm(view, c)
    return glcm_entropy(matrix) if matrix is not None else float("nan")


def high_frequency_share(values, mask, sigma=GRANULARITY_SIGMA_PX):
    """Share of the signal's energy in the mask above the Gaussian low-pass of ``sigma`` px:
    sum (I - L)^2 / sum I^2 over the mask, L the mask-normalised blur G(I m) / G(m), so the cell's
    own edge adds nothing. 0 for a smooth signal, larger for speckled (granular) scatter."""
    if not mask.any():
        return float("nan")
    weight = mask.astype(np.float64)
    inside = values * weight
    low = ndimage.gaussian_filter(inside, sigma) / np.maximum(ndimage.gaussian_filter(weight, sigma), 1e-12)
    energy = (inside[mask] ** 2).sum()
    return float(((inside - low)[mask] ** 2).sum() / energy) if energy > 0 else float("nan")


@register("granularity", "darkfield", "1",
          f"sum (I - L)^2 / sum I^2 over the cell, L = mask-normalised Gaussian blur (sigma "
          f"{GRANULARITY_SIGMA_PX} px): the share of side-scatter energy at high spatial frequency")
def granularity(view, c):
    return high_frequency_share(view.image[c], view.cell)
