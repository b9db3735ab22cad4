"""A probe's direction in a layer's full activation space, from its scores on the cells.

Probes are fitted on a layer's reduced features (``reduced.npy``, a linear map of the centred
activations); the class sensitivity (:mod:`.sensitivity`) needs the direction in the full space
the gradients live in (C x H x W values of a conv layer). Given the probe's score of each cell
(``reduced @ w``), :func:`lift_direction` returns the minimum-norm direction ``v`` of the full
space whose projections reproduce those scores, ``Xc v = s - mean(s)`` with ``Xc`` the centred
activations: ``v = Xc^T (Xc Xc^T)^+ s``. It lies in the span of the cells' activations, as the
weights of any L2-regularised linear probe fitted on the full features do, and needs only the
cells x cells Gram matrix and a second pass over the dump (column blocks, as the CKA's).
No I/O beyond reading the dump.
"""
import numpy as np

from ..similarity.cka import BLOCK_COLUMNS, dump_shape, streamed_centred_gram


def _coefficients(gram, scores, rcond):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim not in (1, 2) or len(scores) != len(gram):
        raise ValueError(f"{len(gram)} cells but scores of shape {scores.shape}: one score per cell "
                         "(a column per direction)")
    return np.linalg.pinv(gram, rcond=rcond, hermitian=True) @ (scores - scores.mean(axis=0))


def lift_direction(features, scores, rcond=1e-10):
    """The minimum-norm full-space direction(s) with ``Xc v = scores - mean`` (in-memory
    ``features``, cells x values; ``scores``: one per cell, or cells x directions): float64,
    (values,) or (directions, values)."""
    Xc = np.asarray(features, dtype=np.float64)
    Xc = Xc - Xc.mean(axis=0, keepdims=True)
    return (Xc.T @ _coefficients(Xc @ Xc.T, scores, rcond)).T


def lift_direction_streamed(path, rows, scores, block_columns=BLOCK_COLUMNS, rcond=1e-10):
    """:func:`lift_direction` for the cells ``rows`` of a dump (``features.npy``), read in
    column blocks: two passes, memory of a cells x cells matrix, one block and the directions
    (float32)."""
    rows = np.asarray(rows, dtype=np.int64)
    alpha = _coefficients(streamed_centred_gram(path, rows, block_columns), scores, rcond)
    (_, n_features), _ = dump_shape(path)
    order = np.argsort(rows, kind="stable")
    directions = np.empty((n_features,) + alpha.shape[1:], dtype=np.float32)
    for start in range(0, n_features, block_columns):
        dump = np.load(path, mmap_mode="r")
        block = np.empty((rows.size, min(block_columns, n_features - start)))
        block[order] = dump[rows[order], start:start + block_columns]
        del dump
        block -= block.mean(axis=0, keepdims=True)
        directions[start:start + block.shape[1]] = block.T @ alpha
    return directions.T
