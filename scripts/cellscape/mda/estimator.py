"""Manifold discovery and analysis (MDA): a target-guided 2-D map of a layer's features.

Written from the description in Islam et al., "Revealing hidden patterns in deep neural
network feature space continuum via manifold learning" (Nature Communications 14, 8506, 2023);
no code of the reference implementation was used. Plain UMAP/t-SNE only see the features;
MDA also uses what the network is asked to predict, so the map is ordered by the target
(a continuum for regression-like outputs, one region per class for labels) while the local
geometry of the features is kept. Three steps:

1. **Target manifold discovery** (:func:`target_groups`): find the extreme point of the
   target (the one farthest, on average, from the others), measure every point's distance to
   it in target space and cut those distances into ``n_groups`` *equal-count* (quantile)
   bins. Group index therefore follows the target. Equal-count rather than equal-width bins
   so that skewed targets (e.g. softmax certainties piled up near 1) still give every group
   enough points for the local scatter estimates of step 2. With class labels the groups are
   simply the classes.
2. **Supervised projection** (:class:`LocalFisherProjection`): the paper uses Bayesian
   supervised dimensionality reduction (Gönen 2013), a *linear* projection learned so that
   the groups are predictable in the projected space. We use local Fisher discriminant
   analysis (Sugiyama 2007) instead: the same role (a linear map from the features to
   ``projection_dim`` dimensions, learned from the group labels, that pulls groups apart)
   but closed-form (one generalised eigenproblem, no sampling or variational loop, so it is
   deterministic and fast), and, unlike plain LDA, it preserves the *local* within-group
   structure through a k-NN affinity, so multi-modal groups and continua are not collapsed.
   The top eigenvectors are orthonormalised, so distances keep the features' units inside
   the discriminant subspace, and axis i is scaled by (eigenvalue_i / eigenvalue_1) **
   ``axis_power``. ``axis_power`` trades geometry for target order: 0 keeps the subspace
   isometric (best geodesic correlation), 0.5 is the damping of Sugiyama's weighted LFDA
   (the target dominates the map, at a cost in geodesic correlation; timings:
   docs/performance.md). The default 0.25 sits between them.
3. **Embedding**: a 2-D UMAP (umap-learn) of the projection.

Both estimators are scikit-learn estimators (explicit ``__init__`` parameters stored as given,
checked in ``fit``; ``sklearn.base.clone`` works): ``fit(X, y)``, ``transform``, ``fit_transform``.

No I/O here; the rule reads features and targets and writes the embedding.
"""
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors


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


def extreme_point(target, n_reference=2000, random_state=0):
    """Index of the point with the largest mean distance to the others in target space.

    For a 1-D target this is one end of its range (the one farther from the bulk). The mean
    is taken over a random reference subset of ``n_reference`` points, so the cost stays
    linear in n.
    """
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    rng = np.random.default_rng(random_state)
    ref = t if len(t) <= n_reference else t[rng.choice(len(t), n_reference, replace=False)]
    mean_distance = np.empty(len(t))
    for start in range(0, len(t), 4096):
        block = t[start:start + 4096]
        d = np.sqrt(((block[:, None, :] - ref[None, :, :]) ** 2).sum(-1))
        mean_distance[start:start + 4096] = d.mean(1)
    return int(np.argmax(mean_distance))


def target_groups(target, n_groups, n_reference=2000, random_state=0):
    """Ordered groups along the target manifold (MDA step 1).

    Returns ``(groups, distance, extreme_index)``: ``distance`` is each point's Euclidean
    distance in target space to the extreme point, ``groups`` its equal-count bin
    (0 = nearest the extreme point, consecutive integers, monotone non-decreasing in
    ``distance``). Tied distances always share a group, so heavy ties can give fewer than
    ``n_groups`` groups.
    """
    if n_groups < 2:
        raise ValueError("n_groups must be at least 2")
    t = np.asarray(target, dtype=np.float64).reshape(len(target), -1)
    extreme = extreme_point(t, n_reference=n_reference, random_state=random_state)
    distance = np.sqrt(((t - t[extreme]) ** 2).sum(1))
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


class MDA(BaseEstimator, TransformerMixin):
    """Manifold discovery and analysis: target groups -> local Fisher projection -> UMAP.

    Parameters
    ----------
    n_groups : number of ordered groups cut along the target (regression only; with class
        labels the groups are the classes).
    n_components : dimension of the final embedding (2 for maps).
    projection_dim : dimension of the supervised linear projection fed to UMAP.
    n_neighbors, min_dist : UMAP parameters.
    target : "auto" (integer/bool/string labels -> classification, floats or 2-D targets ->
        regression), "classification" or "regression".
    local_neighbors : k of the within-group affinity in the projection.
    regularization : ridge on the within-group scatter (see LocalFisherProjection).
    axis_power : 0 keeps the projection isometric, 0.5 lets the target dominate (see the
        module docstring).
    max_input_dim : features wider than this are first reduced by PCA (the projection solves
        a d x d eigenproblem, so raw conv activations must be reduced first).
    random_state : seeds PCA, the extreme-point reference subset and UMAP. UMAP with a seed
        runs single-threaded and is reproducible.

    Attributes
    ----------
    embedding_ : (n, n_components) final coordinates.
    groups_ : (n,) group index of every point (ordered along the target, or class code).
    target_kind_ : "regression" or "classification".
    classes_ : class values in code order (classification only, else None).
    target_distance_, extreme_index_ : distance to / index of the extreme target point
        (regression only, else None).
    projection_ : (n, projection_dim) supervised projection that UMAP embedded.
    projector_, umap_, pca_ : the fitted steps (pca_ is None when not needed).
    """

    def __init__(self, n_groups=10, n_components=2, projection_dim=10, n_neighbors=15, min_dist=0.1,
                 target="auto", local_neighbors=7, regularization=1e-3, axis_power=0.25, max_input_dim=100,
                 random_state=0):
        self.n_groups = n_groups
        self.n_components = n_components
        self.projection_dim = projection_dim
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
        groups, self.target_distance_, self.extreme_index_ = target_groups(
            y, self.n_groups, random_state=self.random_state)
        if groups.max() < 1:
            raise ValueError("target is constant: cannot form ordered groups")
        return groups

    def fit(self, X, y):
        import umap  # imported here: numba start-up is slow and only this step needs it

        X = _check_features(X)
        y = _check_target(y, len(X))
        if len(X) <= self.n_neighbors:
            raise ValueError(f"need more than n_neighbors={self.n_neighbors} samples, got {len(X)}")
        self.groups_ = self._groups(y)
        self.pca_ = None
        if X.shape[1] > self.max_input_dim:
            self.pca_ = PCA(n_components=self.max_input_dim, random_state=self.random_state)
            X = self.pca_.fit_transform(X)
        self.projector_ = LocalFisherProjection(self.projection_dim, self.local_neighbors, self.regularization,
                                                self.axis_power)
        self.projection_ = self.projector_.fit_transform(X, self.groups_)
        self.umap_ = umap.UMAP(n_components=self.n_components, n_neighbors=self.n_neighbors,
                               min_dist=self.min_dist, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
            self.embedding_ = self.umap_.fit_transform(self.projection_)
        return self

    def fit_transform(self, X, y):
        return self.fit(X, y).embedding_

    def transform(self, X):
        """Place new points (e.g. held-out cells) into the fitted map; no target needed."""
        X = _check_features(X)
        if self.pca_ is not None:
            X = self.pca_.transform(X)
        return self.umap_.transform(self.projector_.transform(X))
