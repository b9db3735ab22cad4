"""Probes find a planted linear signal and not a shuffled one; the selectivity interval is the t
interval of the fold differences."""
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cellscape.probes import fold_scores, fold_splits, mean_interval, probe_feature, probe_layers, usable_target


def planted(n=400, k=20, noise=0.3, seed=0):
    """Features X and a target that is a linear function of them plus noise: R^2 = 1 / (1 + noise^2
    / var(signal)) is the best any probe can do."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, k))
    w = rng.normal(size=k)
    signal = X @ w
    return X, signal + rng.normal(scale=noise * signal.std(), size=n), 1 / (1 + noise ** 2)


def test_a_ridge_probe_finds_a_planted_linear_signal_and_not_a_shuffled_one():
    X, y, best = planted()
    splits = fold_splits(y, "continuous", 5, seed=0)
    assert fold_scores(X, y, "continuous", splits).mean() == pytest.approx(best, abs=0.05)
    shuffled = np.random.default_rng(1).permutation(y)
    assert abs(fold_scores(X, shuffled, "continuous", splits).mean()) < 0.05


def test_selectivity_is_high_against_noise_features_and_zero_against_the_same_features():
    X, y, best = planted()
    noise = np.random.default_rng(3).normal(size=X.shape)
    result = probe_feature(X, noise, y, "continuous", n_folds=5, seed=0)
    assert result.score == pytest.approx(best, abs=0.05)
    assert result.untrained < 0.05 and abs(result.shuffled) < 0.05
    assert result.selectivity_low > 0.8
    same = probe_feature(X, X, y, "continuous", n_folds=5, seed=0)
    assert same.selectivity == 0 and same.selectivity_low == 0 and same.selectivity_high == 0


def test_a_logistic_probe_reads_counts_by_balanced_accuracy():
    rng = np.random.default_rng(4)
    counts = rng.choice([1, 2, 3, 4], size=600, p=[0.55, 0.15, 0.2, 0.1])
    X = rng.normal(size=(600, 10))
    X[:, 0] += 3 * counts  # counts well separated along one direction
    result = probe_feature(X, rng.normal(size=X.shape), counts.astype(float), "count", n_folds=5, seed=0)
    assert result.metric == "balanced_accuracy"
    assert result.score > 0.85
    assert result.untrained == pytest.approx(0.25, abs=0.08)  # chance: four counts, balanced
    assert result.shuffled == pytest.approx(0.25, abs=0.08)


def test_the_interval_is_the_t_interval_of_the_fold_values():
    values = np.array([0.31, 0.28, 0.40, 0.35, 0.22])
    mean, low, high = mean_interval(values)
    expected = stats.ttest_1samp(values, 0).confidence_interval(0.95)  # scipy's own interval
    assert mean == pytest.approx(values.mean())
    assert (low, high) == pytest.approx((expected.low, expected.high))
    # by hand: t(0.975, 4) = 2.7764451
    half = 2.7764451 * values.std(ddof=1) / np.sqrt(5)
    assert (low, high) == pytest.approx((values.mean() - half, values.mean() + half), abs=1e-6)


def test_rare_counts_and_missing_values_are_left_out_and_constant_targets_skipped():
    y = np.array([1.0] * 10 + [2.0] * 10 + [5.0] * 2 + [np.nan] * 3)
    ok, reason = usable_target(y, "count", 5)
    assert reason is None and ok.sum() == 20
    result = probe_feature(np.zeros((25, 3)), np.zeros((25, 3)), np.ones(25), "continuous", n_folds=5)
    assert result.skipped and np.isnan(result.score)


def test_every_layer_and_feature_is_a_row_and_mismatched_cells_are_an_error():
    X, y, _ = planted(n=100, k=5)
    features = pd.DataFrame({"a": y, "b": np.ones(100)})
    catalogue = pd.DataFrame({"feature": ["a", "b"], "group": ["cell", "cell"], "kind": ["continuous"] * 2})
    table = probe_layers({"conv1": X, "dense1": X}, {"conv1": X, "dense1": X[::-1]}, features, catalogue,
                         progress=False)
    assert list(zip(table["layer"], table["feature"])) == [("conv1", "a"), ("conv1", "b"), ("dense1", "a"),
                                                           ("dense1", "b")]
    assert table.loc[table["feature"] == "b", "skipped"].str.len().gt(0).all()
    with pytest.raises(ValueError, match="same cells"):
        probe_layers({"conv1": X}, {"conv1": X[:50]}, features, catalogue, progress=False)


def test_the_ridge_probe_equals_scikit_learns_ridgecv_on_standardised_features():
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from cellscape.probes.probe import RIDGE_ALPHAS, ridge_scores
    rng = np.random.default_rng(7)
    X = rng.normal(size=(120, 8)) * rng.uniform(0.1, 10, 8)
    X[:, 3] = 2.0  # a constant column: 0 after standardising
    Y = np.column_stack([X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=120), rng.normal(size=120),
                         X[:, 5] ** 2])
    splits = fold_splits(Y[:, 0], "continuous", 4, seed=1)
    ours = ridge_scores(X, Y, splits)
    for j in range(Y.shape[1]):
        for k, (train, test) in enumerate(splits):
            model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS)).fit(X[train], Y[train, j])
            assert ours[k, j] == pytest.approx(r2_score(Y[test, j], model.predict(X[test])), abs=1e-8)


def test_an_r2_below_zero_counts_as_zero_in_the_selectivity():
    from cellscape.probes.probe import summarise
    real = np.array([0.5, 0.4, 0.6])
    untrained = np.array([-60.0, 0.1, -0.2])  # a probe far worse than the mean on one fold
    result = summarise("continuous", 30, real, untrained, np.zeros(3))
    assert result.selectivity == pytest.approx(np.mean([0.5, 0.3, 0.6]))
    assert result.untrained == pytest.approx(untrained.mean())  # the raw control is reported as it is
    counts = summarise("count", 30, np.array([0.6, 0.7]), np.array([0.5, 0.4]), np.array([0.5, 0.5]))
    assert counts.selectivity == pytest.approx(0.2)
