"""Shape features of a mask (the whole cell, or an outlining channel's pixels inside it): what
a cytometrist's software reports as area, perimeter, circularity, aspect ratio and solidity.
A mask of several pieces (a nucleus whose lobes the threshold cut apart) is measured as one
object: its pixels, its total outline, its moments and its convex hull."""
import numpy as np
from skimage.measure import perimeter_crofton
from skimage.morphology import convex_hull_image

from .registry import register


def mask_perimeter(mask):
    """Outline length in px: the Cauchy-Crofton estimate (4 directions), within about 2% of
    2 pi r for a digital disc of radius >= 10 px (the pixel-edge count overestimates by ~27%)."""
    return float(perimeter_crofton(mask, directions=4)) if mask.any() else float("nan")


def mask_aspect_ratio(mask):
    """sqrt(largest / smallest eigenvalue) of the pixel coordinates' covariance: the ratio of the
    major to the minor axis of the ellipse with the same second moments (1 for a disc)."""
    ys, xs = np.nonzero(mask)
    if len(xs) < 3:
        return float("nan")
    low, high = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return float(np.sqrt(high / low)) if low > 0 else float("nan")


def mask_solidity(mask):
    """Area over the area of the convex hull (pixels whose centres lie in the hull of the mask's
    pixel centres): 1 for a digital disc or rectangle, lower for lobes and notches."""
    if mask.sum() < 3:
        return float("nan")
    return float(mask.sum() / convex_hull_image(mask, offset_coordinates=False).sum())


for scope in ("cell", "outline"):
    register("area", scope, "px", "A = number of pixels in the mask")(
        lambda view, c: float(view.region(c).sum()))
    register("perimeter", scope, "px", "P = outline length, Cauchy-Crofton estimate (4 directions)")(
        lambda view, c: _perimeter(view, c))
    register("circularity", scope, "1", "4 pi A / P^2 (1 for a disc, lower for elongated or ragged outlines)")(
        lambda view, c: _circularity(view, c))
    register("aspect_ratio", scope, "1", "major / minor axis of the ellipse with the mask's second moments")(
        lambda view, c: mask_aspect_ratio(view.region(c)))
    register("solidity", scope, "1", "A / pixels of the convex hull of the pixel centres")(
        lambda view, c: mask_solidity(view.region(c)))


def _perimeter(view, c):
    return view.memo(("perimeter", c), lambda: mask_perimeter(view.region(c)))


def _circularity(view, c):
    perimeter = _perimeter(view, c)
    return float(4 * np.pi * view.region(c).sum() / perimeter ** 2) if perimeter > 0 else float("nan")
