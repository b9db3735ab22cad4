"""Stratified train/validation/test split (60:20:20 by default), reproducible for a seed."""
import numpy as np


def stratified_split(labels, fractions, seed):
    """Assign 'train'/'val'/'test' per item so each class keeps the configured proportions."""
    labels = np.asarray(labels)
    total = sum(fractions.values())
    names = ["train", "val", "test"]
    shares = np.array([fractions[n] for n in names], dtype=float) / total
    out = np.empty(len(labels), dtype=object)
    rng = np.random.default_rng(seed)
    for lab in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == lab))
        cuts = np.round(np.cumsum(shares) * len(idx)).astype(int)
        for name, lo, hi in zip(names, np.r_[0, cuts[:-1]], cuts):
            out[idx[lo:hi]] = name
    return out
