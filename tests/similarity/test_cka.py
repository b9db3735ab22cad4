"""Linear CKA against an independent formulation (HSIC with explicit centring matrices), its
invariances, the streamed Gram matrix of a dump and the best-match table."""
import numpy as np
import pytest
from scipy.stats import ortho_group

from cellscape.similarity.cka import (best_matches, centred_gram, gram_cka, gram_similarity, linear_cka,
                                      streamed_centred_gram, unit_gram)
from support.hsic import unbiased_hsic


def hsic_cka(X, Y):
    """CKA written as Kornblith et al.'s Eq. (3): HSIC(K, L) = tr(K H L H) / (n - 1)^2 with the
    uncentred linear kernels K = X X^T, L = Y Y^T and the centring matrix H = I - 11^T / n."""
    n = len(X)
    H = np.eye(n) - np.ones((n, n)) / n
    K, L = X @ X.T, Y @ Y.T

    def hsic(A, B):
        return np.trace(A @ H @ B @ H) / (n - 1) ** 2

    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def related_pair(rng, n, dx, dy):
    """Two layers that share a few latent factors, plus noise and a non-zero mean (as ReLUs)."""
    latent = rng.normal(size=(n, 4))
    X = latent @ rng.normal(size=(4, dx)) + 0.5 * rng.normal(size=(n, dx)) + 3.0
    Y = np.maximum(latent @ rng.normal(size=(4, dy)), 0) + 0.5 * rng.normal(size=(n, dy))
    return X, Y


