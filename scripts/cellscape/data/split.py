"""Stratified train/validation/test split (60:20:20 by default), reproducible for a seed, that
keeps groups of events (copies of one image) in one split."""
import numpy as np
import pandas as pd


def stratified_split(labels, fractions, seed, groups=None):
    """Assign 'train'/'val'/'test' per item so each class keeps the configured proportions.

    ``groups``: optional key per item (e.g. the duplicate group; "" or NaN: an item of its own).
    The items of one group go to one split: groups are shuffled within the class of their first
    item and each goes to the split in which its middle falls along the cumulative count, so the
    proportions hold as far as the group sizes allow. Without groups (or with only singletons)
    the split is the same as the plain stratified split of the same seed.
    """
    labels = np.asarray(labels)
    total = sum(fractions.values())
    names = ["train", "val", "test"]
    shares = np.array([fractions[n] for n in names], dtype=float) / total
    out = np.empty(len(labels), dtype=object)
    rng = np.random.default_rng(seed)
    codes = pd.factorize(_group_keys(groups, len(labels)))[0]
    sizes = np.bincount(codes)
    heads = np.full(len(sizes), -1)
    heads[codes[::-1]] = np.arange(len(labels))[::-1]  # a group's first item
    group_split = np.empty(len(sizes), dtype=object)
    for lab in np.unique(labels):
        class_heads = rng.permutation(heads[labels[heads] == lab])
        size = sizes[codes[class_heads]]
        cuts = np.round(np.cumsum(shares) * size.sum()).astype(int)
        middles = np.cumsum(size) - size / 2
        which = np.searchsorted(cuts, middles, side="right").clip(0, len(names) - 1)
        group_split[codes[class_heads]] = np.array(names, dtype=object)[which]
    out[:] = group_split[codes]
    return out


def _group_keys(groups, n):
    """A key per item: its group's, or its own position when it has none."""
    own = np.array([f"\0{i}" for i in range(n)], dtype=object)
    if groups is None:
        return own
    groups = pd.Series(groups, dtype=object).fillna("").astype(str).to_numpy()
    return np.where(groups != "", groups, own)
