"""Neuron groups: one cell's conv feature tensor factorised with NMF (paper Fig. 17).

A layer's (C, H, W) post-ReLU tensor is non-negative, so non-negative matrix factorisation of
its (H*W, C) matrix splits it into k groups of channels that fire together: each group has
a spatial map (where it fires, H x W) and channel weights (which channels, C). The channel
weights are a direction in the layer's channel space; a feature image of that direction
shows what the group as a whole responds to (lucid's "building blocks" neuron groups).
No I/O here.
"""
import warnings

import numpy as np
from sklearn.decomposition import NMF


class NeuronGroups:
    """NMF of one feature tensor into ``n_groups`` neuron groups.

    After ``fit(tensor)`` with ``tensor`` (C, H, W) >= 0: ``spatial_`` (k, H, W) and
    ``channel_weights_`` (k, C) with unit-length rows, so that
    ``tensor ~= einsum('kc,khw->chw', channel_weights_, spatial_)``. Groups are sorted by
    their total contribution, largest first; ``reconstruction_error_`` is the relative
    Frobenius error of that product.
    """

    def __init__(self, n_groups=6, max_iter=1000, random_state=0):
        self.n_groups = n_groups
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, tensor, y=None):
        tensor = np.asarray(tensor, dtype=np.float64)
        if tensor.ndim != 3:
            raise ValueError(f"expected a (C, H, W) feature tensor, got shape {tensor.shape}")
        if tensor.min() < 0:
            raise ValueError("NMF needs a non-negative tensor (a post-ReLU layer)")
        c, h, w = tensor.shape
        matrix = tensor.reshape(c, h * w).T  # (positions, channels)
        k = min(self.n_groups, c, h * w)
        model = NMF(n_components=k, init="nndsvda", max_iter=self.max_iter, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Maximum number of iterations.*")
            spatial = model.fit_transform(matrix)  # (positions, k)
        weights = model.components_  # (k, channels)
        norms = np.linalg.norm(weights, axis=1)
        norms = np.where(norms > 0, norms, 1.0)
        weights = weights / norms[:, None]
        spatial = spatial * norms[None, :]
        order = np.argsort(-spatial.sum(axis=0), kind="stable")
        self.channel_weights_ = weights[order]
        self.spatial_ = spatial[:, order].T.reshape(k, h, w)
        approx = np.einsum("kc,khw->chw", self.channel_weights_, self.spatial_)
        total = np.linalg.norm(tensor)
        self.reconstruction_error_ = float(np.linalg.norm(tensor - approx) / (total if total > 0 else 1.0))
        return self

    def transform(self, tensor=None):
        """The groups' spatial maps (k, H, W) of the fitted tensor."""
        return self.spatial_

    def fit_transform(self, tensor, y=None):
        return self.fit(tensor).spatial_
