"""MDA (target-guided embedding) and the embedding-quality scores used to compare maps."""
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
from scipy.stats import spearmanr
from sklearn.datasets import make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from cellscape.mda.estimator import MDA, LocalFisherProjection, _local_affinity, target_groups, target_kind
from cellscape.mda.scores import geodesic_distance_correlation, knn_graph, knn_regression_error, trustworthiness

# umap-learn warns that a fixed random_state makes it single-threaded: that is intended.
pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value")


def embed_in_50d(points, noise=0.05, seed=0):
    """Rotate low-dimensional points into 50-D at random and add isotropic noise."""
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(50, 50)))[0]
    padded = np.hstack([points, np.zeros((len(points), 50 - points.shape[1]))])
    return padded @ rotation + noise * rng.normal(size=(len(points), 50))


@pytest.fixture(scope="module")
def swiss_roll():
    points, t = make_swiss_roll(600, random_state=0)
    return embed_in_50d(points / 5), t


# ---------------------------------------------------------------------------- target groups

def test_target_groups_follow_the_target():
    t = np.random.default_rng(1).uniform(-3, 7, 500)
    groups, distance, extreme = target_groups(t, n_groups=8)
    assert t[extreme] in (t.min(), t.max())
    order = np.argsort(distance)
    assert np.all(np.diff(groups[order]) >= 0)  # group index monotone in distance to extreme
    assert abs(spearmanr(groups, t)[0]) > 0.98
    assert sorted(set(groups)) == list(range(8))
    assert np.bincount(groups).min() >= 500 / 8 - 2  # equal-count bins


def test_automatic_groups_are_numpys_equal_width_bins_of_the_distance_to_the_extreme_point():
    t = np.random.default_rng(3).gamma(2.0, 1.0, 700)  # skewed: equal-width bins differ from quantiles
    groups, distance, extreme = target_groups(t)
    assert extreme == int(np.argmax(np.abs(t - t.mean())))  # farthest from the centroid
    np.testing.assert_allclose(distance, np.abs(t - t[extreme]))
    counts, edges = np.histogram(distance, bins="auto")
    assert len(set(groups)) == int(np.sum(counts > 0))  # one group per non-empty bin
    np.testing.assert_array_equal(np.bincount(groups), counts[counts > 0])
    widths = [np.ptp(distance[groups == g]) for g in set(groups)]
    assert max(widths) <= edges[1] - edges[0] + 1e-12  # equal-width, not equal-count


def test_target_groups_on_a_vector_target_start_at_an_extreme_point():
    rng = np.random.default_rng(2)
    s = rng.uniform(0, 1, 400)
    target = np.c_[s, 1 - s] + 0.001 * rng.normal(size=(400, 2))  # a softmax-like 2-D target
    groups, _, extreme = target_groups(target, n_groups=5)
    assert min(s[extreme], 1 - s[extreme]) < 0.02
    assert abs(spearmanr(groups, s)[0]) > 0.97


def test_target_kind_is_detected_from_the_labels():
    assert target_kind(np.array([0, 1, 1])) == "classification"
    assert target_kind(np.array(["lymphocyte", "neutrophil"])) == "classification"
    assert target_kind(np.array([0.2, 0.9])) == "regression"
    assert target_kind(np.zeros((3, 2))) == "regression"


# ---------------------------------------------------------------------------- projection

def test_local_fisher_scatter_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    X, groups = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    projection = LocalFisherProjection(n_components=2).fit(X, groups)
    A = _local_affinity(X - X.mean(0), groups, 7).toarray()
    n, counts = len(X), np.bincount(groups)
    same = groups[:, None] == groups[None, :]
    W_within = np.where(same, A / counts[groups][:, None], 0.0)
    W_between = np.where(same, A * (1 / n - 1 / counts[groups][:, None]), 1 / n)
    diff = X[:, None, :] - X[None, :, :]

    def scatter(W):
        return 0.5 * np.einsum("ij,ijk,ijl->kl", W, diff, diff)

    np.testing.assert_allclose(projection.scatter_within_, scatter(W_within), atol=1e-9)
    np.testing.assert_allclose(projection.scatter_between_, scatter(W_between), atol=1e-9)


def test_local_fisher_projection_finds_the_discriminant_direction():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 400)
    X = rng.normal(size=(400, 20))
    X[:, 7] += 4 * labels  # only feature 7 separates the groups
    axis = LocalFisherProjection(n_components=1, axis_power=0).fit(X, labels).components_[:, 0]
    assert abs(axis[7]) > 0.95


# ---------------------------------------------------------------------------- MDA

