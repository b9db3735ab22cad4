"""Regression concept vectors find a planted linear measure (one direction per fold, high
held-out R^2) and nothing in a shuffled one."""
import numpy as np
from sklearn.base import clone

from cellscape.concepts.vectors import ConceptVectors


def planted(seed=0, n=300, k=12):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k)) * np.logspace(0, 2, k)  # dimensions of very different variance
    truth = np.zeros(k)
    truth[[2, 7]] = [1.0, -0.5]
    y = (X / np.logspace(0, 2, k)) @ truth + 0.1 * rng.normal(size=n)
    return X, y, truth


def test_the_planted_direction_is_found_in_every_fold():
    X, y, truth = planted()
    model = ConceptVectors(n_folds=5, random_state=1).fit(X, y)
    assert model.weights_.shape == (5, 12) and np.all(model.r2_ > 0.9)
    np.testing.assert_allclose(np.linalg.norm(model.weights_, axis=1), 1.0)
    cosine = model.weights_ @ (truth / np.linalg.norm(truth))  # standardised space: truth up to the scaler
    assert np.all(cosine > 0.95), cosine
    scores = model.scores(X)
    assert scores.shape == (300, 5) and np.corrcoef(scores[:, 0], y)[0, 1] > 0.95  # points to larger y


def test_a_shuffled_measure_is_not_encoded_and_random_directions_are_unit_and_seeded():
    X, y, _ = planted(seed=2)
    shuffled = np.random.default_rng(3).permutation(y)
    model = clone(ConceptVectors(n_folds=5)).fit(X, shuffled)
    assert np.mean(model.r2_) < 0.05
    a, b = model.random_scores(X, 50, seed=4), model.random_scores(X, 50, seed=4)
    assert a.shape == (300, 50) and np.array_equal(a, b)
