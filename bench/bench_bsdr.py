"""Benchmark: the vectorised BSDR fit vs a straightforward per-iteration loop of the same maths.

Not a test. Input: 1,500 x 50, a noisy S-curve rotated into 50-D (3 true dimensions + 47 of
noise), groups = equal-width bins of the curve parameter with ``numpy.histogram(bins="auto")``
edges (12 groups). Both fits run in the same process, single-threaded BLAS is advised
(``OMP_NUM_THREADS=1``), with the same seed and so the same random initial state:

* ``naive_bsdr`` below is a plain reading of the update equations: Python loops over the
  projected components (one D x D solve each), the samples (one z_i each, and each sample's
  truncated-normal integrals with a loop over its classes), the classes (one (R+1)-dimensional
  Gaussian each) and the precisions. It is slow, so it runs ``naive_iterations`` iterations
  (10 in quick mode, all 200 in full mode) and its time is scaled per iteration.
* ``BSDR`` (cellscape.mda.bsdr) runs the same number of iterations for the comparison of the
  projections (max |difference| / max |projection|, tolerance 1e-8) and of the bounds, then
  its default 200 iterations for the timing of a whole fit.

``run("quick")`` takes ~15 s; ``run("full")`` ~3 minutes (the naive loop's 200 iterations);
``run("smoke")`` a few seconds (300 points, 2 loop iterations, BSDR's 200: the code path only).

    OMP_NUM_THREADS=1 PYTHONPATH=scripts .venv/bin/python bench/bench_bsdr.py [--full]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.special import digamma, gammaln, log_ndtr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from cellscape.mda.bsdr import BSDR  # noqa: E402

LOG_2PI = np.log(2.0 * np.pi)
NEWTON_STEPS = 3            # as in cellscape.mda.bsdr
TOLERANCE = 1e-8            # max |naive - vectorised| / max |projection| after the same iterations


def scurve_groups(n=1500, dim=50, noise=0.05, seed=0):
    """S-curve rotated into ``dim`` dimensions with noise; groups = equal-width target bins."""
    from sklearn.datasets import make_s_curve
    points, target = make_s_curve(n, random_state=seed)
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    X = np.hstack([points, np.zeros((n, dim - 3))]) @ rotation + noise * rng.normal(size=(n, dim))
    edges = np.histogram(target, bins="auto")[1]
    groups = np.clip(np.digitize(target, edges[1:-1]), 0, len(edges) - 2)
    return X, groups


# --------------------------------------------------------------------------------------------
# the reference: one Python loop per index of the equations


def _gamma_kl_terms(alpha, beta, shape, scale):
    """E[log Gamma(v; alpha, beta)] + H[Gamma(shape, scale)], E[v], E[log v] for one precision."""
    mean, mean_log = shape * scale, digamma(shape) + np.log(scale)
    value = ((alpha - 1) * mean_log - mean / beta - gammaln(alpha) - alpha * np.log(beta)
             + shape + np.log(scale) + gammaln(shape) + (1 - shape) * digamma(shape))
    return value, mean, mean_log


def _naive_truncated(m_i, own_class, nodes, log_weights):
    """E[t_i] and log Z_i of one sample, looping over its classes (same quadrature as BSDR)."""
    k = len(m_i)
    others = [c for c in range(k) if c != own_class]
    delta = np.array([m_i[own_class] - m_i[c] for c in others])
    u = 0.0
    for step in range(NEWTON_STEPS + 1):
        gradient, curvature = -u, -1.0
        for j in range(len(others)):
            a = u + delta[j]
            mills = np.exp(-0.5 * a * a - 0.5 * LOG_2PI - log_ndtr(a))
            gradient += mills
            curvature -= mills * (a + mills)
        if step == NEWTON_STEPS:
            break
        u -= gradient / curvature
    scale = 1.0 / np.sqrt(-curvature)
    points = u + scale * nodes
    log_w = log_weights + np.log(scale) - 0.5 * points ** 2 + 0.5 * nodes ** 2
    log_cdf = [log_ndtr(points + delta[j]) for j in range(len(others))]
    log_prod = log_w + np.sum(log_cdf, axis=0)
    top = log_prod.max()
    prod = np.exp(log_prod - top)
    total = prod.sum()
    t = np.array(m_i, dtype=float)
    own_shift = 0.0
    for j, c in enumerate(others):
        a = points + delta[j]
        mills = np.exp(-0.5 * a * a - 0.5 * LOG_2PI - log_cdf[j])
        shift = np.dot(mills, prod) / total
        t[c] = m_i[c] - shift
        own_shift += shift
    t[own_class] = m_i[own_class] + own_shift
    return t, top + np.log(total)


def naive_bsdr(X, y, n_components=16, n_iter=200, sigma_z=0.1, alpha=1.0, beta=1.0,
               n_quadrature=16, random_state=0):
    """BSDR by loops: same model, updates, order and initial draws as cellscape.mda.bsdr.BSDR
    (all six Gamma priors at (alpha, beta)). Returns (E[Q], lower bound per iteration, seconds
    spent computing the bound: its per-sample loops cost more than the updates)."""
    from sklearn.utils import check_random_state
    rng = check_random_state(random_state)
    n, d = X.shape
    r, k = n_components, int(y.max()) + 1
    s2 = sigma_z ** 2
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quadrature)
    log_weights = np.log(weights / np.sqrt(2 * np.pi))
    gram = X.T @ X
    lam = np.full((d, r), alpha * beta)
    gam = np.full(k, alpha * beta)
    eta = np.full((r, k), alpha * beta)
    Z = rng.standard_normal((n, r))
    b = rng.standard_normal(k)
    W = rng.standard_normal((r, k))
    bw_mean = [np.concatenate([[b[c]], W[:, c]]) for c in range(k)]
    bw_cov = [np.eye(r + 1) for _ in range(k)]
    T = np.zeros((n, k))
    log_z = np.zeros(n)
    for i in range(n):
        T[i], log_z[i] = _naive_truncated(Z[i] @ W + b, y[i], nodes, log_weights)
    Q_mean, Q_cov = np.zeros((d, r)), [None] * r
    lam_shape, lam_scale = np.zeros((d, r)), np.zeros((d, r))
    bounds, bound_seconds = [], 0.0
    for _ in range(n_iter):
        # q(Q): one column at a time
        for s in range(r):
            precision = np.diag(lam[:, s]) + gram / s2
            Q_cov[s] = np.linalg.inv(precision)
            Q_mean[:, s] = Q_cov[s] @ (X.T @ Z[:, s]) / s2
        # q(lambda)
        for dd in range(d):
            for s in range(r):
                lam_shape[dd, s] = alpha + 0.5
                lam_scale[dd, s] = 1.0 / (1.0 / beta + 0.5 * (Q_mean[dd, s] ** 2 + Q_cov[s][dd, dd]))
                lam[dd, s] = lam_shape[dd, s] * lam_scale[dd, s]
        # q(Z): shared covariance, one mean per sample
        ww, wb = np.zeros((r, r)), np.zeros(r)
        for c in range(k):
            ww += np.outer(bw_mean[c][1:], bw_mean[c][1:]) + bw_cov[c][1:, 1:]
            wb += bw_mean[c][1:] * bw_mean[c][0] + bw_cov[c][1:, 0]
        Z_cov = np.linalg.inv(np.eye(r) / s2 + ww)
        for i in range(n):
            rhs = Q_mean.T @ X[i] / s2 - wb
            for c in range(k):
                rhs = rhs + bw_mean[c][1:] * T[i, c]
            Z[i] = Z_cov @ rhs
        # q(b_c, w_c): one class at a time
        moments = np.zeros((r + 1, r + 1))
        for i in range(n):
            a = np.concatenate([[1.0], Z[i]])
            moments += np.outer(a, a)
        moments[1:, 1:] += n * Z_cov
        bw_logdet = 0.0
        for c in range(k):
            precision = moments + np.diag(np.concatenate([[gam[c]], eta[:, c]]))
            bw_cov[c] = np.linalg.inv(precision)
            rhs = np.zeros(r + 1)
            for i in range(n):
                rhs += T[i, c] * np.concatenate([[1.0], Z[i]])
            bw_mean[c] = bw_cov[c] @ rhs
            bw_logdet += np.linalg.slogdet(bw_cov[c])[1]
        # q(gamma), q(eta)
        gam_shape, gam_scale = np.zeros(k), np.zeros(k)
        eta_shape, eta_scale = np.zeros((r, k)), np.zeros((r, k))
        for c in range(k):
            gam_shape[c] = alpha + 0.5
            gam_scale[c] = 1.0 / (1.0 / beta + 0.5 * (bw_mean[c][0] ** 2 + bw_cov[c][0, 0]))
            gam[c] = gam_shape[c] * gam_scale[c]
            for s in range(r):
                eta_shape[s, c] = alpha + 0.5
                eta_scale[s, c] = 1.0 / (1.0 / beta + 0.5 * (bw_mean[c][1 + s] ** 2 + bw_cov[c][1 + s, 1 + s]))
                eta[s, c] = eta_shape[s, c] * eta_scale[s, c]
        # q(T): one sample at a time
        m = np.zeros((n, k))
        for i in range(n):
            for c in range(k):
                m[i, c] = bw_mean[c][0] + bw_mean[c][1:] @ Z[i]
            T[i], log_z[i] = _naive_truncated(m[i], y[i], nodes, log_weights)
        # the bound, term by term
        started = time.perf_counter()
        bound = 0.0
        for dd in range(d):
            for s in range(r):
                value, e_lam, e_log_lam = _gamma_kl_terms(alpha, beta, lam_shape[dd, s], lam_scale[dd, s])
                second = Q_mean[dd, s] ** 2 + Q_cov[s][dd, dd]
                bound += value + 0.5 * e_log_lam - 0.5 * LOG_2PI - 0.5 * e_lam * second
        for s in range(r):
            bound += 0.5 * np.linalg.slogdet(Q_cov[s])[1] + 0.5 * d * (1 + LOG_2PI)
        for i in range(n):
            for s in range(r):
                expected_sq = ((Z[i, s] - Q_mean[:, s] @ X[i]) ** 2 + Z_cov[s, s] + X[i] @ Q_cov[s] @ X[i])
                bound += -0.5 * (LOG_2PI + np.log(s2)) - 0.5 * expected_sq / s2
        bound += 0.5 * n * (np.linalg.slogdet(Z_cov)[1] + r * (1 + LOG_2PI))
        for c in range(k):
            value, e_gam, e_log_gam = _gamma_kl_terms(alpha, beta, gam_shape[c], gam_scale[c])
            bound += value + 0.5 * e_log_gam - 0.5 * LOG_2PI - 0.5 * e_gam * (bw_mean[c][0] ** 2 + bw_cov[c][0, 0])
            for s in range(r):
                value, e_eta, e_log_eta = _gamma_kl_terms(alpha, beta, eta_shape[s, c], eta_scale[s, c])
                second = bw_mean[c][1 + s] ** 2 + bw_cov[c][1 + s, 1 + s]
                bound += value + 0.5 * e_log_eta - 0.5 * LOG_2PI - 0.5 * e_eta * second
        bound += 0.5 * bw_logdet + 0.5 * k * (r + 1) * (1 + LOG_2PI)
        for i in range(n):
            bound += log_z[i]
            a_mean = np.concatenate([[1.0], Z[i]])
            a_second = np.outer(a_mean, a_mean)
            a_second[1:, 1:] += Z_cov
            for c in range(k):
                second = np.trace((bw_cov[c] + np.outer(bw_mean[c], bw_mean[c])) @ a_second)
                bound -= 0.5 * (second - m[i, c] ** 2)
        bounds.append(bound)
        bound_seconds += time.perf_counter() - started
    return Q_mean, np.array(bounds), bound_seconds


# --------------------------------------------------------------------------------------------


def _timed(fit):
    started = time.perf_counter()
    result = fit()
    return result, time.perf_counter() - started


def layer_groups(results, layer):
    """A finished run's regression-network layer (reduced features) and MDA's groups of its
    predictions: the input BSDR meets in the workflow."""
    import pandas as pd
    from cellscape.mda.estimator import target_groups
    X = np.load(Path(results) / "mda" / "activations" / layer / "reduced.npy").astype(np.float64)
    selection = pd.read_csv(Path(results) / "mda" / "activations" / "selection.csv")
    return X, target_groups(selection["predicted"].to_numpy())[0]


#: (S-curve points, naive loop iterations) per mode
SIZES = {"smoke": (300, 2), "quick": (1500, 10), "full": (1500, 200)}


def run(mode="quick", random_state=0, X=None, y=None):
    """Rows {name, value, unit, baseline, baseline_value, ratio}: vectorised BSDR (value) vs the loop
    (on the S-curve, or on ``X``, ``y``)."""
    points, naive_iterations = SIZES[mode]
    if X is None:
        X, y = scurve_groups(points, seed=random_state)
    label = f"{len(X)}x{X.shape[1]},K={y.max() + 1}"
    full_iterations = BSDR().n_iter
    BSDR(n_iter=2, random_state=random_state).fit(X[:200], y[:200])          # warm-up (imports, caches)
    (naive_q, naive_bound, naive_bound_seconds), naive_seconds = _timed(
        lambda: naive_bsdr(X, y, n_iter=naive_iterations, random_state=random_state))
    short, short_seconds = _timed(lambda: BSDR(n_iter=naive_iterations, random_state=random_state).fit(X, y))
    if naive_iterations == full_iterations:
        full, full_seconds = short, short_seconds
    else:
        full, full_seconds = _timed(lambda: BSDR(n_iter=full_iterations, random_state=random_state).fit(X, y))
    projection_error = np.abs(short.projection_ - naive_q).max() / np.abs(naive_q).max()
    bound_error = np.abs(short.lower_bound_ - naive_bound).max() / np.abs(naive_bound).max()
    # The bound is part of every BSDR iteration; the naive loop's own bound (a per-sample,
    # per-class loop) is left out of its time so that the speed-up is not flattered by it.
    naive_per_iteration = (naive_seconds - naive_bound_seconds) / naive_iterations
    rows = [
        dict(name=f"bsdr_seconds_per_iteration[{label}]", value=full_seconds / full_iterations, unit="s",
             baseline=f"naive_loop_seconds_per_iteration_without_bound({naive_iterations} it)",
             baseline_value=naive_per_iteration),
        dict(name=f"bsdr_seconds_per_iteration_vs_loop_with_bound[{label}]", value=full_seconds / full_iterations,
             unit="s", baseline=f"naive_loop_seconds_per_iteration_with_bound({naive_iterations} it)",
             baseline_value=naive_seconds / naive_iterations),
        dict(name=f"bsdr_fit_seconds_vs_loop_with_bound[{label},{naive_iterations} it]", value=short_seconds,
             unit="s", baseline="naive_loop_fit_seconds_with_bound", baseline_value=naive_seconds),
        dict(name=f"bsdr_fit_seconds[{label},{full_iterations} it]", value=full_seconds, unit="s",
             baseline=("naive_loop_fit_seconds_without_bound" + ("(scaled per iteration)" if naive_iterations < full_iterations else "")),
             baseline_value=naive_per_iteration * full_iterations),
        dict(name=f"bsdr_vs_naive_projection_rel_error[{naive_iterations} it]", value=projection_error,
             unit="max|dQ|/max|Q|", baseline="tolerance", baseline_value=TOLERANCE),
        dict(name=f"bsdr_vs_naive_bound_rel_error[{naive_iterations} it]", value=bound_error,
             unit="max|dL|/max|L|", baseline="tolerance", baseline_value=TOLERANCE),
    ]
    for row in rows:
        row["ratio"] = row["value"] / row["baseline_value"] if row["baseline_value"] else float("nan")
    if projection_error > TOLERANCE or bound_error > TOLERANCE:
        raise AssertionError(f"vectorised and naive BSDR disagree: projection {projection_error:.2e}, "
                             f"bound {bound_error:.2e} (tolerance {TOLERANCE:.0e})")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="run the naive loop for all 200 iterations")
    parser.add_argument("--results", help="a finished run's results folder: time BSDR on one of its layers")
    parser.add_argument("--layer", default="conv4", help="with --results: the regression network's layer")
    args = parser.parse_args()
    X, y = layer_groups(args.results, args.layer) if args.results else (None, None)
    rows = run(mode="full" if args.full else "quick", X=X, y=y)
    print(f"{'name':52s} {'value':>11s} {'baseline':>62s} {'baseline_value':>14s} {'ratio':>9s}  unit")
    for row in rows:
        print(f"{row['name']:52s} {row['value']:11.4g} {row['baseline']:>62s} {row['baseline_value']:14.4g} "
              f"{row['ratio']:9.3g}  {row['unit']}")
    per_iteration = rows[0]
    print(f"speed-up per iteration: {per_iteration['baseline_value'] / per_iteration['value']:.1f}x "
          f"(naive loop timed on {per_iteration['baseline'].split('(')[1].rstrip(')')}"
          f"{', scaled to 200 iterations' if not args.full else ''}); projections agree within "
          f"{rows[-2]['value']:.1e} (tolerance {TOLERANCE:.0e}); vectorised times include its bound, "
          f"the naive loop's exclude its own")


if __name__ == "__main__":
    main()
