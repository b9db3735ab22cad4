"""Manifold discovery and analysis (MDA): a prediction-guided 2-D map of a layer's features.

Written from the description in Islam et al., "Revealing hidden patterns in deep neural
network feature space continuum via manifold learning" (Nature Communications 14, 8506, 2023)
and from Gönen's BSDR paper; no code of the authors' implementation (CC BY-NC-ND) was used.
Plain UMAP/t-SNE only see the features; MDA also uses what the network predicts, so the map
is ordered by the network's output (a continuum for regression, one region per class for
labels) while it follows the features. Three steps:

1. **Groups from the predictions** (:func:`target_groups`): the point of the prediction space
   farthest from the predictions' centroid is the extreme point; every prediction's Euclidean
   distance to it is cut into equal-width bins whose number numpy's ``histogram(bins="auto")``
   chooses (the authors' binning; ``n_groups`` an integer gives that many equal-count bins
   instead). Group index therefore follows the prediction. With class labels the groups are
   the classes. The target (e.g. the measured ratio) only colours the map.
2. **Supervised projection**: Bayesian supervised dimensionality reduction
   (:class:`cellscape.mda.bsdr.BSDR`, Gönen 2013) learns a linear projection to
   ``projection_dim`` = 16 dimensions jointly with a multinomial probit classifier of the
   groups, by variational Bayes (200 iterations); the projection is X E[Q], not
   orthonormalised, so directions that do not predict the groups shrink away and the map
   follows the prediction as a thin curve. Features wider than ``max_input_dim`` (400) are
   reduced by PCA first. ``projection="lfda"`` is a fast variant: local Fisher discriminant
   analysis (Sugiyama 2007, closed form, one eigenproblem), which keeps the local geometry of
   the features and gives sheets close to UMAP's rather than the authors' curves.
3. **Embedding**: a 2-D UMAP of the projection (the project's one UMAP embedder,
   15 neighbours, min_dist 0.1).

Both estimators are scikit-learn estimators (explicit ``__init__`` parameters stored as given,
checked in ``fit``; ``sklearn.base.clone`` works): ``fit(X, y)`` and ``fit_transform``;
LocalFisherProjection also ``transform``.

No I/O here; the rule reads features and predictions and writes the embedding.
"""
import numpy as np
import scipy.linalg
import scipy.sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

from ..neighbourhood import fit_neighbours


# --------------------------------------------------------------------------------------------
# input checks


