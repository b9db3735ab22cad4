"""Compact per-position feature vectors of many cells, for feature localisation between cells.

IFeaLiD (Zurowietz & Nattkemper 2020) compares the feature vector under the pointer with every
position's vector by their angle. Shipping raw conv maps costs ~0.8 MB per cell for the paper's
network, so each layer's vectors are projected onto its first K right singular vectors (uncentred,
so dot products and angles are what is approximated; ``energy`` says how much of the squared norm
they keep), average-pooled to at most ``max_size`` positions a side, and quantised per component
to uint8. docs/explorer.md gives the format; the page undoes it in a few lines.
"""
import math

import numpy as np

from .encode import b64_array, js_assignment


def pool_factor(height, max_size):
    """The integer average-pooling factor that brings ``height`` to at most ``max_size``."""
    return max(1, math.ceil(height / max_size))


def average_pool(maps, factor):
    """(n, C, H, W) -> (n, C, ceil(H/f), ceil(W/f)) means over f x f blocks (edges: partial blocks)."""
    maps = np.asarray(maps, dtype=np.float32)
    if factor == 1:
        return maps
    n, c, h, w = maps.shape
    hh, ww = math.ceil(h / factor), math.ceil(w / factor)
    padded = np.zeros((n, c, hh * factor, ww * factor), dtype=np.float32)
    counts = np.zeros((hh * factor, ww * factor), dtype=np.float32)
    padded[:, :, :h, :w] = maps
    counts[:h, :w] = 1
    sums = padded.reshape(n, c, hh, factor, ww, factor).sum(axis=(3, 5))
    return sums / counts.reshape(hh, factor, ww, factor).sum(axis=(1, 3))


class LayerBasis:
    """Accumulates the uncentred Gram matrix of a layer's position vectors, then its top-K basis."""

    def __init__(self, components):
        self.components = components
        self.gram_ = None

    def partial_fit(self, maps):
        """Add (n, C, H, W) maps' position vectors."""
        vectors = np.moveaxis(np.asarray(maps, dtype=np.float64), 1, -1).reshape(-1, maps.shape[1])
        gram = vectors.T @ vectors
        self.gram_ = gram if self.gram_ is None else self.gram_ + gram
        return self

    def finish(self):
        """Top-K eigenvectors of the Gram matrix (C, K), largest first, and the energy they keep."""
        values, vectors = np.linalg.eigh(self.gram_)
        order = np.argsort(values)[::-1][:min(self.components, len(values))]
        self.basis_ = vectors[:, order].astype(np.float32)
        # a sign convention makes the basis deterministic: each vector's largest entry positive
        signs = np.sign(self.basis_[np.abs(self.basis_).argmax(axis=0), np.arange(self.basis_.shape[1])])
        self.basis_ *= np.where(signs == 0, 1, signs)
        total = float(values.clip(min=0).sum())
        self.energy_ = float(values[order].clip(min=0).sum() / total) if total > 0 else 1.0
        return self

    def project(self, maps):
        """(n, C, H, W) -> (n, H, W, K) coordinates on the basis."""
        return np.einsum("nchw,ck->nhwk", np.asarray(maps, dtype=np.float32), self.basis_)


def quantise_components(values):
    """(n, H, W, K) floats -> uint8 codes and per-component (low, high) lists."""
    flat = values.reshape(-1, values.shape[-1])
    low, high = flat.min(axis=0), flat.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    codes = np.clip(np.rint((values - low) / span * 255.0), 0, 255).astype(np.uint8)
    return codes, low.astype(float).tolist(), high.astype(float).tolist()


def dequantise_components(codes, low, high):
    """Inverse of ``quantise_components`` (up to half a step per component)."""
    low, high = np.asarray(low, dtype=np.float32), np.asarray(high, dtype=np.float32)
    return low + np.asarray(codes, dtype=np.float32) * ((high - low) / 255.0)


def angular_similarity(vectors, reference):
    """IFeaLiD's similarity ``1 - arccos(cos t) / (pi / 2)`` of (..., K) vectors to one (K,) vector;
    0 where either vector is zero. The numpy reference for the page's JavaScript."""
    vectors = np.asarray(vectors, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    denom = np.linalg.norm(vectors, axis=-1) * np.linalg.norm(reference)
    cos = np.where(denom > 0, (vectors @ reference) / np.where(denom > 0, denom, 1.0), 0.0)
    return np.where(denom > 0, 1.0 - np.arccos(np.clip(cos, -1.0, 1.0)) / (np.pi / 2), 0.0)


def feature_store(batches, conv_layers, n_cells, components=8, max_size=40):
    """Pool, fit each layer's basis, project and quantise the feature maps of ``n_cells`` cells.

    ``batches``: a callable returning a fresh iterator of ``{layer: (b, C, H, W)}`` batches in cell
    order (it is run twice: once to fit the bases, once to project). Returns ``{layer: {codes
    (n, h, w, K) uint8, low, high, energy, height, width, components}}``.
    """
    bases = {layer: LayerBasis(components) for layer in conv_layers}
    factors = {}
    for batch in batches():
        for layer in conv_layers:
            factors.setdefault(layer, pool_factor(batch[layer].shape[2], max_size))
            bases[layer].partial_fit(average_pool(batch[layer], factors[layer]))
    projected = {layer: [] for layer in conv_layers}
    for layer in conv_layers:
        bases[layer].finish()
    for batch in batches():
        for layer in conv_layers:
            projected[layer].append(bases[layer].project(average_pool(batch[layer], factors[layer])).astype(np.float16))
    store = {}
    for layer in conv_layers:
        values = np.concatenate(projected[layer]).astype(np.float32)
        if len(values) != n_cells:
            raise ValueError(f"{layer}: feature maps of {len(values)} cells, expected {n_cells}")
        codes, low, high = quantise_components(values)
        store[layer] = {"codes": codes, "low": low, "high": high, "energy": bases[layer].energy_,
                        "height": codes.shape[1], "width": codes.shape[2], "components": codes.shape[3]}
    return store


def store_scripts(store, cells, tile_cells=64):
    """``meta.ifealid`` and ``(file name, script)`` per layer and tile of ``cells`` (sorted indices)."""
    cells = np.asarray(cells)
    if np.any(np.diff(cells) <= 0):
        raise ValueError("the cells with feature maps must be sorted cell indices without repeats")
    meta = {"cells": cells.tolist(), "tile_cells": tile_cells, "layers": []}
    files = []
    for layer, entry in store.items():
        meta["layers"].append({key: entry[key] for key in ("height", "width", "components", "low", "high", "energy")}
                              | {"name": layer})
        for t in range(math.ceil(len(cells) / tile_cells)):
            part = slice(t * tile_cells, (t + 1) * tile_cells)
            payload = {"cells": cells[part].tolist(), "data": b64_array(entry["codes"][part])}
            files.append((f"ifealid/{layer}_{t:05d}.js", js_assignment(("ifealid", layer, t), payload)))
    return meta, files
