"""The regression task's target: a per-cell measurement of the filtered images, or the user's own.

Most deep-learning tasks are regressions, so the workflow also trains the same network to
predict a continuous cell property and explores *its* feature space with MDA. The property
must be measurable on any data set, simulated or real, so it is measured from the images
themselves rather than taken from the simulator: after the 20% threshold the background is 0,
so a channel's objects are its pixels > 0.

- cell = the largest connected object (8-connectivity, scikit-image region properties) of the
  union of both channels (cytoplasm and nucleus stains together outline the whole cell);
- nucleus = the nucleus channel's objects (> 0) inside that cell, specks under
  ``min_object_px`` ignored (QC already rejected events with more than one object);
- ratio = nucleus area / cell area (the default target, ``nucleus_area_ratio``);
- also ``cell_area`` and ``nucleus_area`` (px), ``nucleus_intensity`` (the nucleus channel
  summed over the nucleus: DNA content on DNA-stained cells, in the image set's units, so
  relative to each cell's maximum under ``data.normalise: per_image``) and
  ``cytoplasm_intensity`` (the cytoplasm channel's mean over the cell).

A user's own target (cell-cycle DNA content from another instrument, a maturation score) comes
as a CSV ``id,value`` joined on the cell id by :func:`user_target` (every cell of the image set
needs a numeric value; the join is checked).

On simulated data the simulator's ``nucleus_area_ratio`` (measured on its noiseless masks)
is the ground truth, and :func:`ground_truth_agreement` reports how well the measurement
follows it (correlation, bias). Also the scores of predictions of the target
(:func:`prediction_error`). No I/O and no torch here.
"""
import sys

import numpy as np
import pandas as pd
from scipy.stats import pearsonr, spearmanr
from skimage.measure import label, regionprops
from tqdm import tqdm

from ..data.channels import PAPER_ROLES, missing_channel
from ..runtime.tables import TableError, join_to_ids

MEASUREMENTS = ("nucleus_area_ratio", "cell_area", "nucleus_area", "nucleus_intensity", "cytoplasm_intensity")
def _cell_and_nucleus_masks(image, min_object_px=8, roles=PAPER_ROLES):
    """Boolean (H, W) masks of the cell (largest object of the outlining channels) and its nucleus
    (empty without a nucleus channel)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[0] != roles["n_channels"]:
        raise ValueError(f"expected a ({roles['n_channels']}, H, W) image, got shape {image.shape}")
    union = label(image[roles["outline"]].any(axis=0), connectivity=2)
    cells = regionprops(union)
    if not cells:
        empty = np.zeros(image.shape[1:], dtype=bool)
        return empty, empty
    inside = union == max(cells, key=lambda region: region.area).label
    if roles["nucleus"] is None:
        return inside, np.zeros_like(inside)
    nuclei = label((image[roles["nucleus"]] > 0) & inside, connectivity=2)
    nucleus = np.zeros_like(inside)
    for region in regionprops(nuclei):
        if region.area >= min_object_px:
            nucleus |= nuclei == region.label
    return inside, nucleus


def cell_measurements(image, min_object_px=8, roles=PAPER_ROLES):
    """Every built-in target of one filtered (C, H, W) image: {name in MEASUREMENTS: float};
    NaN for the ratio and the cytoplasm mean when there is no cell, and for what needs a channel
    the image set lacks (``roles``: :func:`channel_roles`)."""
    cell, nucleus = _cell_and_nucleus_masks(image, min_object_px, roles)
    cell_area, nucleus_area = int(cell.sum()), int(nucleus.sum())
    image = np.asarray(image, dtype=np.float64)
    values = {"nucleus_area_ratio": nucleus_area / cell_area if cell_area else float("nan"),
              "cell_area": float(cell_area), "nucleus_area": float(nucleus_area),
              "nucleus_intensity": float(image[roles["nucleus"]][nucleus].sum()) if roles["nucleus"] is not None else 0.0,
              "cytoplasm_intensity": (float(image[roles["cytoplasm"]][cell].mean())
                                      if cell_area and roles["cytoplasm"] is not None else float("nan"))}
    return {name: (float("nan") if missing_channel(name, roles) else value) for name, value in values.items()}


def cell_and_nucleus_area(image, min_object_px=8, roles=PAPER_ROLES):
    """(cell area, nucleus area) in pixels of one filtered (C, H, W) image; (0, 0) if empty.

    ``roles`` say which channels outline the cell and which is the nucleus; background pixels are 0.
    """
    cell, nucleus = _cell_and_nucleus_masks(image, min_object_px, roles)
    return int(cell.sum()), int(nucleus.sum())


def nucleus_area_ratio(image, min_object_px=8, roles=PAPER_ROLES):
    """Nucleus area / cell area of one filtered (C, H, W) image; NaN when there is no cell."""
    cell_area, nucleus_area = cell_and_nucleus_area(image, min_object_px, roles)
    return nucleus_area / cell_area if cell_area else float("nan")


def measure_targets(images, rows=None, min_object_px=8, progress=True, roles=PAPER_ROLES):
    """Every built-in measurement of ``images[rows]`` (an (N, C, H, W) array or memmap):
    a dict of equal-length float arrays keyed by :data:`MEASUREMENTS`."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    values = {name: np.empty(len(rows)) for name in MEASUREMENTS}
    for k, row in enumerate(tqdm(rows, desc="measure targets", unit="cell", file=sys.stderr,
                                 mininterval=5, disable=not progress)):
        for name, value in cell_measurements(images[row], min_object_px, roles).items():
            values[name][k] = value
    return values


class TargetError(ValueError):
    """A user's target file that cannot serve as the regression target (names file and problem)."""


def user_target(table, ids, path):
    """The values of a user's ``id,value`` table for ``ids`` (every cell of the image set, ids
    ``<class>/<object>`` as in data/index.csv), in the order of ``ids``; a missing or duplicated
    id (the project's checked join), a non-numeric value or a constant target is a
    :class:`TargetError` naming ``path``."""
    if list(table.columns[:2]) != ["id", "value"]:
        raise TargetError(f"{path}: expected the columns 'id,value', got {list(table.columns)}")
    table = table.assign(id=table["id"].astype(str))
    try:
        joined = join_to_ids(ids, table[["id", "value"]], "data/index.csv", str(path), how="covers")
    except TableError as err:
        raise TargetError(str(err)) from None
    values = pd.to_numeric(joined["value"], errors="coerce")
    bad = joined.loc[values.isna() | ~np.isfinite(values.fillna(0)), "id"]
    if len(bad):
        raise TargetError(f"{path}: {len(bad)} values are not finite numbers, e.g. ids {list(bad[:5])}")
    result = values.to_numpy(dtype=np.float64)
    if np.ptp(result) == 0:
        raise TargetError(f"{path}: the target is constant ({result[0]}) over the cells: nothing to regress")
    return result


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
