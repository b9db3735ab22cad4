"""How alike two attribution maps are, inside the cell: the randomisation checks' yardstick.

The image set stores every channel with its background set to 0 (the 20% rule for fluorescence
and darkfield, the cell's outline for brightfield: docs/formats.md), so a channel's mask is its
non-zero pixels and the cell is their union. Comparing maps over the whole image would count
the background, where input-times-gradient methods are 0 whatever the weights, and so measure the
mask rather than the explanation; every score here looks inside the cell only.

Scores (Adebayo et al. 2018): Spearman rank correlation of the signed maps, of the absolute maps,
and the structural similarity (SSIM) of the absolute maps, each scaled to its maximum in the cell.
"""
import numpy as np
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

SCORES = ("spearman_signed", "spearman_abs", "ssim")


def cell_masks(images):
    """(B, H, W) bool: pixels where any channel is non-zero (the union of the channels' masks)."""
    return np.any(np.asarray(images) != 0, axis=1)


def channel_masks(images, channels, name):
    """(B, H, W) bool: the non-zero pixels of the channel called ``name`` (``channels``: the image
    set's channel dicts or names, in order), or None when there is no such channel."""
    names = [c["name"] if isinstance(c, dict) else str(c) for c in channels]
    if name not in names:
        return None
    return np.asarray(images)[:, names.index(name)] != 0


def spearman(a, b, masks):
    """Spearman correlation of each pair of maps (B, H, W) inside ``masks``; 0 when either map is
    constant there (a constant map says nothing about the pixels' order)."""
    out = np.zeros(len(a))
    for i, (x, y, keep) in enumerate(zip(np.asarray(a), np.asarray(b), np.asarray(masks, dtype=bool))):
        x, y = x[keep], y[keep]
        if len(x) > 1 and np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = spearmanr(x, y).statistic
    return out


def _unit(plane, keep):
    top = plane[keep].max() if keep.any() else 0.0
    return np.where(keep, plane / top, 0.0) if top > 0 else np.zeros_like(plane)


def ssim(a, b, masks):
    """Mean SSIM (Gaussian window, sd 1.5 px) inside ``masks`` of each pair of non-negative maps,
    each scaled to its maximum inside the mask."""
    out = np.zeros(len(a))
    for i, (x, y, keep) in enumerate(zip(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                                         np.asarray(masks, dtype=bool))):
        if not keep.any():
            continue
        _, full = structural_similarity(_unit(x, keep), _unit(y, keep), data_range=1.0, gaussian_weights=True,
                                        sigma=1.5, use_sample_covariance=False, full=True)
        out[i] = full[keep].mean()
    return out


def similarity(reference, other, masks):
    """``{score: (B,)}`` of two (signed, absolute) map pairs, inside ``masks``."""
    (ref_signed, ref_abs), (signed, absolute) = reference, other
    return {"spearman_signed": spearman(ref_signed, signed, masks),
            "spearman_abs": spearman(ref_abs, absolute, masks),
            "ssim": ssim(ref_abs, absolute, masks)}
