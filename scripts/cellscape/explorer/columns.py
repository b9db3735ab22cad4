"""Per-cell columns for the page, typed and base64-packed (docs/explorer.md, ``cells``).

At 100,000 cells a JSON list of floats costs ~8 bytes a value and a parse; a float32 array costs
4 bytes (5.3 in base64) and one decode. Categories ship as small integers plus their names.
"""
import numpy as np
import pandas as pd

from .encode import b64_array

#: colours for categories beyond the classes (split, clusters, misclassified)
CATEGORY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                    "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
                    "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"]
NOISE_COLOUR = "#c8c8c8"


def category_column(codes, categories, colours=None, label=None):
    """Integer codes into ``categories`` -> a category column (uint8, or uint16 past 255)."""
    codes = np.asarray(codes)
    if len(codes) and (codes.min() < 0 or codes.max() >= len(categories)):
        raise ValueError(f"category codes out of range 0..{len(categories) - 1} for {label or categories}")
    dtype = np.uint8 if len(categories) <= 256 else np.uint16
    colours = colours or [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(categories))]
    return {"kind": "category", "dtype": np.dtype(dtype).name, "data": b64_array(codes.astype(dtype)),
            "categories": [str(c) for c in categories], "colours": list(colours), "label": label}


def number_column(values, label=None):
    """Float values -> a float32 number column with its finite range (NaN stays NaN)."""
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
    return {"kind": "number", "dtype": "float32", "data": b64_array(values), "min": low, "max": high,
            "label": label}


def labels_column(values, label=None, noise=None):
    """Arbitrary labels (text, or integers such as DBSCAN clusters) -> a category column.

    Categories are sorted; ``noise`` (e.g. -1) becomes the category ``noise`` in light grey.
    """
    values = pd.Series(values).reset_index(drop=True)
    categories = sorted(set(values) - ({noise} if noise is not None else set()), key=_natural)
    names, colours = [str(c) for c in categories], None
    if noise is not None and (values == noise).any():
        categories.append(noise)
        names.append("noise")
        colours = [CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)] for i in range(len(names) - 1)] + [NOISE_COLOUR]
    lookup = {c: i for i, c in enumerate(categories)}
    return category_column(values.map(lookup).to_numpy(dtype=np.int64), names, colours, label)


def _natural(value):
    return (0, value, "") if isinstance(value, (int, np.integer)) else (1, 0, str(value))


#: cell-table columns that are not offered as colours of their own (ids, codes, row numbers)
NOT_COLOURS = {"id", "row", "label", "predicted_label", "object"}


def cell_columns(cells, classes, class_colours):
    """The page's columns for ``cells`` (the export's cell table, ``cellscape.export.cells``, in
    cell order): class, prediction, certainty, misclassified, split, probabilities, each layer's
    DBSCAN clusters (``cluster_<layer>``) and every other numeric per-cell column (MDA target,
    measurements, the simulator's ground truth, intensities).
    """
    label = cells["label"].to_numpy(dtype=int)
    predicted = cells["predicted_label"].to_numpy(dtype=int)
    columns = {
        "class": category_column(label, classes, class_colours, "class"),
        "predicted": category_column(predicted, classes, class_colours, "predicted class"),
        "certainty": number_column(cells["certainty"], "certainty (top probability)"),
        "misclassified": category_column((label != predicted).astype(int), ["no", "yes"],
                                         ["#c8c8c8", "#d62728"], "misclassified"),
        "split": labels_column(cells["split"].astype(str), "split"),
    }
    for name in cells.columns:
        values = cells[name]
        if name in columns or name in NOT_COLOURS or name in ("class", "predicted"):
            continue
        if name.startswith("cluster_"):
            columns[name] = labels_column(values.to_numpy(dtype=int), f"DBSCAN cluster in {name[8:]}", noise=-1)
        elif pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns[name] = number_column(values, name.replace("_", " "))
    return columns


def colour_choices(columns):
    """The colour menu: class first, the fixed choices, 'cluster' (each map its layer's), the rest."""
    fixed = ["class", "predicted", "certainty", "misclassified", "split"]
    clusters = any(c.startswith("cluster_") for c in columns)
    probabilities = [c for c in columns if c.startswith("p_")]
    extras = [c for c in columns if c not in fixed and not c.startswith("cluster_") and c not in probabilities]
    return fixed + (["cluster"] if clusters else []) + probabilities + extras
