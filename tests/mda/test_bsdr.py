"""Tests of the BSDR estimator (Bayesian supervised dimensionality reduction, Gönen 2013).

Every expectation comes from outside the code under test: a subspace planted in the data,
k-NN accuracy of random projections, Monte Carlo or scipy.integrate values of the truncated-
normal moments and of the variational lower bound.
"""
import numpy as np
import pytest
from scipy import integrate, stats
from scipy.linalg import subspace_angles
from scipy.special import digamma, gammaln
from sklearn.base import clone
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from cellscape.mda.bsdr import BSDR, _truncated_normal_moments


def planted_data(n=400, dim=30, n_classes=4, seed=0, radius=2.0, within=0.3, noise=2.0):
    """Classes on a circle in a random 2-D subspace; larger-variance noise in the other 28 dims.

    The nuisance directions have *more* variance than the discriminative plane, so an
    unsupervised projection (PCA, random) does not find the plane: only the labels point to it.
    """
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    y = np.arange(n) % n_classes
    angle = 2 * np.pi * y / n_classes
    signal = radius * np.c_[np.cos(angle), np.sin(angle)] + within * rng.normal(size=(n, 2))
    X = np.hstack([signal, noise * rng.normal(size=(n, dim - 2))]) @ basis.T
    return X, y, basis[:, :2]


def knn_accuracy(Z, y):
    return cross_val_score(KNeighborsClassifier(5), Z, y, cv=5).mean()


@pytest.fixture(scope="module")
def planted_fit():
    X, y, plane = planted_data()
    return X, y, plane, BSDR(n_iter=100, random_state=0).fit(X, y)


# --------------------------------------------------------------------------------------------
# (a) what it finds


def test_recovers_planted_discriminative_subspace(planted_fit):
    X, y, plane, model = planted_fit
    assert model.projection_.shape == (30, 16)
    # the two leading input-space directions of the projection span the planted plane
    leading = np.linalg.svd(model.projection_, full_matrices=False)[0][:, :2]
    assert np.degrees(subspace_angles(leading, plane)).max() < 20.0
    # and so do the directions the classifier on the projected scores uses
    used = model.projection_ @ model.coef_.T
    used = np.linalg.svd(used - used.mean(axis=1, keepdims=True), full_matrices=False)[0][:, :2]
    assert np.degrees(subspace_angles(used, plane)).max() < 20.0


def test_knn_on_projection_beats_random_projections(planted_fit):
    X, y, _, model = planted_fit
    rng = np.random.default_rng(1)
    random_accuracy = np.mean([knn_accuracy(X @ rng.normal(size=(30, 16)), y) for _ in range(5)])
    bsdr_accuracy = knn_accuracy(model.transform(X), y)
    assert bsdr_accuracy > 0.9
    assert bsdr_accuracy > random_accuracy + 0.3


def test_transform_is_x_times_posterior_mean_and_fit_transform_matches(planted_fit):
    X, y, _, model = planted_fit
    np.testing.assert_allclose(model.transform(X[:7]), X[:7] @ model.projection_)
    Y = BSDR(n_iter=100, random_state=0).fit_transform(X, y)
    np.testing.assert_allclose(Y, model.transform(X))


def test_string_labels_and_classes():
    X, y, _ = planted_data(n=120, n_classes=3)
    labels = np.array(["b", "c", "a"])[y]
    model = BSDR(n_components=3, n_iter=20, random_state=0).fit(X, labels)
    assert list(model.classes_) == ["a", "b", "c"]
    assert model.coef_.shape == (3, 3) and model.intercept_.shape == (3,)
    numeric = BSDR(n_components=3, n_iter=20, random_state=0).fit(X, np.array([1, 2, 0])[y])
    np.testing.assert_allclose(model.projection_, numeric.projection_)


# --------------------------------------------------------------------------------------------
# (b) the objective


def test_lower_bound_never_decreases(planted_fit):
    bound = planted_fit[3].lower_bound_
    assert bound.shape == (100,) and np.all(np.isfinite(bound))
    steps = np.diff(bound)
    assert steps.min() > -1e-9 * np.abs(bound).max()
    assert bound[-1] - bound[0] > 100.0          # and it does move


