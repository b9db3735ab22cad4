"""Trustworthiness: does a 2-D map keep the neighbourhoods of the features it was made from.

Shared by the per-layer separation scores and MDA's scores, so neither stage imports the other.
No I/O here.
"""
import numpy as np
from sklearn.manifold import trustworthiness as _sklearn_trustworthiness

from .neighbourhood import fit_neighbours


def trustworthiness(X, Y, n_neighbors=5, max_samples=2000, random_state=0):
    """sklearn.manifold.trustworthiness on at most ``max_samples`` random points.

    sklearn builds the full n x n distance matrix, so large maps are scored on a subsample. It
    needs fewer neighbours than half the points: a small set (a first export of a hundred events,
    a test split of 18 cells) is scored with ``(n - 1) // 2`` neighbours instead of failing; NaN
    below 3 points."""
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    if len(X) != len(Y):
        raise ValueError(f"features have {len(X)} rows but the map has {len(Y)}")
    if len(X) > max_samples:
        keep = np.random.default_rng(random_state).choice(len(X), max_samples, replace=False)
        X, Y = X[keep], Y[keep]
    n_neighbors = trust_neighbours(n_neighbors, len(X), max_samples)
    if n_neighbors < 1:
        return float("nan")
    return float(_sklearn_trustworthiness(X, Y, n_neighbors=n_neighbors))


def trust_neighbours(n_neighbors, n_cells, max_samples=2000):
    """The k :func:`trustworthiness` uses on ``n_cells`` points: fewer than half the (sub)sample."""
    return fit_neighbours(n_neighbors, min(n_cells, max_samples), cells_per_neighbour=2)
