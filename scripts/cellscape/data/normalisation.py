"""Whether per-image normalisation divides away what separates the classes.

Per-image normalisation scales each cell's channel to a maximum of 1: the factor it divides by
(the channel's maximum after the 20% rule) and the brightness it erases (the channel's mean inside
the cell) are gone from the image the network sees. When either separates the classes on the
training cells (one-vs-rest ROC AUC at or above a threshold), the run says so, and
``normalise: auto`` keeps them by scaling per dataset instead.
"""
import itertools
import logging

import numpy as np
from sklearn.metrics import roc_auc_score

from ..runtime.io import write_json

#: the per-cell factors, as ingestion records them per channel (qc.csv and index.csv columns)
FACTORS = {"max": "maximum after background removal", "mean": "mean inside the cell"}
MODES = ("per_image", "dataset")

log = logging.getLogger(__name__)


def factor_columns(names):
    """The factor columns of channels ``names``: ``max_<name>``..., then ``mean_<name>``..."""
    return tuple(f"{factor}_{channel}" for factor in FACTORS for channel in names)


def cell_factors(image, names):
    """{column: value} of one filtered, unnormalised cell image (C, H, W), channels ``names``."""
    values = {}
    for channel, plane in zip(names, image, strict=True):
        inside = plane[plane > 0]
        values[f"max_{channel}"] = float(plane.max())
        values[f"mean_{channel}"] = float(inside.mean()) if inside.size else 0.0
    return values


def separation(values, labels):
    """AUC of ``values`` separating two label sets, in whichever direction separates (0.5..1)."""
    auc = roc_auc_score(labels, values)
    return max(auc, 1.0 - auc)


def channel_evidence(train, channel, classes):
    """For one channel, each factor's one-vs-rest AUC per class and its AUC for every class pair
    (best first)."""
    out = {}
    labels = train["class"].to_numpy()
    present = [c for c in classes if (labels == c).any()]
    for factor in FACTORS:
        values = train[f"{factor}_{channel}"].to_numpy(dtype=float)
        one_vs_rest = {c: round(separation(values, labels == c), 4) for c in present if (labels != c).any()}
        pairs = []
        for a, b in itertools.combinations(present, 2):
            pair = np.isin(labels, (a, b))
            pairs.append({"classes": [a, b], "auc": round(separation(values[pair], labels[pair] == b), 4)})
        pairs.sort(key=lambda p: -p["auc"])
        out[factor] = {"one_vs_rest_auc": one_vs_rest,
                       "largest_auc": max(one_vs_rest.values(), default=0.5),
                       "pairs": pairs,
                       "best_pair": pairs[0] if pairs else {"classes": [None, None], "auc": 0.5}}
    return out


def normalisation_evidence(index, classes, setting, threshold, names):
    """The evidence (training cells only) and the normalisation it leads to under ``setting``.

    A channel separates when any factor's AUC for a class pair reaches ``threshold``; ``auto``
    picks ``dataset`` when any channel separates, ``per_image`` otherwise.
    """
    train = index[index["split"] == "train"]
    channels = {channel: channel_evidence(train, channel, classes) for channel in names}
    separating = []
    for channel, factors in channels.items():
        for factor, found in factors.items():
            pairs = [p for p in found["pairs"] if p["auc"] >= threshold]
            if pairs:
                separating.append({"channel": channel, "factor": factor, "description": FACTORS[factor],
                                   "classes": pairs[0]["classes"], "auc": pairs[0]["auc"], "pairs": pairs})
    separating.sort(key=lambda s: -s["auc"])
    largest = max(found["best_pair"]["auc"] for factors in channels.values() for found in factors.values())
    if separating:
        top = separating[0]
        found = (f"the {top['channel']} {top['description']} separates {top['classes'][1]} from "
                 f"{top['classes'][0]} (AUC {top['auc']:.2f})")
    else:
        found = f"no channel's maximum or mean separates two classes (largest AUC {largest:.2f} < {threshold})"
    if setting == "auto":
        used = "dataset" if separating else "per_image"
        reason = f"auto: {found}"
    else:
        used, reason = setting, f"set in the config; {found}"
    # one warning per channel: its most separating factor and every class pair it separates
    per_channel = {}
    for found_ in separating:
        per_channel.setdefault(found_["channel"], found_)
    warnings = [warning_text(s) for s in per_channel.values()] if used == "per_image" else []
    return {"setting": setting, "used": used, "reason": reason, "threshold": threshold,
            "largest_auc": round(largest, 4), "training_cells": int(len(train)), "channels": channels,
            "separating": separating, "warnings": warnings}


def warning_text(found, shown=3):
    """What the user reads: which brightness per-image scaling removes, the class pairs it
    separates, and what to do."""
    pairs = " and ".join(f"{b} from {a} (AUC {p['auc']:.2f})" for p in found["pairs"][:shown]
                         for a, b in [p["classes"]])
    more = f" and {len(found['pairs']) - shown} more pairs" if len(found["pairs"]) > shown else ""
    return (f"per-image normalisation removes the {found['channel']} {found['description']}, which "
            f"separates {pairs}{more}: consider `normalise: dataset` (or `auto`)")


def write_evidence(evidence, path):
    write_json(evidence, path)
    log.info("normalisation: %s (%s)", evidence["used"], evidence["reason"])
    for text in evidence["warnings"]:
        log.warning(text)