def test_lower_bound_never_decreases_many_classes_small_sigma():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 8))
    y = np.digitize(X[:, 0] + 0.3 * rng.normal(size=300), np.linspace(-1.5, 1.5, 6))   # 7 classes
    bound = BSDR(n_components=4, n_iter=60, sigma_z=0.05, random_state=1).fit(X, y).lower_bound_
    assert np.diff(bound).min() > -1e-9 * np.abs(bound).max()


def _log_gamma_pdf(x, shape, scale):
    return (shape - 1) * np.log(x) - x / scale - gammaln(shape) - shape * np.log(scale)


def _log_normal_pdf(x, mean, var):
    return -0.5 * np.log(2 * np.pi * var) - 0.5 * (x - mean) ** 2 / var


def _sample_gaussian(rng, mean, cov, n):
    return mean + rng.standard_normal((n, len(mean))) @ np.linalg.cholesky(cov).T


def test_lower_bound_matches_monte_carlo_estimate():
    """E_q[log p(y, T, Z, Q, ... | X) - log q] by sampling every factor of q (two classes, so
    q(T) is sampled exactly: t_y - t_o is a truncated normal, t_y + t_o an independent normal)."""
    rng = np.random.default_rng(0)
    n, d, r = 40, 4, 2
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(int)
    model = BSDR(n_components=r, n_iter=30, random_state=0).fit(X, y)
    p, s2, S = model.posterior_, model.sigma_z ** 2, 20_000
    terms = np.zeros(S)
    # lambda and Q
    lam = rng.gamma(p["lambda_shape"], p["lambda_scale"], size=(S, d, r))
    terms += np.sum(_log_gamma_pdf(lam, model.alpha_lambda, model.beta_lambda)
                    - _log_gamma_pdf(lam, p["lambda_shape"], p["lambda_scale"]), axis=(1, 2))
    Q = np.stack([_sample_gaussian(rng, p["Q_mean"][:, s], p["Q_cov"][s], S) for s in range(r)], axis=2)
    terms += np.sum(_log_normal_pdf(Q, 0.0, 1.0 / lam), axis=(1, 2))
    for s in range(r):
        terms -= stats.multivariate_normal(p["Q_mean"][:, s], p["Q_cov"][s]).logpdf(Q[:, :, s])
    # Z
    Z = p["Z_mean"] + rng.standard_normal((S, n, r)) @ np.linalg.cholesky(p["Z_cov"]).T
    terms += np.sum(_log_normal_pdf(Z, np.einsum("nd,Sdr->Snr", X, Q), s2), axis=(1, 2))
    terms -= stats.multivariate_normal(np.zeros(r), p["Z_cov"]).logpdf(Z - p["Z_mean"]).sum(axis=1)
    # gamma, eta, b, W
    gam = rng.gamma(p["gamma_shape"], p["gamma_scale"], size=(S, 2))
    eta = rng.gamma(p["eta_shape"], p["eta_scale"], size=(S, r, 2))
    terms += np.sum(_log_gamma_pdf(gam, model.alpha_gamma, model.beta_gamma)
                    - _log_gamma_pdf(gam, p["gamma_shape"], p["gamma_scale"]), axis=1)
    terms += np.sum(_log_gamma_pdf(eta, model.alpha_eta, model.beta_eta)
                    - _log_gamma_pdf(eta, p["eta_shape"], p["eta_scale"]), axis=(1, 2))
    bw = np.stack([_sample_gaussian(rng, p["bw_mean"][c], p["bw_cov"][c], S) for c in range(2)], axis=1)
    terms += np.sum(_log_normal_pdf(bw[:, :, 0], 0.0, 1.0 / gam), axis=1)
    terms += np.sum(_log_normal_pdf(np.swapaxes(bw[:, :, 1:], 1, 2), 0.0, 1.0 / eta), axis=(1, 2))
    for c in range(2):
        terms -= stats.multivariate_normal(p["bw_mean"][c], p["bw_cov"][c]).logpdf(bw[:, c])
    # T: q(t_i) = N(m_i, I) restricted to t_{y_i} > t_other, normaliser Phi(delta_i / sqrt 2)
    m = p["Z_mean"] @ p["bw_mean"][:, 1:].T + p["bw_mean"][:, 0]
    rows = np.arange(n)
    m_own, m_other = m[rows, y], m[rows, 1 - y]
    delta = m_own - m_other
    lower = (0.0 - delta) / np.sqrt(2.0)
    diff = stats.truncnorm(lower, np.inf, loc=delta, scale=np.sqrt(2.0)).rvs(size=(S, n), random_state=rng)
    total = m_own + m_other + np.sqrt(2.0) * rng.standard_normal((S, n))
    T = np.empty((S, n, 2))
    T[:, rows, y] = (total + diff) / 2
    T[:, rows, 1 - y] = (total - diff) / 2
    f = np.einsum("Snr,Scr->Snc", Z, bw[:, :, 1:]) + bw[:, None, :, 0]
    terms += np.sum(_log_normal_pdf(T, f, 1.0), axis=(1, 2))
    terms -= np.sum(_log_normal_pdf(T, m, 1.0), axis=(1, 2)) - np.sum(stats.norm.logcdf(delta / np.sqrt(2.0)))
    estimate, std_error = terms.mean(), terms.std() / np.sqrt(S)
    assert std_error < 0.1
    assert abs(estimate - model.lower_bound_[-1]) < 5 * std_error + 1e-6 * abs(estimate)


