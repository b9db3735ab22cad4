"""One feature, one layer: cross-validated linear probe scores on the trained network's reduced
features, on the untrained network's and on shuffled targets, and the selectivity with a
fold-to-fold confidence interval.

- continuous features: ridge regression on standardised features, its penalty chosen inside each
  training fold by efficient leave-one-out cross-validation (as scikit-learn's ``RidgeCV``, one
  penalty per feature), scored by R^2 on the held-out fold. One SVD of a fold's training features
  serves every feature and the shuffled control at once (:func:`ridge_scores`), so probing forty
  features costs little more than one;
- counts (lobes): a logistic regression (multinomial, balanced class weights) scored by balanced
  accuracy (chance = 1 / number of counts); counts seen in fewer cells than there are folds are
  left out (they cannot be in every fold).

Every condition uses the same folds, so the per-fold differences pair: selectivity = trained score
- untrained score, its interval the t interval of the fold-to-fold differences (k - 1 degrees of
freedom). An R^2 below 0 (worse than predicting the mean; unbounded below, e.g. -60 on a few
cells whose untrained features are nearly constant) counts as 0 there: both networks then encode
nothing of the feature, and selectivity stays within [-1, 1]. Folds are not independent samples
(their training sets overlap), so the interval is a guide of the probe's stability, not an exact
test.
"""
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

#: the ridge penalties leave-one-out cross-validation chooses from (standardised features)
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


def ridge_scores(X, Y, splits, alphas=RIDGE_ALPHAS):
    """Held-out R^2 of a ridge probe for every column of ``Y`` (n, m) on every fold: (folds, m).

    Per fold: standardise X by the training cells (a constant column stays 0), centre Y, take the
    SVD U S V' of the training features; for a penalty a the fit is U diag(s^2 / (s^2 + a)) U' y,
    the hat matrix's diagonal h = 1/n + sum_j U_ij^2 s_j^2 / (s_j^2 + a) (1/n: the intercept) and
    the leave-one-out residual (y - fit) / (1 - h); each column takes the penalty with the least
    mean squared leave-one-out residual, then predicts the held-out cells.
    """
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    scores = np.empty((len(splits), Y.shape[1]))
    for k, (train, test) in enumerate(splits):
        mean, scale = X[train].mean(axis=0), X[train].std(axis=0)
        scale[scale == 0] = 1.0
        Xt, Xv = (X[train] - mean) / scale, (X[test] - mean) / scale
        y_mean = Y[train].mean(axis=0)
        Yt = Y[train] - y_mean
        U, s, Vt = np.linalg.svd(Xt, full_matrices=False)
        UtY = U.T @ Yt
        shrink = s[None, :] ** 2 / (s[None, :] ** 2 + alphas[:, None])  # (alphas, r)
        hat = 1.0 / len(train) + (U ** 2) @ shrink.T  # (n_train, alphas)
        loo = np.stack([((Yt - U @ (shrink[a][:, None] * UtY)) / (1 - hat[:, a:a + 1])) ** 2
                        for a in range(len(alphas))]).mean(axis=1)  # (alphas, m)
        best = alphas[np.argmin(loo, axis=0)]  # (m,)
        weights = Vt.T @ ((s[:, None] / (s[:, None] ** 2 + best[None, :])) * UtY)  # (d, m)
        predicted = Xv @ weights + y_mean
        residual = ((Y[test] - predicted) ** 2).sum(axis=0)
        total = ((Y[test] - Y[test].mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores[k] = np.where(total > 0, 1 - residual / total, np.nan)
    return scores


def _logistic():
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))


def fold_scores(X, y, kind, splits):
    """The probe's held-out score on each fold: R^2 (continuous) or balanced accuracy (count)."""
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if kind == "continuous":
        return ridge_scores(X, y[:, None], splits)[:, 0]
    scores = []
    for train, test in splits:
        predicted = _logistic().fit(X[train], y[train]).predict(X[test])
        scores.append(balanced_accuracy_score(y[test], predicted))
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
        return skipped(kind, int(ok.sum()), reason)
    y = np.asarray(y, dtype=np.float64)[ok]
    splits = fold_splits(y, kind, n_folds, seed)
    real = fold_scores(np.asarray(trained)[ok], y, kind, splits)
    random_network = fold_scores(np.asarray(untrained)[ok], y, kind, splits)
    shuffled_y = shuffle(y, seed)
    shuffled = fold_scores(np.asarray(trained)[ok], shuffled_y, kind, fold_splits(shuffled_y, kind, n_folds, seed))
    return summarise(kind, int(ok.sum()), real, random_network, shuffled, level)


def shuffle(y, seed):
    """The shuffled-target control's targets: the rows of ``y`` in a seeded random order (the same
    order for every feature of as many cells)."""
    return np.random.default_rng(seed).permutation(y)


def skipped(kind, n_cells, reason):
    """The row of a feature that cannot be probed: NaN scores and the reason."""
    nan = float("nan")
    return ProbeResult(METRIC[kind], n_cells, nan, nan, nan, nan, nan, nan, nan, nan, reason)


def summarise(kind, n_cells, real, random_network, shuffled, level=0.95):
    """A :class:`ProbeResult` from the per-fold scores of the three conditions (same folds)."""
    score, score_low, score_high = mean_interval(real, level)
    floor = 0.0 if kind == "continuous" else -np.inf  # R^2 below 0: no better than the mean
    selectivity, low, high = mean_interval(np.maximum(real, floor) - np.maximum(random_network, floor), level)
    return ProbeResult(METRIC[kind], n_cells, score, score_low, score_high, float(np.mean(random_network)),
                       float(np.mean(shuffled)), selectivity, low, high)
