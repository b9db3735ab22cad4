"""Linear centred kernel alignment (CKA; Kornblith et al. 2019): how alike two layers represent
the same cells, whatever the number of features of each.

With ``Xc`` and ``Yc`` the column-centred features (cells x features) of two layers,

    CKA(X, Y) = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)
              = <Kc, Lc>_F / (||Kc||_F ||Lc||_F),   Kc = Xc Xc^T, Lc = Yc Yc^T,

the (biased) HSIC of linear kernels, normalised. It is unchanged by an orthogonal transform or an
isotropic scaling of either layer's features (so by a permutation of its units), not by a
general invertible linear map: two layers that hold the same information in differently scaled
or mixed units may score below 1. It lies in [0, 1].

The feature-space form costs memory in features^2, the Gram form in cells^2; :func:`linear_cka`
picks the smaller. :func:`streamed_centred_gram` builds a layer's centred Gram matrix from its
activation dump (``features.npy``, cells x features, row-major) in column blocks, so a conv layer
of ~200,000 features is never held whole; :func:`gram_similarity` then compares every pair of
layers of any networks from their normalised Gram matrices. No file writing here.
"""
import sys

import numpy as np
from tqdm import tqdm

#: columns per block read from a dump (x cells x 4 bytes: 16 MB at 1,000 cells)
BLOCK_COLUMNS = 4096


def _features(X, name):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"{name}: features must be 2-D (cells, features), got shape {X.shape}")
    return X


def centre_columns(X):
    """``X`` (cells x features) minus each feature's mean over the cells, as float64."""
    X = _features(X, "X")
    return X - X.mean(axis=0, keepdims=True)


def linear_cka(X, Y):
    """Linear CKA of two layers' features (cells x features each, the same cells in the same
    order). NaN when either layer is constant over the cells (no variance to compare)."""
    X, Y = _features(X, "X"), _features(Y, "Y")
    if len(X) != len(Y):
        raise ValueError(f"X holds {len(X)} cells and Y {len(Y)}: CKA compares the same cells in both")
    if len(X) < 2:
        raise ValueError("CKA needs at least 2 cells")
    Xc, Yc = centre_columns(X), centre_columns(Y)
    n, (dx, dy) = len(X), (X.shape[1], Y.shape[1])
    if dx * dx + dy * dy + dx * dy <= 3 * n * n:  # feature-space form: the smaller matrices
        cross = np.sum((Yc.T @ Xc) ** 2)
        norm_x, norm_y = np.linalg.norm(Xc.T @ Xc), np.linalg.norm(Yc.T @ Yc)
    else:
        K, L = Xc @ Xc.T, Yc @ Yc.T
        cross, norm_x, norm_y = np.sum(K * L), np.linalg.norm(K), np.linalg.norm(L)
    if norm_x == 0 or norm_y == 0:
        return float("nan")
    return float(cross / (norm_x * norm_y))


def centred_gram(X):
    """The linear kernel of the column-centred features, ``Xc Xc^T`` (cells x cells, float64)."""
    Xc = centre_columns(X)
    return Xc @ Xc.T


def gram_cka(K, L):
    """Linear CKA from two centred Gram matrices (:func:`centred_gram`) of the same cells."""
    K, L = np.asarray(K, dtype=np.float64), np.asarray(L, dtype=np.float64)
    if K.shape != L.shape or K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise ValueError(f"Gram matrices of shapes {K.shape} and {L.shape}: both must be the same square size")
    norm_k, norm_l = np.linalg.norm(K), np.linalg.norm(L)
    if norm_k == 0 or norm_l == 0:
        return float("nan")
    return float(np.sum(K * L) / (norm_k * norm_l))


