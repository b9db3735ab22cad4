"""What the page tells in a cytometrist's terms: the cell features of data/features.csv (the cell
panel lists a cell's values) and what each layer knows of them, probes.csv (:mod:`cellscape.probes`)
as a layers x features grid, the features grouped by the channel they measure. Each feature names
the page column that holds its per-cell values, so that a click colours the maps by it."""
import numpy as np
import pandas as pd

from ..features.table import TRUTH_COLUMNS
from ..figures.probe_figures import feature_label

#: the numbers of a probe the page shows (docs/formats.md, probes.csv)
VALUES = ("selectivity", "selectivity_low", "selectivity_high", "score", "score_low", "score_high", "untrained",
          "shuffled")
REQUIRED = ("layer", "feature", "group", "kind", "metric", "n_cells", *VALUES, "skipped")
#: the probes' layer 0: the input pixels, reduced as every layer is
INPUT_LAYER = "input"
#: a simulator truth column of the feature table -> the data/index.csv column the page holds it in
TRUTH_INDEX = {truth: index for index, truth in TRUTH_COLUMNS.items()}


def group_label(group):
    """The heading of a block of features: the channel's name, the whole cell or the simulator."""
    return {"cell": "whole cell", "truth": "simulator truth"}.get(group, group)


def page_column(feature, columns):
    """The page's number column that holds ``feature`` per cell (a measured feature under its own
    name, a simulator truth under its index.csv name), or None."""
    for name in (feature, TRUTH_INDEX.get(feature)):
        if name is not None and columns.get(name, {}).get("kind") == "number":
            return name
    return None


def feature_list(catalogue, columns):
    """``meta.features``: ``[{column, label, group, group_label, unit, description}]`` of the
    ``catalogue`` rows (:func:`cellscape.features.catalogue`: feature, group, kind, unit, formula)
    the page holds as number columns, grouped by channel (:func:`grouped`: for the catalogue, the
    whole cell first, then each channel's)."""
    out = []
    for row in grouped(catalogue).itertuples(index=False):
        column = page_column(row.feature, columns)
        if column is not None:
            out.append({"column": column, "label": feature_label(row.feature, row.group, "continuous"),
                        "group": str(row.group), "group_label": group_label(str(row.group)), "unit": str(row.unit),
                        "description": str(row.formula)})
    return out


def grouped(table):
    """The rows of ``table`` grouped by its ``group`` column: the groups in the order they first
    appear, the rows in the table's order within them."""
    groups = list(dict.fromkeys(table["group"]))
    return pd.concat([table[table["group"] == g] for g in groups]) if groups else table


def _number(value, digits=4):
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


def probe_payload(table, layers, columns, source="probes.csv"):
    """``payload.probes`` of a probes.csv ``table`` (docs/explorer.md): rows = layers (the input
    pixels first, then the page's ``layers`` ``[{name, label}]`` in network order, those the table
    holds), columns = features grouped by channel (the groups in the order they first appear, the
    features in the table's order within them), a matrix per number (null where NaN or absent).
    ``columns``: the page's per-cell columns (:func:`cellscape.explorer.columns.cell_columns`).
    A table that lacks a column, repeats a (layer, feature) or names a layer the page does not
    show is an error naming ``source``."""
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"{source}: lacks the columns {missing} (docs/formats.md, probes.csv)")
    table = table.assign(layer=table["layer"].astype(str), feature=table["feature"].astype(str),
                         group=table["group"].astype(str), skipped=table["skipped"].fillna("").astype(str))
    repeated = table.loc[table.duplicated(["layer", "feature"]), ["layer", "feature"]]
    if len(repeated):
        raise ValueError(f"{source}: (layer, feature) repeated: {list(map(tuple, repeated.to_numpy()[:3]))}")
    known = [INPUT_LAYER] + [layer["name"] for layer in layers]
    unknown = sorted(set(table["layer"]) - set(known))
    if unknown:
        raise ValueError(f"{source}: layers {unknown} are not among the explorer's layers {known}")
    labels = {INPUT_LAYER: "input pixels"} | {layer["name"]: layer.get("label", layer["name"]) for layer in layers}
    rows = [name for name in known if name in set(table["layer"])]

    described = grouped(table.drop_duplicates("feature"))
    groups = list(dict.fromkeys(described["group"]))
    features = described["feature"].tolist()
    indexed = table.set_index(["layer", "feature"])

    def grid(column, convert):
        values = indexed[column].to_dict()
        return [[convert(values[(layer, feature)]) if (layer, feature) in values else None
                 for feature in features] for layer in rows]

    return {
        "layers": [{"name": name, "label": labels[name]} for name in rows],
        "groups": [{"name": g, "label": group_label(g), "features": int((described["group"] == g).sum())}
                   for g in groups],
        "features": [{"name": f.feature, "label": feature_label(f.feature, f.group, f.kind), "group": f.group,
                      "kind": str(f.kind), "metric": str(f.metric), "column": page_column(f.feature, columns)}
                     for f in described.itertuples(index=False)],
        "values": {column: grid(column, _number) for column in VALUES},
        "n_cells": grid("n_cells", lambda v: int(v) if np.isfinite(float(v)) else None),
        "skipped": grid("skipped", str),
    }
