"""Decision boundary of the network drawn on a 2-D map (paper Figs. 8, 9, 11).

The map itself has no classifier, so the boundary is estimated: a k-NN classifier (k = 3)
is fitted on the embedded points with the class the *network predicted* (not the true
class: the boundary shows where the network changes its mind), its class probabilities
are evaluated on a regular grid over the plot extent, each class's probability map is
smoothed with a Gaussian filter (k-NN maps are blocky and noisy) and the arg-max taken.
Works the same on grid-mapped positions (Fig. 11). No I/O here.
"""
import numpy as np
from scipy.ndimage import gaussian_filter
from sklearn.neighbors import KNeighborsClassifier

from ..neighbourhood import fit_neighbours


class DecisionBoundary:
    """Estimated boundary: ``fit(Y, predicted)`` then ``.xx, .yy, .class_map, .field``.

    Parameters
    ----------
    n_neighbors : k of the k-NN classifier.
    resolution : grid points along the longer axis of the extent.
    smoothing : Gaussian sigma, as a fraction of the longer axis (converted to grid steps).
    margin : fraction of the extent added on each side.

    Attributes after ``fit``: ``classes_``; ``xx, yy`` (ny, nx) grid coordinates;
    ``probabilities_`` (n_classes, ny, nx) smoothed; ``class_map`` (ny, nx) the arg-max as
    class values; ``field`` (ny, nx) for contouring at level 0: for two classes
    P(class 1) - P(class 0), otherwise the margin between the top two classes signed by
    whether the top class equals the first class (use ``class_map`` for colour fills); where the
    network predicted one class for every point there is no boundary (``field`` 1 everywhere,
    ``has_boundary`` False): a barely trained network, or cells of one class.
    """

    def __init__(self, n_neighbors=3, resolution=300, smoothing=0.02, margin=0.05):
        self.n_neighbors = n_neighbors
        self.resolution = resolution
        self.smoothing = smoothing
        self.margin = margin

    def fit(self, Y, predicted, extent=None):
        Y = np.asarray(Y, dtype=np.float64)
        predicted = np.asarray(predicted)
        # k among the n points themselves (each point is its own nearest)
        self.n_neighbors_ = fit_neighbours(self.n_neighbors, len(Y) + 1)
        self.knn_ = KNeighborsClassifier(n_neighbors=self.n_neighbors_).fit(Y, predicted)
        self.classes_ = self.knn_.classes_
        if extent is None:
            low, high = Y.min(0), Y.max(0)
            pad = self.margin * np.maximum(high - low, 1e-12)
            extent = (low[0] - pad[0], high[0] + pad[0], low[1] - pad[1], high[1] + pad[1])
        self.extent_ = tuple(float(v) for v in extent)
        x0, x1, y0, y1 = self.extent_
        longest = max(x1 - x0, y1 - y0)
        step = longest / (self.resolution - 1)
        self.xx, self.yy = np.meshgrid(np.arange(x0, x1 + step / 2, step), np.arange(y0, y1 + step / 2, step))
        raw = self.knn_.predict_proba(np.column_stack([self.xx.ravel(), self.yy.ravel()]))
        raw = raw.T.reshape(len(self.classes_), *self.xx.shape)
        sigma = self.smoothing * (self.resolution - 1)
        smooth = np.stack([gaussian_filter(p, sigma, mode="nearest") for p in raw]) if sigma > 0 else raw
        self.probabilities_ = smooth
        top = smooth.argmax(0)
        self.class_map = self.classes_[top]
        if len(self.classes_) == 1:
            self.field = np.ones_like(smooth[0])
        elif len(self.classes_) == 2:
            self.field = smooth[1] - smooth[0]
        else:
            ordered = np.sort(smooth, axis=0)
            self.field = (ordered[-1] - ordered[-2]) * np.where(top == 0, -1.0, 1.0)
        return self

    @property
    def has_boundary(self):
        """Whether the map changes class anywhere (the level-0 contour of ``field`` exists)."""
        return bool((self.field > 0).any() and (self.field < 0).any())

    def predict(self, points):
        """Class of arbitrary points from the smoothed map (nearest grid node)."""
        points = np.asarray(points, dtype=np.float64)
        x0, _, y0, _ = self.extent_
        step = self.xx[0, 1] - self.xx[0, 0]
        ix = np.clip(np.round((points[:, 0] - x0) / step).astype(int), 0, self.xx.shape[1] - 1)
        iy = np.clip(np.round((points[:, 1] - y0) / step).astype(int), 0, self.xx.shape[0] - 1)
        return self.class_map[iy, ix]
