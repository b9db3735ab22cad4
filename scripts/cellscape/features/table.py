"""The per-cell feature table: every registered feature of every cell, streamed over the image set
in chunks (a memory-mapped ``images.npy`` is read ``chunk`` cells at a time), and the simulator's
ground truth beside it on simulated data."""
import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..runtime.io import read_rows
from .masks import CellView
from .registry import feature_columns

#: the simulator's per-cell truth (``data/index.csv`` columns, from ``properties.csv``) -> its name
#: in the feature table; areas are on the simulator's frame, measured on its noiseless masks
TRUTH_COLUMNS = {"cell_area_px": "truth_cell_area", "nucleus_area_px": "truth_nucleus_area",
                 "nucleus_area_ratio": "truth_nucleus_to_cell_ratio", "lobes": "truth_nucleus_lobes",
                 "cell_diameter_px": "truth_cell_diameter", "granularity": "truth_granularity",
                 "brightness_cyto": "truth_brightness_cytoplasm", "brightness_nuc": "truth_brightness_nucleus"}
#: which measured feature each truth column checks (features.csv's agreement report)
TRUTH_MEASURED = {"truth_cell_area": "cell_area", "truth_nucleus_area": "nucleus_area",
                  "truth_nucleus_to_cell_ratio": "nucleus_to_cell_ratio", "truth_nucleus_lobes": "nucleus_lobes",
                  "truth_granularity": "darkfield_granularity"}


def measure_cell(image, channels, min_object_px=8, columns=None):
    """{column: value} of one filtered ``(C, H, W)`` image (NaN where a mask is empty)."""
    columns = feature_columns(channels) if columns is None else columns
    view = CellView(image, channels, min_object_px)
    return {column.name: column.feature.function(view, column.channel) for column in columns}


def measure_image_set(images, rows, channels, min_object_px=8, chunk=256, progress=True):
    """DataFrame (one row per entry of ``rows``, one column per feature) of ``images[rows]``, read
    ``chunk`` images at a time so memory stays bounded whatever the image set's size."""
    rows = np.asarray(rows)
    columns = feature_columns(channels)
    values = np.full((len(rows), len(columns)), np.nan)
    with tqdm(total=len(rows), desc="cell features", unit="cell", file=sys.stderr, mininterval=5,
              disable=not progress) as bar:
        for start in range(0, len(rows), chunk):
            block = read_rows(images, rows[start:start + chunk])
            for k, image in enumerate(block):
                measured = measure_cell(image, channels, min_object_px, columns)
                values[start + k] = [measured[column.name] for column in columns]
            bar.update(len(block))
    return pd.DataFrame(values, columns=[column.name for column in columns])


def truth_table(index):
    """The simulator's ground truth of ``index`` (``data/index.csv``) under the feature table's
    names (``truth_*``); no columns for data that did not come from the simulator."""
    present = {source: name for source, name in TRUTH_COLUMNS.items() if source in index.columns}
    return pd.DataFrame({name: pd.to_numeric(index[source], errors="coerce").to_numpy()
                         for source, name in present.items()})


def truth_agreement(table):
    """Pearson r of each truth column and the feature that measures it, on the cells where both are
    finite: [{truth, measured, n, pearson_r}] (what the rule logs and the docs report)."""
    out = []
    for truth, measured in TRUTH_MEASURED.items():
        if truth in table and measured in table:
            ok = np.isfinite(table[truth]) & np.isfinite(table[measured])
            a, b = table.loc[ok, truth].to_numpy(), table.loc[ok, measured].to_numpy()
            r = float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 and np.ptp(a) > 0 and np.ptp(b) > 0 else float("nan")
            out.append({"truth": truth, "measured": measured, "n": int(ok.sum()), "pearson_r": r})
    return out


def catalogue(channels, columns):
    """DataFrame ``feature, group, kind, unit, formula`` of the feature table's ``columns`` (its
    measured features and its ``truth_*`` columns): ``group`` is the channel a feature measures
    (``cell`` for the whole cell, ``truth`` for the simulator's), ``kind`` which probe scores it."""
    registered = {column.name: column for column in feature_columns(channels)}
    rows = []
    for name in columns:
        if name in registered:
            column = registered[name]
            rows.append({"feature": name, "group": column.channel_name, "kind": column.feature.kind,
                         "unit": column.feature.unit, "formula": column.feature.formula})
        elif name.startswith("truth_"):
            rows.append({"feature": name, "group": "truth", "kind": "count" if name.endswith("lobes") else "continuous",
                         "unit": "", "formula": "the simulator's ground truth"})
    return pd.DataFrame(rows, columns=["feature", "group", "kind", "unit", "formula"])


def feature_descriptions(table, channels):
    """(``table``, {measured feature column: what it measures, in words with its unit}): how the
    export and the explorer take data/features.csv (its ``truth_*`` columns repeat index.csv's)."""
    described = catalogue(channels, [c for c in table.columns if not c.startswith("truth_")])
    words = {row.feature: f"{row.feature.replace('_', ' ')} ({row.unit}): {row.formula}"
             for row in described.itertuples(index=False)}
    return table, words
