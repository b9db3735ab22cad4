"""Each cell's nearest neighbours in a layer's feature space, and how they persist across layers.

The explorer asks, per tapped cell, which cells the network puts next to it in each layer and
when it starts grouping it with its class (Emblaze's question, per cell). Neighbours come from the
reduced features the maps are made from, never from the 2-D map, whose distances t-SNE and UMAP
distort. Exact search up to ``EXACT_LIMIT`` cells or in few dimensions (a k-d tree stays fast
there); pynndescent's approximate graph beyond.
"""
import numpy as np

from ..neighbourhood import fit_neighbours

EXACT_LIMIT = 20_000
LOW_DIMENSIONS = 4


def nearest_neighbours(features, k, random_state=0, n_jobs=1):
    """(n, k) int32 indices of each row's k nearest other rows (Euclidean), nearest first; k
    fitted to the rows (at most n - 1: the array's width is the k used).

    A row never lists itself, even where duplicated rows tie with it at distance 0.
    """
    X = np.ascontiguousarray(features, dtype=np.float32)
    n = len(X)
    if n < 2:
        raise ValueError(f"nearest neighbours need at least 2 cells, got {n}")
    k = fit_neighbours(k, n)
    if n <= EXACT_LIMIT or X.shape[1] <= LOW_DIMENSIONS:
        from sklearn.neighbors import NearestNeighbors
        _, idx = NearestNeighbors(n_neighbors=k + 1, n_jobs=n_jobs).fit(X).kneighbors(X)
    else:
        from pynndescent import NNDescent
        idx, _ = NNDescent(X, n_neighbors=k + 1, random_state=random_state, n_jobs=n_jobs).neighbor_graph
    return _without_self(idx, k)


def _without_self(idx, k):
    """Drop each row's own index (wherever ties put it) and keep k columns."""
    rows = np.arange(len(idx))[:, None]
    is_self = idx == rows
    # rows whose own index is missing (ties): drop their last column instead
    missing = ~is_self.any(axis=1)
    is_self[missing, -1] = True
    return idx[~is_self].reshape(len(idx), k).astype(np.int32)


def kept_neighbours(before, after):
    """Per cell, how many of its neighbours in ``after`` were already its neighbours in ``before``."""
    before, after = np.asarray(before), np.asarray(after)
    return np.array([len(np.intersect1d(a, b)) for a, b in zip(before, after)], dtype=np.int32)


def same_class_share(neighbours, labels):
    """Per cell, the share of its neighbours that carry its own label."""
    labels = np.asarray(labels)
    return (labels[np.asarray(neighbours)] == labels[:, None]).mean(axis=1)
