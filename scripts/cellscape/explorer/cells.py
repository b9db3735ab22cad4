"""The table of cells every page shares, and embedding coordinates aligned to it.

Pages refer to a cell by its position in this table, so each embedding's points, the sprite
sheet and the gallery's top cells all line up without shipping ids more than once.
"""
import numpy as np
import pandas as pd

from ..runtime.tables import check_unique_ids, join_to_ids


def class_indices(values, classes):
    """Class names or integer labels -> integer labels (names looked up in ``classes``)."""
    values = pd.Series(values)
    if pd.api.types.is_numeric_dtype(values):
        return values.astype(int).to_numpy()
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(values) - set(lookup))
    if unknown:
        raise ValueError(f"unknown classes {unknown}; classes are {list(classes)}")
    return values.map(lookup).astype(int).to_numpy()


def cell_table(embeddings, predictions, classes):
    """One row per embedded cell (first-seen order): id, label, predicted, certainty, p_<class>.

    Labels and probabilities come from predictions.csv; cells missing there (or an id repeated in
    an embedding or in predictions.csv) are an error naming the table and the ids.
    """
    for key, df in embeddings.items():
        check_unique_ids(df, f"embedding {key}")
    ids = pd.unique(pd.concat([df["id"].astype(str) for df in embeddings.values()], ignore_index=True))
    rows = join_to_ids(ids, predictions, "the embedded cells", "predictions.csv", how="covers")
    prob_cols = [f"p_{c}" for c in classes]
    predicted = rows["predicted_label"] if "predicted_label" in rows and pd.api.types.is_numeric_dtype(
        rows["predicted_label"]) else rows["predicted"]
    return pd.DataFrame({
        "id": ids,
        "label": class_indices(rows["label"] if "label" in rows else rows["class"], classes),
        "predicted": class_indices(predicted, classes),
        "certainty": rows["certainty"].to_numpy(dtype=float) if "certainty" in rows
        else rows[prob_cols].max(axis=1).to_numpy(),
        **{col: rows[col].to_numpy(dtype=float) for col in prob_cols},
    })


def unit_scale(values):
    """Min-max scale to [0, 1]; a constant column maps to 0.5."""
    values = np.asarray(values, dtype=np.float64)
    low, high = np.nanmin(values), np.nanmax(values)
    if not np.isfinite(high - low) or high - low <= 0:
        return np.full(values.shape, 0.5)
    return (values - low) / (high - low)


def aligned_coordinates(ids, embedding, grid=None):
    """Embedding (and grid) coordinates in ``ids`` order, each axis scaled to [0, 1].

    Returns a dict of float arrays x, y, gx, gy (NaN for cells this embedding lacks; gx, gy
    equal x, y when no grid is given, so the grid slider is then a no-op).
    """
    emb = join_to_ids(ids, embedding, "the cell table", "an embedding", how="partial")
    # x and y share one scale so the embedding keeps its aspect ratio
    xy = emb[["x", "y"]].to_numpy(dtype=np.float64)
    low = np.nanmin(xy, axis=0)
    span = np.nanmax(np.nanmax(xy, axis=0) - low)
    span = span if np.isfinite(span) and span > 0 else 1.0
    centred = (xy - low) / span
    centred += (1 - np.nanmax(centred, axis=0)) / 2
    coords = {"x": centred[:, 0], "y": centred[:, 1]}
    if grid is not None:
        g = join_to_ids(ids, grid, "the cell table", "a grid mapping", how="partial")
        coords["gx"], coords["gy"] = unit_scale(g["gx"]), unit_scale(g["gy"])
    else:
        coords["gx"], coords["gy"] = coords["x"], coords["y"]
    return coords
