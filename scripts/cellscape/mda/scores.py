"""Scores that say how faithfully a 2-D map shows a layer's feature manifold.

Used to compare MDA with UMAP, t-SNE and PCA on the same features:

- geodesic distance correlation: are far-apart points *along the manifold* far apart on
  the map (global geometry; Euclidean distance in feature space would reward maps that
  fold the manifold back onto itself), in two forms: map distances Euclidean
  (``geodesic_correlation``) or geodesic through the map's own k-NN graph
  (``geodesic_correlation_knn``, the form the MDA paper's claim needs);
- k-NN regression error of the target from the map: can the network's output be read off
  the map locally (the map is ordered by what the network computes);
- trustworthiness (sklearn): are map neighbours also feature-space neighbours (local
  geometry).

No I/O here.
"""
import numpy as np
from scipy.sparse.csgraph import connected_components, shortest_path
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors, kneighbors_graph

from ..neighbourhood import fit_neighbours
from ..trust import trust_neighbours, trustworthiness


def _as_2d(name, array):
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_same_length(**arrays):
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"arrays must have the same number of rows, got {lengths}")


def knn_graph(X, n_neighbors=10):
    """Symmetric k-NN distance graph, bridged into one connected component.

    A k-NN graph of clustered data (e.g. one cluster per class) falls apart into pieces with
    no path between them, which would leave inter-cluster geodesics undefined. As Isomap
    does, the pieces are joined by their shortest Euclidean link, repeatedly, until the
    graph is connected. Zero distances (duplicate points) become a tiny positive weight so
    they stay edges.
    """
    X = _as_2d("X", X)
    k = fit_neighbours(n_neighbors, len(X))
    graph = kneighbors_graph(X, k, mode="distance", include_self=False)
    graph.data = np.maximum(graph.data, 1e-12)
    graph = graph.maximum(graph.T).tolil()
    n_parts, part = connected_components(graph, directed=False)
    while n_parts > 1:
        inside = np.flatnonzero(part == part[0])
        outside = np.flatnonzero(part != part[0])
        dist, nearest = NearestNeighbors(n_neighbors=1).fit(X[outside]).kneighbors(X[inside])
        best = int(np.argmin(dist[:, 0]))
        i, j = inside[best], outside[nearest[best, 0]]
        graph[i, j] = graph[j, i] = max(dist[best, 0], 1e-12)
        n_parts, part = connected_components(graph, directed=False)
    return graph.tocsr()


def geodesic_distance_correlation(X, Y, n_neighbors=10, n_pairs=None, random_state=0, map_geodesic=False):
    """Pearson correlation of geodesic distances in X with distances on the map Y.

    ``map_geodesic``: the map side is Euclidean (False) or itself a geodesic through the k-NN
    graph of the 2-D map (True). The MDA paper's headline comparison needs the second form: a
    map that lays the manifold out as a thin curve keeps geodesic order along the curve, which
    only a map-side geodesic sees (a Euclidean chord cuts across the curve's bends).

    Geodesics are shortest paths through the k-NN graph of X (:func:`knn_graph`, bridged
    when disconnected). For speed, paths are run from a random subset of source points:
    ``n_pairs=None`` uses up to 200 sources against all points; an integer ``n_pairs``
    uses just enough sources and then that many random (source, target) pairs.
    Returns a float in [-1, 1]: 1 means the map is an isometry of the manifold up to scale.
    """
    X, Y = _as_2d("X", X), _as_2d("Y", Y)
    _check_same_length(X=X, Y=Y)
    n = len(X)
    if n < 3:
        raise ValueError("need at least 3 points")
    rng = np.random.default_rng(random_state)
    n_sources = min(n, 200) if n_pairs is None else min(n, int(np.ceil(n_pairs / (n - 1))))
    sources = np.sort(rng.choice(n, n_sources, replace=False))
    geodesic = shortest_path(knn_graph(X, n_neighbors), method="D", directed=False, indices=sources)
    if map_geodesic:
        mapped = shortest_path(knn_graph(Y, n_neighbors), method="D", directed=False, indices=sources)
    else:
        mapped = np.sqrt(((Y[sources][:, None, :] - Y[None, :, :]) ** 2).sum(-1))
    off_self = np.ones_like(geodesic, dtype=bool)
    off_self[np.arange(n_sources), sources] = False
    geodesic, mapped = geodesic[off_self], mapped[off_self]
    if n_pairs is not None and n_pairs < len(geodesic):
        keep = rng.choice(len(geodesic), n_pairs, replace=False)
        geodesic, mapped = geodesic[keep], mapped[keep]
    if np.std(geodesic) == 0 or np.std(mapped) == 0:
        return float("nan")
    return float(np.corrcoef(geodesic, mapped)[0, 1])


def knn_regression_neighbours(k, n_cells, n_folds=5):
    """The k :func:`knn_regression_error` uses: at most the cells of its smallest training fold."""
    n_folds = min(n_folds, n_cells)
    return fit_neighbours(k, n_cells - -(-n_cells // n_folds) + 1)


def knn_regression_error(Y, target, k=5, n_folds=5, random_state=0):
    """Cross-validated k-NN regression of the target from the map coordinates.

    Every point's target is predicted from its k nearest map neighbours in the other folds.
    Returns ``{"rmse": ..., "r2": ...}`` over all points (multi-column targets: RMSE over all
    entries, R^2 averaged over columns). Lower RMSE = the target varies smoothly on the map.
    """
    Y, target = _as_2d("Y", Y), _as_2d("target", target)
    _check_same_length(Y=Y, target=target)
    folds = KFold(n_splits=min(n_folds, len(Y)), shuffle=True, random_state=random_state)
    predicted = cross_val_predict(KNeighborsRegressor(n_neighbors=knn_regression_neighbours(k, len(Y), n_folds)), Y,
                                  target, cv=folds)
    return {"rmse": float(np.sqrt(mean_squared_error(target, predicted))),
            "r2": float(r2_score(target, predicted))}


def embedding_scores(X, Y, target=None, n_neighbors=10, k=5, random_state=0):
    """All scores of one map as a flat dict (one row of the method-comparison table), with the
    neighbourhood sizes used (fitted to the cells): ``graph_k``, ``trust_k`` and ``knn_k``."""
    scores = {"geodesic_correlation": geodesic_distance_correlation(X, Y, n_neighbors, random_state=random_state),
              "geodesic_correlation_knn": geodesic_distance_correlation(X, Y, n_neighbors, random_state=random_state,
                                                                        map_geodesic=True),
              "trustworthiness": trustworthiness(X, Y, n_neighbors=k, random_state=random_state)}
    if target is not None:
        error = knn_regression_error(Y, target, k=k, random_state=random_state)
        scores.update(knn_rmse=error["rmse"], knn_r2=error["r2"], knn_k=knn_regression_neighbours(k, len(Y)))
    scores.update(graph_k=fit_neighbours(n_neighbors, len(X)), trust_k=trust_neighbours(k, len(X)))
    return scores