@pytest.mark.parametrize("n, dx, dy", [(40, 5, 8), (30, 60, 90), (25, 7, 120)])  # feature-space, Gram, mixed
def test_linear_cka_equals_the_hsic_formulation_with_explicit_centring(n, dx, dy):
    X, Y = related_pair(np.random.default_rng(n), n, dx, dy)
    expected = hsic_cka(X, Y)
    assert 0.05 < expected < 0.99  # neither trivial end
    assert linear_cka(X, Y) == pytest.approx(expected, rel=1e-9)
    assert gram_cka(centred_gram(X), centred_gram(Y)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("d", [6, 80])
def test_orthogonal_transforms_and_isotropic_scaling_leave_cka_unchanged(d):
    rng = np.random.default_rng(d)
    X, Y = related_pair(rng, 50, d, 12)
    Q = ortho_group.rvs(d, random_state=1)
    base = linear_cka(X, Y)
    assert abs(linear_cka(X @ Q, Y) - base) < 1e-6
    assert abs(linear_cka(7.5 * X, Y) - base) < 1e-6
    assert abs(linear_cka(X @ Q * 0.01, 40.0 * Y) - base) < 1e-6
    assert abs(linear_cka(X @ Q, X) - 1) < 1e-6


def test_a_general_invertible_linear_map_changes_cka():
    rng = np.random.default_rng(3)
    X, Y = related_pair(rng, 60, 8, 12)
    A = rng.normal(size=(8, 8)) @ np.diag(np.logspace(0, 2, 8))  # invertible, anisotropic
    assert abs(np.linalg.det(A)) > 1e-3
    assert abs(linear_cka(X @ A, Y) - linear_cka(X, Y)) > 1e-2
    assert linear_cka(X @ A, X) < 1 - 1e-2


def test_unrelated_layers_score_low_and_a_layer_matches_itself():
    rng = np.random.default_rng(4)
    X, Z = rng.normal(size=(500, 10)), rng.normal(size=(500, 10))
    assert linear_cka(X, X) == pytest.approx(1.0)
    assert linear_cka(X, Z) < 0.05  # independent: only the finite-sample bias (~d / n)


def test_a_constant_layer_has_no_cka_and_mismatched_cells_are_refused():
    X = np.random.default_rng(5).normal(size=(20, 3))
    assert np.isnan(linear_cka(X, np.ones((20, 4))))
    assert unit_gram(centred_gram(np.ones((20, 4)))) is None
    with pytest.raises(ValueError, match="the same cells"):
        linear_cka(X, X[:10])


def test_the_streamed_gram_of_a_dump_equals_the_gram_of_the_chosen_cells_in_their_order(tmp_path):
    rng = np.random.default_rng(6)
    dump = (rng.gamma(2.0, size=(30, 1000)) + 50).astype(np.float16)  # a large mean: centring must be exact
    path = tmp_path / "features.npy"
    np.save(path, dump)
    rows = np.array([17, 3, 29, 0, 8, 8 + 1, 22, 5])  # not sorted: the Gram follows this order
    streamed = streamed_centred_gram(path, rows, block_columns=300)  # blocks that do not divide 1000
    expected = centred_gram(dump[rows].astype(np.float64))
    np.testing.assert_allclose(streamed, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    with pytest.raises(ValueError, match="holds 30 cells"):
        streamed_centred_gram(path, [0, 30])


def test_gram_similarity_equals_pairwise_cka_with_nan_for_a_constant_layer():
    rng = np.random.default_rng(7)
    X, Y = related_pair(rng, 40, 9, 70)
    Z = rng.normal(size=(40, 5))
    layers = [X, Y, Z, np.zeros((40, 3))]
    matrix = gram_similarity([unit_gram(centred_gram(L)) for L in layers])
    for i in range(3):
        for j in range(3):
            assert matrix[i, j] == pytest.approx(hsic_cka(layers[i], layers[j]), abs=1e-6)
    assert np.all(np.isnan(matrix[3])) and np.all(np.isnan(matrix[:, 3]))


def test_best_matches_names_the_most_similar_layer_and_how_far_it_is():
    order = ["conv1", "conv2", "conv3", "dense1"]
    matrix = np.array([[0.9, 0.5, 0.1],    # conv1 -> conv1: same
                       [0.7, 0.6, 0.2],    # conv2 -> conv1: adjacent
                       [0.8, 0.3, 0.4],    # conv3 -> conv1: two apart
                       [0.1, 0.2, 0.95]])  # dense1 -> dense1: same
    rows = best_matches(matrix, order, ["conv1", "conv3", "dense1"], order)
    assert [r["best_b"] for r in rows] == ["conv1", "conv1", "conv1", "dense1"]
    assert [r["match"] for r in rows] == ["same", "adjacent", "other", "same"]
    assert [r["steps"] for r in rows] == [0, 1, 2, 0]
    assert np.isnan(rows[1]["cka_same"]) and rows[2]["cka_same"] == 0.3



@pytest.mark.parametrize("n, dx, dy", [(40, 5, 8), (30, 60, 90)])
def test_debiased_cka_equals_the_cka_of_song_et_als_unbiased_hsic(n, dx, dy):
    X, Y = related_pair(np.random.default_rng(n + 1), n, dx, dy)
    K, L = X @ X.T, Y @ Y.T  # uncentred kernels: the estimator needs no centring
    expected = unbiased_hsic(K, L) / np.sqrt(unbiased_hsic(K, K) * unbiased_hsic(L, L))
    assert linear_cka(X, Y, debiased=True) == pytest.approx(expected, rel=1e-9)
    units = [unit_gram(centred_gram(A), debiased=True) for A in (X, Y)]
    assert gram_similarity(units)[0, 1] == pytest.approx(expected, abs=1e-6)


def test_debiased_cka_of_unrelated_wide_layers_is_near_zero_where_the_biased_one_is_not():
    rng = np.random.default_rng(8)
    X, Z = rng.normal(size=(60, 3000)), rng.normal(size=(60, 3000))  # far more features than cells
    assert linear_cka(X, Z) > 0.9  # the biased estimator: ~ features / (features + cells)
    assert abs(linear_cka(X, Z, debiased=True)) < 0.05
    Q = ortho_group.rvs(50, random_state=2)
    W = rng.normal(size=(60, 50))
    assert abs(linear_cka(W @ Q, 3 * W, debiased=True) - 1) < 1e-6  # the invariances hold for it too