def test_mda_beats_pca_on_a_swiss_roll(swiss_roll):
    X, t = swiss_roll
    mda = MDA(n_groups=10, random_state=0).fit(X, t)
    pca = PCA(2).fit_transform(X)
    assert mda.embedding_.shape == (len(X), 2)
    assert mda.target_kind_ == "regression"
    assert geodesic_distance_correlation(X, mda.embedding_) > geodesic_distance_correlation(X, pca) + 0.1
    assert knn_regression_error(mda.embedding_, t)["rmse"] < 0.5 * knn_regression_error(pca, t)["rmse"]


def test_mda_is_deterministic_for_a_random_state(swiss_roll):
    X, t = swiss_roll
    X, t = X[:300], t[:300]
    first = MDA(random_state=3).fit_transform(X, t)
    again = MDA(random_state=3).fit_transform(X, t)
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("as_strings", [False, True])
def test_mda_separates_class_labels(as_strings):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 400)
    X = rng.normal(size=(400, 50))
    X[:, :3] += 2.0 * labels[:, None]  # the classes differ in 3 of 50 noisy dimensions (Bayes acc. 0.96)
    y = np.array(["lymphocyte", "neutrophil"])[labels] if as_strings else labels
    mda = MDA(random_state=0).fit(X, y)
    assert mda.target_kind_ == "classification"
    assert len(mda.classes_) == 2
    np.testing.assert_array_equal(mda.groups_, labels)
    accuracy = cross_val_score(KNeighborsClassifier(5), mda.embedding_, labels, cv=5).mean()
    assert accuracy > 0.9
    if not as_strings:  # the labels must help: plain UMAP of the same features separates less
        import umap
        unsupervised = umap.UMAP(random_state=0).fit_transform(X)
        assert accuracy > cross_val_score(KNeighborsClassifier(5), unsupervised, labels, cv=5).mean() + 0.02


def test_mda_rejects_mismatched_lengths_and_nan():
    X, y = np.random.default_rng(5).normal(size=(50, 5)), np.linspace(0, 1, 50)
    with pytest.raises(ValueError, match="50 rows but target has 49"):
        MDA().fit(X, y[:-1])
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MDA().fit(X_nan, y)
    y_nan = y.copy()
    y_nan[7] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MDA().fit(X, y_nan)
    with pytest.raises(ValueError, match="single class"):
        MDA().fit(X, np.zeros(50, dtype=int))


def local_thinness(Y, k=100):
    """Median over points of the second/first eigenvalue ratio of the map's k-neighbourhoods
    (k long enough to reach along a curve beyond its width): near 0 where the map is a thin
    curve, of order 1 where it is a sheet."""
    from sklearn.neighbors import NearestNeighbors
    idx = NearestNeighbors(n_neighbors=k).fit(Y).kneighbors(Y, return_distance=False)
    ratios = []
    for neighbours in idx:
        eigen = np.linalg.eigvalsh(np.cov(Y[neighbours].T))
        ratios.append(eigen[0] / eigen[1])
    return float(np.median(ratios))


def position_along_map(Y, k=10):
    """Each point's position along the map: geodesic distance through the map's k-NN graph
    from one end (the point farthest, along the graph, from an arbitrary start)."""
    from scipy.sparse.csgraph import shortest_path
    graph = knn_graph(Y, k)
    end = int(np.argmax(shortest_path(graph, directed=False, indices=[0])[0]))
    return shortest_path(graph, directed=False, indices=[end])[0]


def test_mda_maps_a_noisy_s_curve_as_a_thin_curve_ordered_by_the_target():
    """The authors' published behaviour: on a noisy S-curve in 50-D the MDA map is a 1-D curve
    ordered by the target, with trustworthiness about 0.9-0.95, where UMAP's map is a sheet."""
    from sklearn.datasets import make_s_curve
    from sklearn.manifold import trustworthiness as sk_trust
    from cellscape.embeddings.umap_embedder import UMAPEmbedder
    points, t = make_s_curve(1500, noise=0.05, random_state=0)
    X = embed_in_50d(points, noise=0.1, seed=1)
    mda = MDA(random_state=0).fit(X, t)
    umap_map = UMAPEmbedder(random_state=0).fit_transform(X)
    rho = abs(spearmanr(position_along_map(mda.embedding_), t)[0])
    assert rho >= 0.95, rho
    assert 0.85 <= sk_trust(X, mda.embedding_, n_neighbors=5) <= 0.97
    assert local_thinness(mda.embedding_) < 0.15 and local_thinness(umap_map) > 0.25


# ---------------------------------------------------------------------------- scikit-learn's face

@pytest.mark.parametrize("cls", [MDA, LocalFisherProjection])
def test_estimators_take_explicit_parameters_stored_as_given(cls):
    import inspect
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.estimator_checks import check_no_attributes_set_in_init
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert parameters and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)  # no *args, **kwargs
    assert issubclass(cls, BaseEstimator)
    assert issubclass(cls, TransformerMixin) == hasattr(cls, "transform")
    check_no_attributes_set_in_init(cls.__name__, cls())  # __init__ stores its arguments and nothing else
    assert list(inspect.signature(cls.fit).parameters) == ["self", "X", "y"]


