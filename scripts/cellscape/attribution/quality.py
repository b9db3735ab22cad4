"""The checks' results as tables: per cell (long, for figures) and summarised over cells
(``quality.csv``: method x check x score, mean and spread over the cells). No I/O here.
"""
import numpy as np
import pandas as pd

from .similarity import SCORES

#: columns of quality.csv
QUALITY_COLUMNS = ("method", "check", "score", "mean", "sd", "min", "max", "n_cells")


def randomisation_rows(check, mode, ids):
    """Long rows ``method, mode, stage, randomised, id, <scores>`` of a fitted ModelRandomisation."""
    rows = []
    for m, scores in check.scores_.items():
        for s, layer in enumerate(check.stages_):
            for i, cid in enumerate(ids):
                rows.append({"method": m, "mode": mode, "stage": s, "randomised": layer, "id": cid,
                             **{score: float(scores[score][s, i]) for score in SCORES}})
    return rows


def label_rows(check, ids):
    """The label-randomisation test's rows, in the form of :func:`randomisation_rows` (stage 1)."""
    return [{"method": m, "mode": "label", "stage": 1, "randomised": "labels", "id": cid,
             **{score: float(scores[score][i]) for score in SCORES}}
            for m, scores in check.scores_.items() for i, cid in enumerate(ids)]


def flipping_rows(flipping, ids):
    """Long rows ``method, fraction, id, probability`` of a fitted PixelFlipping (method "random":
    the mean of the random orders)."""
    rows = []
    for m, curves in [("random", flipping.random_)] + list(flipping.curves_.items()):
        for i, cid in enumerate(ids):
            for f, p in zip(flipping.fractions, curves[i]):
                rows.append({"method": m, "fraction": float(f), "id": cid, "probability": float(p)})
    return rows


def _summary(method, check, score, values):
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {"method": method, "check": check, "score": score, "mean": np.nan, "sd": np.nan, "min": np.nan,
                "max": np.nan, "n_cells": 0}
    return {"method": method, "check": check, "score": score, "mean": float(v.mean()),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "min": float(v.min()), "max": float(v.max()),
            "n_cells": int(len(v))}


def quality_table(randomisation, flipping, localisation, drop_fraction=0.1):
    """``quality.csv`` from the long randomisation rows (DataFrame), a fitted PixelFlipping and
    ``localisation`` ``{method: {score: (B,)}}``.

    Randomisation scores per cell: the mean similarity over the randomised stages (cascading:
    the area under the cascade's curve; independent: the mean over layers), ``<score>_all_layers``
    the cascade's last stage (every layer random); label: the one comparison.
    """
    rows = []
    randomisation = pd.DataFrame(randomisation)
    randomised = randomisation[randomisation["stage"] > 0]
    for (method, mode), part in randomised.groupby(["method", "mode"], sort=False):
        per_cell = part.groupby("id", sort=False)
        for score in SCORES:
            rows.append(_summary(method, f"{mode}_randomisation", score, per_cell[score].mean()))
        if mode == "cascading":
            last = part[part["stage"] == part["stage"].max()]
            for score in SCORES:
                rows.append(_summary(method, "cascading_randomisation", f"{score}_all_layers", last[score]))
    if flipping is not None:
        for method in flipping.curves_:
            rows.append(_summary(method, "faithfulness", "area_between_curves", flipping.abc_[method]))
            rows.append(_summary(method, "faithfulness", f"drop_top_{drop_fraction:g}",
                                 flipping.drop(method, drop_fraction)))
            rows.append(_summary(method, "faithfulness", f"drop_random_{drop_fraction:g}",
                                 flipping.drop(None, drop_fraction)))
    for method, scores in localisation.items():
        for score, values in scores.items():
            rows.append(_summary(method, "localisation", score, values))
    return pd.DataFrame(rows, columns=list(QUALITY_COLUMNS))
