"""Per-cell feature maps for the IFeaLiD page and per-channel activation scores for the gallery.

IFeaLiD (Zurowietz & Nattkemper 2020) ships feature maps as uint8, quantised with the *global*
minimum and maximum of the layer, so one (min, max) pair turns every byte back into an
activation and cosine similarities between positions survive quantisation. Maps are stored
channel-last (H, W, C) because the browser reads one position's whole channel vector at a time.
"""
import numpy as np

from ..model.hooks import layer_batches, layer_outputs


def quantise_uint8(values, low, high):
    """Linear map of [low, high] onto 0..255 (rounded); a constant layer becomes all zeros."""
    values = np.asarray(values, dtype=np.float32)
    span = float(high) - float(low)
    if span <= 0:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.rint((values - low) * (255.0 / span)), 0, 255).astype(np.uint8)


def dequantise_uint8(codes, low, high):
    """Inverse of ``quantise_uint8`` (up to the rounding step (high - low) / 255)."""
    return float(low) + np.asarray(codes, dtype=np.float32) * ((float(high) - float(low)) / 255.0)


def feature_maps(model, images, layers, batch_size=16, device=None):
    """Quantised post-activation maps of conv ``layers`` for a few cells.

    Returns ``{layer: (codes, low, high)}`` with codes uint8 (n, H, W, C) and the layer's
    global float minimum and maximum over these cells.
    """
    acts = layer_outputs(model, np.asarray(images, dtype=np.float32), list(layers), batch_size=batch_size,
                         device=device)
    result = {}
    for name in layers:
        act = acts[name]
        if act.ndim != 4:
            raise ValueError(f"feature maps need a conv layer; {name} has shape {act.shape[1:]}")
        hwc = np.ascontiguousarray(act.transpose(0, 2, 3, 1))
        low, high = float(hwc.min()), float(hwc.max())
        result[name] = (quantise_uint8(hwc, low, high), low, high)
    return result


def channel_scores(model, images, layers, batch_size=64, device=None):
    """Mean activation of every channel for every cell: ``{layer: (n, C) float32}``.

    The gallery ranks cells by it to show the cells that drive each channel most.
    """
    scores = {name: [] for name in layers}
    for acts in layer_batches(model, np.asarray(images, dtype=np.float32), list(layers), batch_size=batch_size,
                              device=device):
        for name, act in acts.items():
            scores[name].append(act.reshape(act.shape[0], act.shape[1], -1).mean(axis=2))
    return {name: np.concatenate(parts).astype(np.float32) for name, parts in scores.items()}


def top_activating_cells(scores, ids, k=4):
    """For each channel, the ids of the ``k`` cells with the highest score: (C, k) array."""
    scores = np.asarray(scores)
    ids = np.asarray(ids)
    k = min(k, len(ids))
    order = np.argsort(-scores, axis=0, kind="stable")[:k]  # (k, C)
    return ids[order.T]


def similarity_map(codes, low, high, y, x):
    """IFeaLiD angular similarity of every position to position (y, x), min-max stretched.

    The numpy reference for the page's JavaScript: s = 1 - arccos(cos t) / (pi / 2); positions
    with a zero vector get similarity 0. Returns (raw, stretched), both (H, W) float32.
    """
    feats = dequantise_uint8(codes, low, high).astype(np.float64)
    ref = feats[y, x]
    norms = np.linalg.norm(feats, axis=-1)
    ref_norm = norms[y, x]
    denom = norms * ref_norm
    cos = np.where(denom > 0, (feats @ ref) / np.where(denom > 0, denom, 1.0), 0.0)
    raw = np.where(denom > 0, 1.0 - np.arccos(np.clip(cos, -1.0, 1.0)) / (np.pi / 2), 0.0)
    span = raw.max() - raw.min()
    stretched = (raw - raw.min()) / span if span > 0 else np.zeros_like(raw)
    return raw.astype(np.float32), stretched.astype(np.float32)