@pytest.mark.parametrize("make", [
    lambda: MDA(n_groups=6, projection_dim=4, n_iter=30, n_neighbors=10, max_input_dim=20, random_state=5),
    lambda: MDA(projection="lfda", n_groups=6, projection_dim=4, n_neighbors=10, axis_power=0.5, max_input_dim=20,
                random_state=5),
    lambda: LocalFisherProjection(n_components=3, n_neighbors=5, regularization=1e-2, axis_power=0.5)],
    ids=["MDA", "MDA-lfda", "LocalFisherProjection"])
def test_a_clone_is_unfitted_and_refits_to_the_same_result(swiss_roll, make):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    X, t = swiss_roll[0][:300], swiss_roll[1][:300]
    original = make()
    y = t if isinstance(original, MDA) else np.digitize(t, np.quantile(t, [0.25, 0.5, 0.75]))  # 4 groups
    result = original.fit_transform(X, y)
    assert result.shape == (300, 2 if isinstance(original, MDA) else 3)
    copy = clone(original)
    assert copy.get_params() == original.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    np.testing.assert_array_equal(copy.fit_transform(X, y), result)
    if hasattr(original, "transform"):
        np.testing.assert_array_equal(copy.transform(X[:20]), original.transform(X[:20]))


# ---------------------------------------------------------------------------- scores

def test_geodesic_correlation_is_one_on_an_isometric_line_and_zero_on_noise():
    rng = np.random.default_rng(6)
    s = np.sort(rng.uniform(0, 10, 300))
    direction = rng.normal(size=50)
    X = np.outer(s, direction / np.linalg.norm(direction)) + 3.0
    assert geodesic_distance_correlation(X, s) > 0.999
    assert abs(geodesic_distance_correlation(X, rng.normal(size=(300, 2)))) < 0.1


def test_geodesic_correlation_unrolls_a_curve_that_euclidean_distance_folds():
    angle = np.linspace(0, 1.8 * np.pi, 300)  # an almost closed circle: its ends are close in space
    circle = np.c_[np.cos(angle), np.sin(angle)]
    assert geodesic_distance_correlation(circle, angle) > 0.99
    assert geodesic_distance_correlation(circle, circle) < 0.9


def test_knn_graph_bridges_disconnected_clusters():
    rng = np.random.default_rng(7)
    X = np.r_[rng.normal(size=(100, 5)), rng.normal(size=(100, 5)) + 100, rng.normal(size=(50, 5)) - 100]
    graph = knn_graph(X, n_neighbors=5)
    assert connected_components(graph, directed=False)[0] == 1
    labels = np.repeat([0, 1, 2], [100, 100, 50])
    cluster_means = np.array([[0.0], [100.0], [-100.0]])[labels]
    assert np.isfinite(geodesic_distance_correlation(X, cluster_means, n_neighbors=5))


def test_geodesic_correlation_uses_the_requested_number_of_pairs():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 3))
    r_all = geodesic_distance_correlation(X, X[:, :2])
    r_few = geodesic_distance_correlation(X, X[:, :2], n_pairs=5000)
    assert abs(r_all - r_few) < 0.05


def test_knn_regression_error_is_low_for_a_smooth_target_and_high_for_a_shuffled_one():
    rng = np.random.default_rng(9)
    Y = rng.uniform(-1, 1, size=(500, 2))
    smooth = np.sin(3 * Y[:, 0]) + Y[:, 1]
    good = knn_regression_error(Y, smooth)
    bad = knn_regression_error(Y, rng.permutation(smooth))
    assert good["r2"] > 0.95 and bad["r2"] < 0.1
    assert good["rmse"] < 0.3 * bad["rmse"]


def test_trustworthiness_prefers_a_faithful_map():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(300, 2))
    assert trustworthiness(X, X @ [[2, 0], [0, 2]]) > 0.99
    assert trustworthiness(X, rng.normal(size=(300, 2))) < 0.7


def test_map_side_geodesic_sees_order_along_a_curved_map_that_euclidean_chords_cut():
    s = np.linspace(0.5, 4 * np.pi, 400)
    curve = np.c_[np.cos(s) * s, np.sin(s) * s]  # a spiral: chords cut across its turns
    arc = np.r_[0, np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))]
    line = np.c_[arc, np.zeros_like(arc)]        # the same manifold, straightened (arc length)
    euclidean = geodesic_distance_correlation(line, curve)
    along = geodesic_distance_correlation(line, curve, map_geodesic=True)
    assert along > 0.99
    assert euclidean < along - 0.2
