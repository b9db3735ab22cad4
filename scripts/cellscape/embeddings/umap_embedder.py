"""The project's one UMAP: umap-learn fitted on exact neighbours, with numba's on-disk cache.

umap-learn 0.5 does not cache its jitted functions and compiles pynndescent from 4,096 points
up. Here the k nearest neighbours are computed exactly with sklearn (cheap for n x 50) and
handed to UMAP as ``precomputed_knn``, so pynndescent never compiles, and
:func:`enable_numba_cache` turns on numba's on-disk cache for umap's own functions. Used by the
embedders' registry and by MDA, which embeds its projection with it.
"""
import warnings

import numpy as np
from sklearn.base import BaseEstimator

from ..neighbourhood import fit_neighbours

_CACHED_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.distances", "umap.sparse",
                   "umap.spectral")


def enable_numba_cache(module_names=_CACHED_MODULES):
    """Switch on numba's on-disk cache for every not-yet-cached jitted function of the modules.

    Must run before the functions are first compiled (i.e. before the first fit). Returns
    the number of functions switched. Safe to call repeatedly.
    """
    import importlib

    from numba.core.registry import CPUDispatcher
    switched = 0
    for name in module_names:
        module = importlib.import_module(name)
        for obj in vars(module).values():
            if isinstance(obj, CPUDispatcher) and type(obj._cache).__name__ == "NullCache":
                try:
                    obj.enable_caching()
                    switched += 1
                except Exception:  # functions numba cannot cache (e.g. closures) stay uncached
                    pass
    return switched


def exact_knn(X, n_neighbors):
    """(indices, distances) of each point's n_neighbors nearest points, itself first (UMAP's format)."""
    from sklearn.neighbors import NearestNeighbors
    X = np.asarray(X, dtype=np.float32)
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(X).kneighbors(X)
    return indices.astype(np.int32), distances.astype(np.float32)


class UMAPEmbedder(BaseEstimator):
    """umap-learn UMAP with exact neighbours (see the module docstring for why).

    ``exact_knn_max`` bounds the size up to which neighbours are computed exactly; above it
    umap-learn's own NN-descent is used. ``umap_kwargs``: further ``umap.UMAP`` arguments
    (e.g. ``{"spread": 1.5}``). Fitted: ``embedding_`` (n, n_components), ``umap_`` and
    ``n_neighbors_`` (the neighbours used: ``n_neighbors``, fewer on fewer cells). No
    ``transform``: the map of new rows would need the neighbour index that the exact path
    does not build.
    """

    def __init__(self, n_neighbors=15, min_dist=0.1, n_components=2, n_epochs=None, metric="euclidean",
                 exact_knn_max=50000, random_state=0, umap_kwargs=None):
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.n_components = n_components
        self.n_epochs = n_epochs
        self.metric = metric
        self.exact_knn_max = exact_knn_max
        self.random_state = random_state
        self.umap_kwargs = umap_kwargs

    def fit(self, X, y=None):
        import umap
        enable_numba_cache()
        X = np.asarray(X, dtype=np.float32)
        self.n_neighbors_ = n_neighbors = fit_neighbours(self.n_neighbors, len(X))
        precomputed = None
        if self.metric == "euclidean" and len(X) <= self.exact_knn_max:
            indices, distances = exact_knn(X, n_neighbors)
            precomputed = (indices, distances, None)
        self.umap_ = umap.UMAP(n_neighbors=n_neighbors, min_dist=self.min_dist, n_components=self.n_components,
                               n_epochs=self.n_epochs, metric=self.metric, precomputed_knn=precomputed,
                               random_state=self.random_state, **(self.umap_kwargs or {}))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            warnings.filterwarnings("ignore", message=".*precomputed_knn.*")
            warnings.filterwarnings("ignore", message=".*search index.*")
            self.embedding_ = self.umap_.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        return self.fit(X, y).embedding_
