"""Regression concept vectors (Graziani et al. 2019): the direction of a layer's reduced feature
space along which a cell measure (nucleus-to-cell ratio, brightness...) grows, fitted by ridge
regression once per cross-validation fold, so the concept has one direction per fold (TCAV
compares these with random directions) and a held-out R^2 (how well the layer encodes it).

Features are standardised first (reduced dimensions differ in variance by orders of magnitude);
weights and random directions live in that standardised space, so both are scored on the cells
the same way (``standardised @ weights``). A scikit-learn-style estimator; no I/O here.
"""
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

ALPHAS = tuple(np.logspace(-2, 4, 13))


class ConceptVectors(BaseEstimator):
    """Fold-wise ridge directions of one measure in a layer's features.

    ``fit(X, y)``: ``X`` the cells' reduced features (cells x k), ``y`` the measure. Fitted:
    ``scaler_`` (the standardisation), ``weights_`` (folds x k, unit length, pointing to larger
    ``y``), ``r2_`` (each fold's held-out R^2), ``alphas_`` (each fold's ridge penalty).
    ``scores(X)``: the cells' coordinates along each fold's direction (cells x folds)."""

    def __init__(self, n_folds=5, alphas=ALPHAS, random_state=0):
        self.n_folds = n_folds
        self.alphas = alphas
        self.random_state = random_state

    def fit(self, X, y):
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if len(X) != len(y) or not np.all(np.isfinite(y)):
            raise ValueError(f"{len(X)} cells and {len(y)} values ({int(np.sum(~np.isfinite(y)))} not finite): "
                             "one finite value per cell")
        self.scaler_ = StandardScaler().fit(X)
        Z = self.scaler_.transform(X)
        folds = KFold(self.n_folds, shuffle=True, random_state=self.random_state).split(Z)
        weights, r2, alphas = [], [], []
        for train, test in folds:
            ridge = RidgeCV(alphas=self.alphas).fit(Z[train], y[train])
            weights.append(ridge.coef_ / max(np.linalg.norm(ridge.coef_), 1e-300))
            r2.append(r2_score(y[test], ridge.predict(Z[test])))
            alphas.append(ridge.alpha_)
        self.weights_, self.r2_, self.alphas_ = np.array(weights), np.array(r2), np.array(alphas)
        return self

    def scores(self, X):
        return self.scaler_.transform(np.asarray(X, dtype=np.float64)) @ self.weights_.T

    def random_scores(self, X, n, seed):
        """Coordinates along ``n`` random unit directions of the same standardised space."""
        vectors = np.random.default_rng(seed).standard_normal((n, self.weights_.shape[1]))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return self.scaler_.transform(np.asarray(X, dtype=np.float64)) @ vectors.T
