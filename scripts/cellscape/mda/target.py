"""The regression task's target: the nucleus-to-cell area ratio, measured on the filtered images.

Most deep-learning tasks are regressions, so the workflow also trains the same network to
predict a continuous cell property and explores *its* feature space with MDA. The property
must be measurable on any data set, simulated or real, so it is measured from the images
themselves rather than taken from the simulator: after the 20% threshold the background is 0,
so a channel's objects are its pixels > 0.

- cell = the largest connected object (8-connectivity, scikit-image region properties) of the
  union of both channels (cytoplasm and nucleus stains together outline the whole cell);
- nucleus = the nucleus channel's objects (> 0) inside that cell, specks under
  ``min_object_px`` ignored (QC already rejected events with more than one object);
- ratio = nucleus area / cell area.

On simulated data the simulator's ``nucleus_area_ratio`` (measured on its noiseless masks)
is the ground truth, and :func:`ground_truth_agreement` reports how well the measurement
follows it (correlation, bias). Also the scores of predictions of the target
(:func:`prediction_error`). No I/O and no torch here.
"""
import sys

import numpy as np
from scipy.stats import pearsonr, spearmanr
from skimage.measure import label, regionprops
from tqdm import tqdm

AREA_COLUMNS = ("cell_area_px", "nucleus_area_px", "target")


def cell_and_nucleus_area(image, min_object_px=8):
    """(cell area, nucleus area) in pixels of one filtered (2, H, W) image; (0, 0) if empty.

    Channel 0 is the cytoplasm marker, channel 1 the nucleus marker; background pixels are 0.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != 2:
        raise ValueError(f"expected a (2, H, W) image, got shape {image.shape}")
    union = label(image.any(axis=0), connectivity=2)
    cells = regionprops(union)
    if not cells:
        return 0, 0
    cell = max(cells, key=lambda region: region.area)
    inside = union == cell.label
    nuclei = regionprops(label((image[1] > 0) & inside, connectivity=2))
    nucleus_area = sum(int(region.area) for region in nuclei if region.area >= min_object_px)
    return int(cell.area), nucleus_area


def nucleus_area_ratio(image, min_object_px=8):
    """Nucleus area / cell area of one filtered (2, H, W) image; NaN when there is no cell."""
    cell_area, nucleus_area = cell_and_nucleus_area(image, min_object_px)
    return nucleus_area / cell_area if cell_area else float("nan")


def measure_targets(images, rows=None, min_object_px=8, progress=True):
    """Areas and ratio of ``images[rows]`` (an (N, 2, H, W) array or memmap).

    Returns a dict of equal-length float arrays keyed by :data:`AREA_COLUMNS`
    (``target`` = the nucleus-to-cell area ratio).
    """
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    areas = np.zeros((len(rows), 2), dtype=np.float64)
    for k, row in enumerate(tqdm(rows, desc="measure targets", unit="cell", file=sys.stderr,
                                 mininterval=5, disable=not progress)):
        areas[k] = cell_and_nucleus_area(images[row], min_object_px)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(areas[:, 0] > 0, areas[:, 1] / areas[:, 0], np.nan)
    return {"cell_area_px": areas[:, 0], "nucleus_area_px": areas[:, 1], "target": ratio}


def ground_truth_agreement(measured, truth):
    """How the measured ratio follows the simulator's: Pearson/Spearman r, bias, MAE, RMSE.

    bias = mean(measured - truth): the 20% threshold and the optics (blur) change the outlines,
    so a constant offset is expected; the correlation says whether the ordering survives.
    Pairs with a missing value on either side are left out (``n`` says how many remain).
    """
    measured, truth = np.asarray(measured, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if measured.shape != truth.shape:
        raise ValueError(f"measured {measured.shape} and truth {truth.shape} differ in shape")
    ok = np.isfinite(measured) & np.isfinite(truth)
    m, t = measured[ok], truth[ok]
    if len(m) < 3 or np.ptp(m) == 0 or np.ptp(t) == 0:
        return {"n": int(len(m)), "pearson_r": float("nan"), "spearman_r": float("nan"),
                "bias": float(np.mean(m - t)) if len(m) else float("nan"),
                "mae": float(np.mean(np.abs(m - t))) if len(m) else float("nan"),
                "rmse": float(np.sqrt(np.mean((m - t) ** 2))) if len(m) else float("nan")}
    return {"n": int(len(m)), "pearson_r": float(pearsonr(m, t)[0]), "spearman_r": float(spearmanr(m, t)[0]),
            "bias": float(np.mean(m - t)), "mae": float(np.mean(np.abs(m - t))),
            "rmse": float(np.sqrt(np.mean((m - t) ** 2)))}


def prediction_error(target, predicted):
    """RMSE, MAE and R^2 of predictions of the target (in the target's units)."""
    target, predicted = np.asarray(target, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    if target.shape != predicted.shape or target.ndim != 1:
        raise ValueError(f"target {target.shape} and predicted {predicted.shape} must be equal 1-D shapes")
    if len(target) == 0:
        raise ValueError("no predictions to score")
    error = predicted - target
    total = np.sum((target - target.mean()) ** 2)
    return {"n": int(len(target)), "rmse": float(np.sqrt(np.mean(error ** 2))), "mae": float(np.mean(np.abs(error))),
            "r2": float(1 - np.sum(error ** 2) / total) if total > 0 else float("nan"),
            "bias": float(np.mean(error))}
