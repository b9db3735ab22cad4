"""Embedding coordinates aligned to the cell table, scaled to the unit square.

The page refers to a cell by its position in the cell table, so every map's points, the tiles,
the neighbours and the gallery's top cells line up without shipping ids more than once.
"""
import numpy as np

from ..runtime.tables import join_to_ids


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
