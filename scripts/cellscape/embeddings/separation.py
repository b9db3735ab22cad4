"""How well each layer separates the classes (the per-layer curves) and DBSCAN clusters.

Scores of one layer, in the (reduced) feature space and in each 2-D map:

- k-NN accuracy (k = 5, stratified 5-fold cross-validation): are a cell's nearest
  neighbours of its class - the local separation the maps show;
- silhouette (Euclidean, on at most ``max_samples`` points): global cluster separation;
- trustworthiness (k = 15, sklearn's, on a subsample of large maps): does the map keep the
  feature-space neighbourhoods (maps only).

Every k is fitted to the cells there are (``cellscape.neighbourhood``); the rows record the k used.
DBSCAN runs on the standardised UMAP map so ``eps`` means the same on every layer.
No I/O here.
"""
import numpy as np
import pandas as pd
from sklearn.cluster import DBSCAN
from sklearn.metrics import silhouette_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from ..neighbourhood import fit_neighbours
from ..trust import trust_neighbours, trustworthiness


def class_counts(labels):
    """The cells of each class present in ``labels`` (in sorted class order)."""
    return np.bincount(np.unique(np.asarray(labels), return_inverse=True)[1])


def knn_folds(labels, n_folds=5):
    """The folds :func:`knn_accuracy` uses: ``n_folds``, fewer when the smallest class has fewer cells."""
    n_folds = min(n_folds, int(class_counts(labels).min()))
    if n_folds < 2:
        raise ValueError("every class needs at least two cells for the cross-validated k-NN accuracy; with few "
                         "events set activations.split: all (every cell embedded and scored)")
    return n_folds


def knn_neighbours(k, labels, n_folds=5):
    """The k :func:`knn_accuracy` uses: at most the cells of its smallest training fold (each
    class gives at most ceil(its cells / folds) of them to a test fold)."""
    labels = np.asarray(labels)
    n_folds = knn_folds(labels, n_folds)
    counts = class_counts(labels)
    smallest_training = len(labels) - int(np.sum(-(-counts // n_folds)))
    return fit_neighbours(k, smallest_training + 1)


def knn_accuracy(X, labels, k=5, n_folds=5, random_state=0):
    """Mean cross-validated accuracy of a k-NN classifier of the labels from X (k fitted to the
    smallest training fold, :func:`knn_neighbours`)."""
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels)
    folds = StratifiedKFold(n_splits=knn_folds(labels, n_folds), shuffle=True, random_state=random_state)
    classifier = KNeighborsClassifier(n_neighbors=knn_neighbours(k, labels, n_folds))
    return float(cross_val_score(classifier, X, labels, cv=folds).mean())


def silhouette(X, labels, max_samples=3000, random_state=0):
    X = np.asarray(X, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(X, labels, sample_size=min(max_samples, len(X)), random_state=random_state))


def layer_separation(features, labels, embeddings=None, k=5, trust_neighbors=15, random_state=0):
    """Rows ``{space, knn_accuracy, silhouette, trustworthiness, n_cells, knn_k, trust_k}`` for
    one layer; ``knn_k`` and ``trust_k`` are the neighbours used (fitted to the cells; trust_k 0
    where there is no trustworthiness).

    ``features``: (n, d) feature (or reduced) matrix, row ``space="features"``;
    ``embeddings``: dict method -> (n, 2) map, one row each (trustworthiness against
    ``features``).
    """
    sizes = {"n_cells": len(labels), "knn_k": knn_neighbours(k, labels)}
    rows = [{"space": "features", "knn_accuracy": knn_accuracy(features, labels, k, random_state=random_state),
             "silhouette": silhouette(features, labels, random_state=random_state),
             "trustworthiness": float("nan"), **sizes, "trust_k": 0}]
    for method, Y in (embeddings or {}).items():
        rows.append({"space": method, "knn_accuracy": knn_accuracy(Y, labels, k, random_state=random_state),
                     "silhouette": silhouette(Y, labels, random_state=random_state),
                     "trustworthiness": trustworthiness(features, Y, n_neighbors=trust_neighbors,
                                                        random_state=random_state),
                     **sizes, "trust_k": trust_neighbours(trust_neighbors, len(Y))})
    return rows


def feature_separation(features_by_layer, labels, random_state=0):
    """:func:`layer_separation`'s feature-space row of each layer ({layer: (n, d)}) as a table
    with columns layer, space ("features") and the scores: another network's layers scored as
    rule layer_metrics scores the classifier's."""
    return pd.DataFrame([{"layer": layer, **layer_separation(X, labels, random_state=random_state)[0]}
                         for layer, X in features_by_layer.items()])


def standardise(Y):
    Y = np.asarray(Y, dtype=np.float64)
    scale = Y.std(0)
    return (Y - Y.mean(0)) / np.where(scale > 0, scale, 1)


def dbscan_min_samples(min_samples, labels):
    """DBSCAN's ``min_samples`` fitted to the cells: at most half the smallest class (so each
    class can still form a cluster of its own), and at least 2 (one cell is no cluster)."""
    counts = class_counts(labels)
    return max(2, fit_neighbours(min_samples, int(counts.min()) + 1, cells_per_neighbour=2)) if len(counts) else 2


def dbscan_eps(eps, Y, min_samples):
    """DBSCAN's ``eps`` fitted to the cells: the requested radius, or the median distance from a
    cell to its ``min_samples - 1``-th neighbour on the standardised map where that is larger.

    A fixed radius in standard units means a density: thousands of cells reach it, a few dozen
    spread over the same map do not, and every cell would be noise. With the median, at least half
    the cells are core points (DBSCAN counts the cell itself in ``min_samples``); where the cells
    are dense enough the requested radius stands (the k-distance rule of Ester et al., 1996)."""
    from sklearn.neighbors import NearestNeighbors
    Z = standardise(np.asarray(Y, dtype=np.float64))
    if len(Z) < min_samples or min_samples < 2:
        return float(eps)
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(Z).kneighbors(Z)  # column 0: the cell itself
    return float(max(eps, np.median(distances[:, min_samples - 1])))


def dbscan_clusters(Y, eps=0.15, min_samples=10):
    """DBSCAN labels (-1 = noise) of the standardised 2-D map (``eps`` as given: fit it with
    :func:`dbscan_eps`)."""
    return DBSCAN(eps=eps, min_samples=min_samples).fit_predict(standardise(Y)).astype(np.int64)
