"""One feature, one layer: cross-validated linear probe scores on the trained network's reduced
features, on the untrained network's and on shuffled targets, and the selectivity with a
fold-to-fold confidence interval.

- continuous features: ridge regression (``RidgeCV``, its penalty chosen by generalised
  cross-validation inside each training fold) on standardised features, scored by R^2 on the
  held-out fold;
- counts (lobes): a logistic regression (multinomial, balanced class weights) scored by balanced
  accuracy (chance = 1 / number of counts); counts seen in fewer cells than there are folds are
  left out (they cannot be in every fold).

Every condition uses the same folds, so the per-fold differences pair: selectivity = trained score
- untrained score, its interval the t interval of the fold-to-fold differences (k - 1 degrees of
freedom). Folds are not independent samples (their training sets overlap), so the interval is a
guide of the probe's stability, not an exact test.
"""
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import balanced_accuracy_score, r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: the ridge penalties generalised cross-validation chooses from (standardised features)
RIDGE_ALPHAS = tuple(np.logspace(-2, 4, 13))
METRIC = {"continuous": "r2", "count": "balanced_accuracy"}


def usable_target(y, kind, n_folds):
    """(mask of the cells the probe can use, reason or None): finite values; for counts, only the
    counts seen in at least ``n_folds`` cells. The reason says why nothing is left to probe
    (a constant target, fewer than two counts)."""
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(y)
    if kind == "count":
        values, counts = np.unique(y[ok], return_counts=True)
        ok &= np.isin(y, values[counts >= n_folds])
        if len(np.unique(y[ok])) < 2:
            return ok, "fewer than two counts with enough cells"
    elif ok.sum() < 2 * n_folds or np.ptp(y[ok]) == 0:
        return ok, "constant or too few values"
    return ok, None


def fold_splits(y, kind, n_folds, seed):
    """The (train, test) index pairs every condition shares: stratified by count for counts."""
    if kind == "count":
        return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y))))


def _probe(kind):
    if kind == "count":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
    return make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))


def fold_scores(X, y, kind, splits):
    """The probe's held-out score on each fold: R^2 (continuous) or balanced accuracy (count)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    scores = []
    for train, test in splits:
        model = _probe(kind).fit(X[train], y[train])
        predicted = model.predict(X[test])
        scores.append(balanced_accuracy_score(y[test], predicted) if kind == "count"
                      else r2_score(y[test], predicted))
    return np.array(scores)


def mean_interval(values, level=0.95):
    """(mean, low, high): the t interval of the mean of ``values`` (n - 1 degrees of freedom)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, float("nan"), float("nan")
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return mean, mean - float(half), mean + float(half)


@dataclass
class ProbeResult:
    """One row of probes.csv (docs/formats.md)."""
    metric: str
    n_cells: int
    score: float
    score_low: float
    score_high: float
    untrained: float
    shuffled: float
    selectivity: float
    selectivity_low: float
    selectivity_high: float
    skipped: str = ""

    def as_dict(self):
        return asdict(self)


def probe_feature(trained, untrained, y, kind, n_folds=5, seed=0, level=0.95):
    """Probe one feature ``y`` in one layer: ``trained`` and ``untrained`` are the layer's (n, k)
    reduced features of the same cells in the trained and the randomly initialised network.
    Returns a :class:`ProbeResult`; NaN scores and ``skipped`` (the reason) when the target cannot
    be probed."""
    ok, reason = usable_target(y, kind, n_folds)
    if reason:
        nan = float("nan")
        return ProbeResult(METRIC[kind], int(ok.sum()), nan, nan, nan, nan, nan, nan, nan, nan, reason)
    y = np.asarray(y, dtype=np.float64)[ok]
    splits = fold_splits(y, kind, n_folds, seed)
    real = fold_scores(np.asarray(trained)[ok], y, kind, splits)
    random_network = fold_scores(np.asarray(untrained)[ok], y, kind, splits)
    shuffled_y = np.random.default_rng(seed).permutation(y)
    shuffled = fold_scores(np.asarray(trained)[ok], shuffled_y, kind, fold_splits(shuffled_y, kind, n_folds, seed))
    score, score_low, score_high = mean_interval(real, level)
    selectivity, low, high = mean_interval(real - random_network, level)
    return ProbeResult(METRIC[kind], int(ok.sum()), score, score_low, score_high, float(random_network.mean()),
                       float(shuffled.mean()), selectivity, low, high)
