"""Decision-boundary overlay for an embedding: class probabilities over the plotted square.

A fallback for when no boundary model is given: kNN (k=3) on the embedded points labelled with
the network's *predicted* class, evaluated on a regular grid and Gaussian-smoothed, so the page
can show where in the embedding the network switches its decision.
"""
import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.neighbors import KNeighborsClassifier


class KNNBoundary:
    """Class-probability image over the unit square from labelled 2-D points.

    ``fit(points, labels)`` takes points already scaled to [0, 1]^2; ``transform()`` returns
    (resolution, resolution, n_classes) probabilities, row 0 at the top (y = 1) like an image.
    """

    def __init__(self, n_neighbors=3, resolution=128, sigma=2.0, n_classes=None, random_state=None):
        self.n_neighbors = n_neighbors
        self.resolution = resolution
        self.sigma = sigma
        self.n_classes = n_classes
        self.random_state = random_state  # kNN is deterministic; kept for the common interface

    def fit(self, points, labels):
        points = np.asarray(points, dtype=np.float64)
        labels = np.asarray(labels, dtype=int)
        self.n_classes_ = int(self.n_classes or labels.max() + 1)
        self.knn_ = KNeighborsClassifier(n_neighbors=min(self.n_neighbors, len(points)))
        self.knn_.fit(points, labels)
        return self

    def transform(self, points=None):
        r = self.resolution
        centres = (np.arange(r) + 0.5) / r
        gx, gy = np.meshgrid(centres, centres[::-1])
        proba = self.knn_.predict_proba(np.column_stack([gx.ravel(), gy.ravel()]))
        full = np.zeros((r * r, self.n_classes_))
        full[:, self.knn_.classes_] = proba
        grid = full.reshape(r, r, self.n_classes_)
        if self.sigma:
            grid = np.stack([gaussian_filter(grid[..., k], self.sigma, mode="nearest")
                             for k in range(self.n_classes_)], axis=-1)
        grid /= np.maximum(grid.sum(axis=-1, keepdims=True), 1e-12)
        return grid.astype(np.float32)

    def fit_transform(self, points, labels):
        return self.fit(points, labels).transform()


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