def _two_class_problem():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 5))
    y = (X[:, 0] - X[:, 1] + 0.7 * rng.normal(size=50) > 0).astype(int)
    return X, y


def _truncated_two_class_mean(m, y):
    """E[t] of N(m_i, I_2) restricted to t_{y_i} > t_other: t_y - t_o is a truncated N(delta, 2)."""
    rows = np.arange(len(m))
    delta = m[rows, y] - m[rows, 1 - y]
    diff = stats.truncnorm(-delta / np.sqrt(2), np.inf, loc=delta, scale=np.sqrt(2)).mean()
    t = np.empty_like(m)
    t[rows, y] = (m[rows, y] + m[rows, 1 - y] + diff) / 2
    t[rows, 1 - y] = (m[rows, y] + m[rows, 1 - y] - diff) / 2
    return t, delta


def test_one_iteration_is_the_closed_form_coordinate_updates():
    """Fits of k and k + 1 iterations (same seed) differ by one sweep of the updates, written
    here afresh from the model (two classes, so q(T)'s mean is a truncated-normal mean)."""
    X, y = _two_class_problem()
    kw = dict(n_components=3, sigma_z=0.3, alpha_lambda=1.5, beta_lambda=0.8, alpha_gamma=2.0,
              beta_gamma=0.5, alpha_eta=1.2, beta_eta=2.0, random_state=5)
    before = BSDR(n_iter=4, **kw).fit(X, y).posterior_
    after = BSDR(n_iter=5, **kw).fit(X, y).posterior_
    n, r, s2 = len(X), 3, 0.3 ** 2
    # q(Q), column by column, with E[lambda] of the previous sweep
    lam = before["lambda_shape"] * before["lambda_scale"]
    for s in range(r):
        cov = np.linalg.inv(np.diag(lam[:, s]) + X.T @ X / s2)
        np.testing.assert_allclose(after["Q_cov"][s], cov, rtol=1e-9, atol=1e-13)
        np.testing.assert_allclose(after["Q_mean"][:, s], cov @ X.T @ before["Z_mean"][:, s] / s2, rtol=1e-8)
    Q, Q_var = after["Q_mean"], np.array([np.diag(c) for c in after["Q_cov"]]).T
    # q(lambda)
    np.testing.assert_allclose(after["lambda_shape"], 1.5 + 0.5)
    np.testing.assert_allclose(after["lambda_scale"], 1 / (1 / 0.8 + (Q ** 2 + Q_var) / 2), rtol=1e-9)
    # q(Z) with the previous q(b, W) and q(T)
    mean, cov = before["bw_mean"], before["bw_cov"]
    e_ww = sum(np.outer(mean[c, 1:], mean[c, 1:]) + cov[c, 1:, 1:] for c in range(2))
    e_wb = sum(mean[c, 1:] * mean[c, 0] + cov[c, 1:, 0] for c in range(2))
    z_cov = np.linalg.inv(np.eye(r) / s2 + e_ww)
    z = np.array([z_cov @ (Q.T @ X[i] / s2 + mean[:, 1:].T @ before["T_mean"][i] - e_wb) for i in range(n)])
    np.testing.assert_allclose(after["Z_cov"], z_cov, rtol=1e-9)
    np.testing.assert_allclose(after["Z_mean"], z, rtol=1e-8, atol=1e-10)
    # q(b_c, w_c) with the new q(Z), the previous q(T), q(gamma), q(eta)
    A = np.hstack([np.ones((n, 1)), z])
    second = A.T @ A
    second[1:, 1:] += n * z_cov
    gam = before["gamma_shape"] * before["gamma_scale"]
    eta = before["eta_shape"] * before["eta_scale"]
    for c in range(2):
        cov_c = np.linalg.inv(second + np.diag(np.r_[gam[c], eta[:, c]]))
        np.testing.assert_allclose(after["bw_cov"][c], cov_c, rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(after["bw_mean"][c], cov_c @ A.T @ before["T_mean"][:, c], rtol=1e-8)
    # q(gamma), q(eta) with the new q(b, W)
    bw2 = after["bw_mean"] ** 2 + np.array([np.diag(c) for c in after["bw_cov"]])
    np.testing.assert_allclose(after["gamma_scale"], 1 / (1 / 0.5 + bw2[:, 0] / 2), rtol=1e-9)
    np.testing.assert_allclose(after["eta_scale"], 1 / (1 / 2.0 + bw2[:, 1:].T / 2), rtol=1e-9)
    np.testing.assert_allclose(after["gamma_shape"], 2.5)
    np.testing.assert_allclose(after["eta_shape"], 1.7)
    # q(T) with the new q(Z), q(b, W)
    t, _ = _truncated_two_class_mean(z @ after["bw_mean"][:, 1:].T + after["bw_mean"][:, 0], y)
    np.testing.assert_allclose(after["T_mean"], t, rtol=1e-6, atol=1e-8)


def test_lower_bound_matches_the_bound_written_out_term_by_term():
    """The bound from its definition, every expectation spelled out (sum_i x_i' Sigma_s x_i and
    all), for two classes, where log Z_i = log Phi(delta_i / sqrt 2) exactly."""
    X, y = _two_class_problem()
    model = BSDR(n_components=3, n_iter=6, sigma_z=0.3, alpha_lambda=1.5, beta_lambda=0.8,
                 random_state=5).fit(X, y)
    p, n, r, s2 = model.posterior_, len(X), 3, 0.3 ** 2

    def gamma_terms(alpha, beta, shape, scale):      # E[log prior] + entropy, E[v], E[log v]
        e, elog = shape * scale, digamma(shape) + np.log(scale)
        value = ((alpha - 1) * elog - e / beta - gammaln(alpha) - alpha * np.log(beta)
                 + shape + np.log(scale) + gammaln(shape) + (1 - shape) * digamma(shape))
        return value.sum(), e, elog

    def gaussian_entropy(cov):
        return 0.5 * np.linalg.slogdet(2 * np.pi * np.e * cov)[1]

    value, lam, log_lam = gamma_terms(1.5, 0.8, p["lambda_shape"], p["lambda_scale"])
    q_var = np.array([np.diag(c) for c in p["Q_cov"]]).T
    bound = value + np.sum(0.5 * log_lam - 0.5 * np.log(2 * np.pi) - 0.5 * lam * (p["Q_mean"] ** 2 + q_var))
    bound += sum(gaussian_entropy(c) for c in p["Q_cov"])
    for i in range(n):
        for s in range(r):
            e_sq = ((p["Z_mean"][i, s] - p["Q_mean"][:, s] @ X[i]) ** 2 + p["Z_cov"][s, s]
                    + X[i] @ p["Q_cov"][s] @ X[i])
            bound += -0.5 * np.log(2 * np.pi * s2) - 0.5 * e_sq / s2
    bound += n * gaussian_entropy(p["Z_cov"])
    value_g, gam, log_gam = gamma_terms(1.0, 1.0, p["gamma_shape"], p["gamma_scale"])
    value_e, eta, log_eta = gamma_terms(1.0, 1.0, p["eta_shape"], p["eta_scale"])
    bound += value_g + value_e
    for c in range(2):
        prec, log_prec = np.r_[gam[c], eta[:, c]], np.r_[log_gam[c], log_eta[:, c]]
        e_sq = p["bw_mean"][c] ** 2 + np.diag(p["bw_cov"][c])
        bound += np.sum(0.5 * log_prec - 0.5 * np.log(2 * np.pi) - 0.5 * prec * e_sq)
        bound += gaussian_entropy(p["bw_cov"][c])
    m = p["Z_mean"] @ p["bw_mean"][:, 1:].T + p["bw_mean"][:, 0]
    _, delta = _truncated_two_class_mean(m, y)
    bound += np.sum(stats.norm.logcdf(delta / np.sqrt(2)))
    for i in range(n):
        a = np.r_[1.0, p["Z_mean"][i]]
        e_aa = np.outer(a, a)
        e_aa[1:, 1:] += p["Z_cov"]
        for c in range(2):
            e_vv = p["bw_cov"][c] + np.outer(p["bw_mean"][c], p["bw_mean"][c])
            bound -= 0.5 * (np.trace(e_vv @ e_aa) - m[i, c] ** 2)        # Var[w_c'z_i + b_c]
    np.testing.assert_allclose(model.lower_bound_[-1], bound, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# q(T): the truncated-normal moments against independent computations


def _moments_for(m, y, n_quadrature=16):
    k = m.shape[1]
    others = np.array([[c for c in range(k) if c != label] for label in y])
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_quadrature)
    return _truncated_normal_moments(np.array(m, dtype=float), np.asarray(y), others, nodes,
                                     np.log(weights / np.sqrt(2 * np.pi)), 3)


def test_truncated_normal_means_match_rejection_sampling():
    m = np.array([[0.5, 0.0, -0.3], [-0.4, 0.6, 0.1], [1.5, -1.0, 0.2]])
    y = np.array([0, 0, 2])
    t, log_z = _moments_for(m, y)
    rng = np.random.default_rng(0)
    for i in range(len(m)):
        draws = m[i] + rng.standard_normal((400_000, 3))
        kept = draws[draws.argmax(axis=1) == y[i]]
        np.testing.assert_allclose(np.log(len(kept) / len(draws)), log_z[i], atol=0.02)
        np.testing.assert_allclose(t[i], kept.mean(axis=0), atol=0.02)


def test_truncated_normal_moments_match_quadrature_far_in_the_tails():
    """Badly misclassified samples (margins -25 .. +30), where the mass sits far out in u."""
    m = np.array([[0.0, 25.0, 3.0, -4.0], [10.0, -20.0, 0.0, 2.0], [0.0, 1.0, 2.0, 30.0]])
    y = np.array([0, 1, 2])
    t, log_z = _moments_for(m, y)
    for i in range(len(m)):
        own = m[i, y[i]]
        rest = [c for c in range(4) if c != y[i]]
        lo, hi = -12.0, 12.0 + max(0.0, max(m[i, c] - own for c in rest))

        def integrand(u, skip=None):
            value = stats.norm.pdf(u)
            for c in rest:
                value *= stats.norm.pdf(u + own - m[i, c]) if c == skip else stats.norm.cdf(u + own - m[i, c])
            return value

        z = integrate.quad(integrand, lo, hi, points=[own - m[i, c] for c in rest], limit=500, epsabs=0)[0]
        np.testing.assert_allclose(log_z[i], np.log(z), rtol=1e-6, atol=1e-8)
        for c in rest:
            num = integrate.quad(integrand, lo, hi, args=(c,), limit=500, epsabs=0)[0]
            np.testing.assert_allclose(t[i, c], m[i, c] - num / z, rtol=1e-5, atol=1e-7)
        assert np.isclose(t[i].sum(), m[i].sum())     # E[t_y] - m_y balances the other shifts


# --------------------------------------------------------------------------------------------
# (c) determinism


def test_deterministic_for_a_seed_and_different_for_another():
    X, y, _ = planted_data(n=150)
    first = BSDR(n_components=4, n_iter=15, random_state=7).fit(X, y)
    second = BSDR(n_components=4, n_iter=15, random_state=7).fit(X, y)
    other = BSDR(n_components=4, n_iter=15, random_state=8).fit(X, y)
    np.testing.assert_array_equal(first.projection_, second.projection_)
    np.testing.assert_array_equal(first.lower_bound_, second.lower_bound_)
    assert np.abs(first.projection_ - other.projection_).max() > 1e-2


def test_tol_stops_early():
    X, y, _ = planted_data(n=150)
    model = BSDR(n_components=4, n_iter=200, tol=1e-3, random_state=0).fit(X, y)
    assert 1 < model.n_iter_ < 200 and len(model.lower_bound_) == model.n_iter_


# --------------------------------------------------------------------------------------------
# (d) scikit-learn conventions


def test_clone_and_get_params_round_trip():
    params = dict(n_components=5, n_iter=12, sigma_z=0.2, alpha_lambda=2.0, beta_lambda=0.5,
                  alpha_gamma=1.5, beta_gamma=3.0, alpha_eta=0.7, beta_eta=1.2, n_quadrature=20,
                  tol=1e-4, random_state=3)
    model = BSDR(**params)
    assert model.get_params() == params
    assert set(BSDR().get_params()) == set(params)
    copy = clone(model)
    assert copy is not model and copy.get_params() == params
    assert BSDR().set_params(**params).get_params() == params
    X, y, _ = planted_data(n=100)
    model.fit(X, y)
    fresh = clone(model)
    assert not hasattr(fresh, "projection_")
    np.testing.assert_array_equal(fresh.fit(X, y).projection_, model.projection_)


# --------------------------------------------------------------------------------------------
# (e) bad input


def test_bad_inputs_raise_clear_errors():
    X, y, _ = planted_data(n=60)
    bad = X.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BSDR(n_iter=2).fit(bad, y)
    bad[3, 2] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        BSDR(n_iter=2).fit(bad, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        BSDR(n_iter=2).fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="different lengths"):
        BSDR(n_iter=2).fit(X, y[:-1])
    with pytest.raises(ValueError, match="2-D"):
        BSDR(n_iter=2).fit(X[:, 0], y)
    y_nan = y.astype(float)
    y_nan[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        BSDR(n_iter=2).fit(X, y_nan)
    for params in (dict(n_components=0), dict(n_iter=1.5), dict(sigma_z=-1.0), dict(beta_eta=0.0),
                   dict(tol=-1.0), dict(n_quadrature=0)):
        with pytest.raises(ValueError):
            BSDR(**params).fit(X, y)
    model = BSDR(n_components=3, n_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        model.transform(bad.copy() * np.nan)


def test_transform_before_fit_raises():
    from sklearn.exceptions import NotFittedError
    with pytest.raises(NotFittedError):
        BSDR().transform(np.zeros((3, 4)))


def test_truncated_normal_moments_in_blocks_equal_one_pass():
    rng = np.random.default_rng(2)
    m, y = rng.normal(0, 3, size=(101, 5)), rng.integers(0, 5, size=101)
    others = np.array([[c for c in range(5) if c != label] for label in y])
    nodes, weights = np.polynomial.hermite_e.hermegauss(16)
    log_weights = np.log(weights / np.sqrt(2 * np.pi))
    whole = _truncated_normal_moments(m, y, others, nodes, log_weights, 3)
    blocks = _truncated_normal_moments(m, y, others, nodes, log_weights, 3, block=7 * 4 * 16)
    np.testing.assert_array_equal(whole[0], blocks[0])
    np.testing.assert_array_equal(whole[1], blocks[1])