def _check_features(X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"features must be a 2-D array (n_samples, n_features), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("features contain NaN or infinite values")
    return X


def _check_target(y, n_samples):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(f"target must be 1-D (n,) or 2-D (n, n_targets), got shape {y.shape}")
    if len(y) != n_samples:
        raise ValueError(f"features have {n_samples} rows but target has {len(y)}")
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("target contains NaN or infinite values")
    if y.dtype.kind == "O" and any(v is None or (isinstance(v, float) and np.isnan(v)) for v in y.ravel()):
        raise ValueError("target contains missing labels")
    return y


def target_kind(y):
    """'classification' for integer, boolean or string labels, else 'regression'.

    Integer targets that are really continuous (counts, ages) must be declared with
    ``target="regression"``; a 2-D target (e.g. the softmax vector) is always regression.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return "regression"
    return "classification" if y.dtype.kind in "biuUSO" else "regression"


# --------------------------------------------------------------------------------------------
# step 1: target manifold


def extreme_point(target):
    """Index of the point farthest (Euclidean) from the centroid of ``target`` (n, d): for a 1-D
    target one end of its range, the one farther from the bulk."""
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    return int(np.argmax(((t - t.mean(axis=0)) ** 2).sum(1)))


def target_groups(target, n_groups="auto"):
    """Ordered groups along the prediction manifold (MDA step 1).

    Returns ``(groups, distance, extreme_index)``: ``distance`` is each point's Euclidean
    distance to the extreme point (:func:`extreme_point`), ``groups`` its bin: equal-width
    bins whose count ``numpy.histogram_bin_edges(bins="auto")`` chooses (``n_groups="auto"``,
    the authors' binning), or ``n_groups`` equal-count bins. Groups are consecutive integers
    from 0 (nearest the extreme point), monotone non-decreasing in ``distance``; empty bins
    and heavy ties give fewer groups.
    """
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    extreme = extreme_point(t)
    distance = np.sqrt(((t - t[extreme]) ** 2).sum(1))
    if isinstance(n_groups, str):
        if n_groups != "auto":
            raise ValueError(f"n_groups must be 'auto' or an integer >= 2, got {n_groups!r}")
        inner_edges = np.histogram_bin_edges(distance, bins="auto")[1:-1]
    else:
        if n_groups < 2:
            raise ValueError("n_groups must be 'auto' or an integer >= 2")
        inner_edges = np.quantile(distance, np.arange(1, n_groups) / n_groups)
    bins = np.searchsorted(inner_edges, distance, side="right")
    groups = np.unique(bins, return_inverse=True)[1].astype(np.int64)
    return groups, distance, extreme


def class_groups(labels):
    """Class labels -> (group codes 0..C-1, class values in code order)."""
    classes, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.astype(np.int64), classes


# --------------------------------------------------------------------------------------------
# step 2: supervised projection


def _local_affinity(X, groups, n_neighbors):
    """Sparse symmetric within-group affinity with local scaling (Zelnik-Manor & Perona).

    A_ij = exp(-|x_i - x_j|^2 / (s_i s_j)) for k-NN pairs of the same group, s_i the distance
    to the k-th neighbour; zero elsewhere. Sparse so the cost is O(n k), not O(n^2).
    """
    n = len(X)
    rows, cols, vals = [], [], []
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        if len(idx) < 2:
            continue
        k = min(n_neighbors, len(idx) - 1)
        dist, nbr = NearestNeighbors(n_neighbors=k + 1).fit(X[idx]).kneighbors(X[idx])
        dist, nbr = dist[:, 1:], nbr[:, 1:]
        scale = np.maximum(dist[:, -1], 1e-12)
        weight = np.exp(-dist ** 2 / (scale[:, None] * scale[nbr]))
        rows.append(np.repeat(idx, k))
        cols.append(idx[nbr.ravel()])
        vals.append(weight.ravel())
    if not rows:
        return scipy.sparse.csr_matrix((n, n))
    A = scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return A.maximum(A.T)


def _laplacian_scatter(X, W):
    """1/2 sum_ij W_ij (x_i - x_j)(x_i - x_j)^T = X^T (D - W) X for a sparse symmetric W."""
    degree = np.asarray(W.sum(1)).ravel()
    return X.T @ (degree[:, None] * X) - X.T @ (W @ X)


class LocalFisherProjection(BaseEstimator, TransformerMixin):
    """Local Fisher discriminant analysis (Sugiyama, JMLR 2007).

    Finds the linear map maximising local between-group scatter relative to local
    within-group scatter: pairs of neighbours in the same group are kept together, pairs in
    different groups pushed apart, and far-apart points of the same group are left free
    (which plain LDA would collapse). Scatter matrices are assembled in O(n d^2 + n k d)
    from a sparse k-NN affinity, never an n x n matrix. The output axes are an orthonormal
    basis of the top-``n_components`` discriminant directions, axis i scaled by
    (eigenvalue_i / eigenvalue_1) ** ``axis_power``.

    Parameters
    ----------
    n_components : output dimension (clipped to the number of features).
    n_neighbors : k of the within-group k-NN affinity and of its local scaling.
    regularization : ridge added to the within-group scatter, relative to its mean
        eigenvalue, so that directions without within-group spread stay well-posed.
    axis_power : 0 = isometric discriminant subspace; larger values damp weakly
        discriminative (e.g. noise) axes more.

    ``fit(X, y)`` takes the group labels as ``y``.
    """

    def __init__(self, n_components=10, n_neighbors=7, regularization=1e-3, axis_power=0.25):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.regularization = regularization
        self.axis_power = axis_power

    def fit(self, X, y):
        X = _check_features(X)
        groups = np.asarray(y)
        if len(groups) != len(X):
            raise ValueError(f"features have {len(X)} rows but groups has {len(groups)}")
        codes, _ = class_groups(groups)
        if codes.max() < 1:
            raise ValueError("need at least two groups")
        n, d = X.shape
        self.mean_ = X.mean(0)
        Xc = X - self.mean_
        A = _local_affinity(Xc, codes, self.n_neighbors)
        counts = np.bincount(codes)
        # W_w = A_ij / n_c on same-group pairs; W_b = A_ij (1/n - 1/n_c) same group, 1/n otherwise,
        # i.e. W_b = (all ones)/n - (same group)/n + A/n - W_w; the two dense terms have closed forms.
        W_within = scipy.sparse.diags(1.0 / counts[codes]) @ A
        W_within = (W_within + W_within.T) / 2
        S_within = _laplacian_scatter(Xc, W_within)
        S_total = Xc.T @ Xc
        S_groups = np.zeros((d, d))
        for g, n_g in enumerate(counts):
            Xg = Xc[codes == g]
            Xg = Xg - Xg.mean(0)
            S_groups += (n_g / n) * (Xg.T @ Xg)
        S_between = S_total - S_groups + _laplacian_scatter(Xc, A) / n - S_within
        ridge = self.regularization * max(np.trace(S_within) / d, 1e-12)
        S_within_reg = S_within + ridge * np.eye(d)
        eigenvalues, eigenvectors = scipy.linalg.eigh((S_between + S_between.T) / 2, S_within_reg)
        order = np.argsort(eigenvalues)[::-1][: min(self.n_components, d)]
        eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
        # Orthonormal basis of the discriminant subspace (QR keeps the eigen order), so that
        # distances inside it stay in the features' own units, then each axis is damped by
        # (lambda_i / lambda_1) ** axis_power: group-blind directions (noise) shrink instead of
        # being whitened up to the same scale as the target directions.
        basis = np.linalg.qr(eigenvectors)[0]
        signs = np.sign(basis[np.abs(basis).argmax(0), np.arange(basis.shape[1])])
        basis = basis * np.where(signs == 0, 1, signs)  # deterministic signs
        weight = np.clip(eigenvalues, 0, None)
        weight = (weight / weight[0]) ** self.axis_power if weight[0] > 0 else np.ones_like(weight)
        self.scatter_within_, self.scatter_between_ = S_within, S_between
        self.eigenvalues_ = eigenvalues
        self.components_ = basis * weight
        return self

    def transform(self, X):
        X = _check_features(X)
        return (X - self.mean_) @ self.components_


# --------------------------------------------------------------------------------------------
# the estimator


class MDA(BaseEstimator):
    """Manifold discovery and analysis: prediction groups -> BSDR (or LFDA) projection -> UMAP.

    Parameters
    ----------
    n_groups : "auto" (equal-width bins, numpy's automatic count: the authors' binning) or the
        number of equal-count groups cut along the prediction (regression only; with class
        labels the groups are the classes).
    projection : "bsdr" (Bayesian supervised dimensionality reduction, the authors' step) or
        "lfda" (local Fisher discriminant analysis: the fast variant).
    projection_dim : dimension of the supervised linear projection fed to UMAP (16).
    n_iter, sigma_z : BSDR's variational iterations and projection noise (200, 0.1).
    n_components : dimension of the final embedding (2 for maps).
    n_neighbors, min_dist : UMAP parameters (15, 0.1); fewer neighbours on fewer cells
        (``n_neighbors_``, ``cellscape.neighbourhood``).
    target : "auto" (integer/bool/string labels -> classification, floats or 2-D targets ->
        regression), "classification" or "regression".
    local_neighbors, regularization, axis_power : LFDA's within-group affinity k, ridge and
        axis weighting (see LocalFisherProjection; unused by BSDR).
    max_input_dim : features wider than this are first reduced by PCA (the authors: 400).
    random_state : seeds PCA, BSDR's start and UMAP. UMAP with a seed runs single-threaded and
        is reproducible.

    Attributes
    ----------
    embedding_ : (n, n_components) final coordinates.
    n_neighbors_ : the neighbours UMAP used (``n_neighbors`` fitted to the samples).
    groups_ : (n,) group index of every point (ordered along the prediction, or class code).
    target_kind_ : "regression" or "classification".
    classes_ : class values in code order (classification only, else None).
    target_distance_, extreme_index_ : distance to / index of the extreme prediction
        (regression only, else None).
    projection_ : (n, projection_dim) supervised projection that UMAP embedded.
    projector_, umap_, pca_ : the fitted steps (pca_ is None when not needed). No
        ``transform``: the final UMAP, as the project's, has no map for new rows.
    """

    def __init__(self, n_groups="auto", projection="bsdr", projection_dim=16, n_iter=200, sigma_z=0.1,
                 n_components=2, n_neighbors=15, min_dist=0.1, target="auto", local_neighbors=7,
                 regularization=1e-3, axis_power=0.25, max_input_dim=400, random_state=0):
        self.n_groups = n_groups
        self.projection = projection
        self.projection_dim = projection_dim
        self.n_iter = n_iter
        self.sigma_z = sigma_z
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.target = target
        self.local_neighbors = local_neighbors
        self.regularization = regularization
        self.axis_power = axis_power
        self.max_input_dim = max_input_dim
        self.random_state = random_state

    def _groups(self, y):
        kind = target_kind(y) if self.target == "auto" else self.target
        if kind not in ("classification", "regression"):
            raise ValueError(f"target must be 'auto', 'classification' or 'regression', got {self.target!r}")
        self.target_kind_ = kind
        self.classes_ = self.target_distance_ = self.extreme_index_ = None
        if kind == "classification":
            groups, self.classes_ = class_groups(y)
            if len(self.classes_) < 2:
                raise ValueError("classification target has a single class")
            return groups
        y = np.asarray(y, dtype=np.float64)
        groups, self.target_distance_, self.extreme_index_ = target_groups(y, self.n_groups)
        if groups.max() < 1:
            raise ValueError("target is constant: cannot form ordered groups")
        return groups

    def _projector(self):
        if self.projection == "bsdr":
            from .bsdr import BSDR
            return BSDR(n_components=self.projection_dim, n_iter=self.n_iter, sigma_z=self.sigma_z,
                        random_state=self.random_state)
        if self.projection == "lfda":
            return LocalFisherProjection(self.projection_dim, self.local_neighbors, self.regularization,
                                         self.axis_power)
        raise ValueError(f"projection must be 'bsdr' or 'lfda', got {self.projection!r}")

    def fit(self, X, y):
        from ..embeddings.umap_embedder import UMAPEmbedder  # the project's one UMAP (imports numba)

        X = _check_features(X)
        y = _check_target(y, len(X))
        self.n_neighbors_ = fit_neighbours(self.n_neighbors, len(X))
        if self.n_neighbors_ < 2:
            raise ValueError(f"MDA's UMAP needs at least 3 samples, got {len(X)}")
        self.groups_ = self._groups(y)
        self.pca_ = None
        if X.shape[1] > self.max_input_dim:
            self.pca_ = PCA(n_components=min(self.max_input_dim, len(X)), random_state=self.random_state)
            X = self.pca_.fit_transform(X)
        self.projector_ = self._projector()
        self.projection_ = self.projector_.fit_transform(X, self.groups_)
        self.umap_ = UMAPEmbedder(n_neighbors=self.n_neighbors_, min_dist=self.min_dist,
                                  n_components=self.n_components, random_state=self.random_state)
        self.embedding_ = self.umap_.fit_transform(self.projection_)
        return self

    def fit_transform(self, X, y):
        return self.fit(X, y).embedding_