def dump_shape(path):
    """(cells, features) and dtype of a 2-D row-major ``.npy`` dump, from its header."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
    if len(shape) != 2 or fortran:
        raise ValueError(f"{path}: an activation dump is a 2-D row-major array (cells, features), "
                         f"got shape {shape}{' in Fortran order' if fortran else ''}")
    return shape, dtype


def streamed_centred_gram(path, rows, block_columns=BLOCK_COLUMNS, progress=None):
    """The centred Gram matrix (float64, len(rows) x len(rows)) of the cells ``rows`` of the dump
    at ``path`` (a ``features.npy``), summed over blocks of ``block_columns`` features.

    Each block holds every chosen cell, so its columns are centred exactly before they are
    multiplied (no cancellation of large means); the file is mapped afresh per block, so no more
    than a block's pages stay resident. ``progress``: a tqdm description, or None.
    """
    rows = np.asarray(rows, dtype=np.int64)
    (n_rows, n_features), _ = dump_shape(path)
    if rows.size < 2:
        raise ValueError(f"{path}: CKA needs at least 2 cells, {rows.size} chosen")
    if rows.min() < 0 or rows.max() >= n_rows:
        raise ValueError(f"{path}: holds {n_rows} cells; rows up to {rows.max()} were asked for")
    order = np.argsort(rows, kind="stable")  # read in file order, put back in the asked order
    sorted_rows = rows[order]
    gram = np.zeros((rows.size, rows.size), dtype=np.float64)
    starts = range(0, n_features, block_columns)
    for start in tqdm(starts, desc=progress, file=sys.stderr, disable=progress is None, mininterval=5.0):
        dump = np.load(path, mmap_mode="r")
        block = np.empty((rows.size, min(block_columns, n_features - start)), dtype=np.float32)
        block[order] = dump[sorted_rows, start:start + block_columns]
        del dump
        block -= block.mean(axis=0, dtype=np.float64, keepdims=True).astype(np.float32)
        gram += block @ block.T
    return gram


def unit_gram(gram):
    """A centred Gram matrix scaled to unit Frobenius norm, as float32 (CKA is then a dot
    product); None for a layer constant over the cells."""
    norm = np.linalg.norm(gram)
    return None if norm == 0 else (gram / norm).astype(np.float32)


def gram_similarity(units):
    """Pairwise CKA of layers given as unit Gram matrices (:func:`unit_gram`, all of the same
    cells): a symmetric (m, m) float64 matrix, NaN where a layer was constant (None)."""
    m = len(units)
    matrix = np.full((m, m), np.nan)
    present = [k for k, unit in enumerate(units) if unit is not None]
    for i, a in enumerate(present):
        for b in present[i:]:
            value = float(np.dot(units[a].ravel().astype(np.float64), units[b].ravel()))
            matrix[a, b] = matrix[b, a] = value
    return matrix


def best_matches(matrix, layers_a, layers_b, order):
    """For each layer of network A, the layer of network B most similar to it.

    ``matrix``: CKA (len(layers_a) x len(layers_b)); ``order``: every layer name in network
    order, which places both networks' layers on one axis (B may hold only some layers). Returns
    dict rows: layer_a, best_b, cka_best, cka_same (CKA with B's layer of the same name, NaN when
    B lacks it), steps (how many layers apart best_b is from layer_a in ``order``), match
    ("same", "adjacent" within one step, or "other")."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (len(layers_a), len(layers_b)):
        raise ValueError(f"a CKA matrix of shape {matrix.shape} for {len(layers_a)} x {len(layers_b)} layers")
    position = {layer: k for k, layer in enumerate(order)}
    rows = []
    for i, layer in enumerate(layers_a):
        if np.all(np.isnan(matrix[i])):
            best, value, steps = None, float("nan"), None
        else:
            j = int(np.nanargmax(matrix[i]))
            best, value = layers_b[j], float(matrix[i, j])
            steps = abs(position[best] - position[layer])
        same = float(matrix[i, layers_b.index(layer)]) if layer in layers_b else float("nan")
        match = "none" if steps is None else "same" if steps == 0 else "adjacent" if steps == 1 else "other"
        rows.append({"layer_a": layer, "best_b": best, "cka_best": value, "cka_same": same, "steps": steps,
                     "match": match})
    return rows
