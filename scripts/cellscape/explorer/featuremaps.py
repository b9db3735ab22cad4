"""Per-channel activation scores of the shown cells, for the gallery's top-activating cells."""
import numpy as np

from ..model.hooks import layer_batches


def channel_scores(model, images, layers, rows=None, batch_size=64, device=None):
    """Mean activation of every channel for the cells at ``rows`` of ``images`` (default all):
    ``{layer: (n, C) float32}`` in ``rows`` order. The gallery ranks cells by it."""
    scores = {name: [] for name in layers}
    for acts in layer_batches(model, images, list(layers), rows=rows, batch_size=batch_size, device=device):
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
