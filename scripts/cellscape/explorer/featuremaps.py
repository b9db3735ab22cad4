"""What the explorer computes by running the network on the shown cells: the compact feature maps
of a capped set of cells (feature localisation, :mod:`.feature_store`) and every conv channel's
top-activating cells (the gallery)."""
import numpy as np

from ..activations.selection import misclassified_first
from ..model.hooks import layer_batches
from .feature_store import feature_store


def stored_feature_maps(model, images, cells, layers, max_cells=None, seed=0, components=8, max_size=40,
                        batch_size=32, device=None):
    """The cells whose feature maps the page stores and those maps: ``(store, positions)``.

    ``cells``: a table with row, class, label, predicted_label and certainty (``images`` indexed by
    row); ``positions`` (sorted, into ``cells``' order): every misclassified cell, then a
    class-stratified sample, up to ``max_cells`` (:func:`misclassified_first`); ``store``:
    :func:`feature_store` of ``layers`` for those cells, in that order.
    """
    positions = misclassified_first(cells, max_cells, seed)
    rows = cells["row"].to_numpy(dtype=int)[positions]
    store = feature_store(lambda: layer_batches(model, images, list(layers), rows=rows, batch_size=batch_size,
                                                device=device, progress="feature localisation"),
                          layers, len(positions), components, max_size)
    return store, positions


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


def gallery_top_cells(model, images, cells, layers, k=4, device=None):
    """``{layer: (C, k) ids}``: for every channel of ``layers``, the ``k`` cells of ``cells`` (a
    table with id and row, ``images`` indexed by row) with the highest mean activation."""
    by_row = cells.sort_values("row", kind="stable")
    scores = channel_scores(model, images, layers, rows=by_row["row"].to_numpy(dtype=int), device=device)
    ids = by_row["id"].to_numpy()
    return {layer: top_activating_cells(s, ids, k=k) for layer, s in scores.items()}
