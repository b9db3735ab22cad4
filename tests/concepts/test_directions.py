"""A probe's scores lifted to the layer's full space: the minimum-norm direction that reproduces
them, in memory and streamed from a dump."""
import numpy as np
import pytest

from cellscape.concepts.directions import lift_direction, lift_direction_streamed


def test_the_lifted_direction_reproduces_the_scores_with_the_least_norm():
    rng = np.random.default_rng(0)
    X = rng.gamma(2.0, size=(40, 300)) + 5.0  # more values than cells, a large mean
    reduction = rng.normal(size=(300, 6))     # a linear reduction, as reduced.npy's
    w = rng.normal(size=6)
    Xc = X - X.mean(axis=0)
    scores = (Xc @ reduction) @ w + 3.0        # a probe's scores (an intercept does not matter)
    v = lift_direction(X, scores)
    np.testing.assert_allclose(Xc @ v, scores - scores.mean(), atol=1e-8 * np.abs(scores).max())
    least_norm = np.linalg.lstsq(Xc, scores - scores.mean(), rcond=None)[0]  # numpy's minimum-norm solution
    np.testing.assert_allclose(v, least_norm, atol=1e-8)
    assert np.linalg.norm(v) < np.linalg.norm(reduction @ w)  # the direction outside the cells' span dropped


def test_the_streamed_lift_equals_the_in_memory_one(tmp_path):
    rng = np.random.default_rng(1)
    dump = rng.normal(size=(25, 700)).astype(np.float32)
    path = tmp_path / "features.npy"
    np.save(path, dump)
    rows = np.array([20, 2, 7, 11, 0, 15, 9, 24, 3, 5])
    scores = rng.normal(size=len(rows))
    np.testing.assert_allclose(lift_direction_streamed(path, rows, scores, block_columns=256),
                               lift_direction(dump[rows], scores), atol=1e-5)
    with pytest.raises(ValueError, match="one score per cell"):
        lift_direction(dump[rows], scores[:5])


def test_several_score_columns_lift_to_one_direction_each():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 200))
    scores = rng.normal(size=(30, 3))
    lifted = lift_direction(X, scores)
    assert lifted.shape == (3, 200)
    for k in range(3):
        np.testing.assert_allclose(lifted[k], lift_direction(X, scores[:, k]), atol=1e-10)
