"""Decision-boundary overlay for an embedding: class probabilities over the plotted square.

A fallback for when no boundary model is given: kNN (k=3) on the embedded points labelled with
the network's *predicted* class, evaluated on a regular grid and Gaussian-smoothed, so the page
can show where in the embedding the network switches its decision.
"""
import numpy as np

from ..embeddings.boundary import DecisionBoundary


def unit_square_probabilities(points, labels, n_classes, n_neighbors=3, resolution=128, sigma_px=2.0):
    """(resolution, resolution, n_classes) smoothed class probabilities over [0, 1]^2, row 0 at
    the top (y = 1) like an image; the same kNN boundary as the figures (cellscape.boundary)."""
    labels = np.asarray(labels, dtype=int)
    boundary = DecisionBoundary(n_neighbors=n_neighbors, resolution=resolution,
                                smoothing=sigma_px / (resolution - 1), margin=0.0)
    boundary.fit(points, labels, extent=(0.0, 1.0, 0.0, 1.0))
    grid = np.zeros((n_classes, *boundary.xx.shape))
    grid[boundary.classes_] = boundary.probabilities_
    grid /= np.maximum(grid.sum(axis=0, keepdims=True), 1e-12)
    return np.moveaxis(grid[:, ::-1], 0, -1).astype(np.float32)


def boundary_rgba(proba, colours, max_alpha=80, edge_alpha=200):
    """(H, W, K) probabilities -> (H, W, 4) uint8: the winning class's colour, more opaque where
    the decision is surer, and a dark line where the winning class changes."""
    proba = np.asarray(proba, dtype=np.float32)
    k = proba.shape[-1]
    winner = proba.argmax(axis=-1)
    rgb = np.array([_hex_rgb(colours[i % len(colours)]) for i in range(k)], dtype=np.uint8)[winner]
    sure = (proba.max(axis=-1) - 1.0 / k) / max(1e-6, 1.0 - 1.0 / k)
    alpha = (0.35 + 0.65 * np.clip(sure, 0, 1)) * max_alpha
    edge = np.zeros(winner.shape, dtype=bool)
    edge[:, 1:] |= winner[:, 1:] != winner[:, :-1]
    edge[1:, :] |= winner[1:, :] != winner[:-1, :]
    rgba = np.dstack([rgb, alpha.astype(np.uint8)])
    rgba[edge] = (40, 40, 40, edge_alpha)
    return rgba


def _hex_rgb(colour):
    colour = colour.lstrip("#")
    return tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))
