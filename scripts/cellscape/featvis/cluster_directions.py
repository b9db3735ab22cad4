"""What distinguishes a cluster of cells in a layer's feature space (paper Fig. 18).

Each cell is summarised by its channel activations (spatial mean of each channel). For a
cluster, channel i's weight is how far the cluster's median activation lies above the whole
set's median, in units of the whole set's spread:

    w_i = ReLU((m_cluster,i - m_all,i) / s_all,i),   w <- w / |w|

The unit vector w is the direction a feature image for that cluster maximises (objective
``direction(layer, w)``). Only channels *more* active in the cluster count: a feature image
can show what is present, not what is missing. No I/O here.
"""
import numpy as np
import pandas as pd

NOISE = -1


def channel_means(features, n_channels, batch_rows=256):
    """(n, C*H*W) flattened conv features (C, H, W order; may be a float16 memmap) -> (n, C)."""
    n, d = features.shape
    if d % n_channels:
        raise ValueError(f"{d} features are not a whole number of {n_channels} channels")
    out = np.empty((n, n_channels), dtype=np.float64)
    for start in range(0, n, batch_rows):
        block = np.asarray(features[start:start + batch_rows], dtype=np.float32)
        out[start:start + len(block)] = block.reshape(len(block), n_channels, -1).mean(axis=2)
    return out


def cluster_weights(means, labels, min_size=1):
    """Direction weights of every cluster: (cluster ids (K,), weights (K, C)) with unit rows.

    ``means`` (n, C) channel activations, ``labels`` (n,) cluster per cell (-1 = noise, which
    is never a cluster but counts in the whole set). A channel constant over the whole set
    (s = 0) gets weight 0. A cluster with no channel above the set's median keeps an all-zero
    row (its direction is undefined); ``weights_defined`` tells which rows are usable.
    """
    means = np.asarray(means, dtype=np.float64)
    labels = np.asarray(labels)
    if len(means) != len(labels):
        raise ValueError(f"{len(means)} cells but {len(labels)} labels")
    median_all = np.median(means, axis=0)
    spread = means.std(axis=0)
    safe = np.where(spread > 1e-12, spread, np.inf)
    ids = np.array(sorted(c for c in set(labels.tolist()) if c != NOISE and np.sum(labels == c) >= min_size),
                   dtype=np.int64)
    weights = np.zeros((len(ids), means.shape[1]))
    for k, c in enumerate(ids):
        w = np.maximum((np.median(means[labels == c], axis=0) - median_all) / safe, 0.0)
        norm = np.linalg.norm(w)
        weights[k] = w / norm if norm > 0 else w
    return ids, weights


def weights_defined(weights):
    """Rows of ``cluster_weights`` that are a direction (non-zero)."""
    return np.linalg.norm(weights, axis=1) > 0


def largest_clusters(labels, max_clusters):
    """Cluster ids (no noise) sorted by size, largest first, at most ``max_clusters``."""
    labels = pd.Series(np.asarray(labels))
    sizes = labels[labels != NOISE].value_counts()
    sizes = sizes.sort_index().sort_values(ascending=False, kind="stable")
    return sizes.index.to_numpy(dtype=np.int64)[:max_clusters]



def drawable_clusters(labels, ids, weights, max_clusters):
    """Indices into ``ids`` of the (at most ``max_clusters``) largest clusters whose direction is
    defined, largest first: the clusters that get a feature image."""
    position = {c: k for k, c in enumerate(np.asarray(ids).tolist())}
    defined = weights_defined(weights)
    ordered = [position[c] for c in largest_clusters(labels, len(position)).tolist() if c in position]
    return np.array([k for k in ordered if defined[k]][:max_clusters], dtype=np.int64)
