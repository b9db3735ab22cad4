"""Embeddings, grid mapping, decision boundary, separation and their figures."""

import numpy as np
import pandas as pd
import pytest
import torch


from cellscape.data.channels import display, resolve_channels  # noqa: E402
from cellscape.embeddings.boundary import DecisionBoundary  # noqa: E402
from cellscape.embedding_methods import make_embedder  # noqa: E402
from cellscape.embeddings.embedders import tsne_with_snapshots  # noqa: E402
from cellscape.embeddings.gridmap import grid_positions, grid_shape, interpolate, scale_to_grid  # noqa: E402
from cellscape.embeddings.separation import dbscan_clusters, knn_accuracy, layer_separation  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value")
torch.set_num_threads(1)


def blobs(n=200, d=10, gap=6.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.repeat([0, 1], n // 2)
    X[y == 1, 0] += gap
    return X, y


# ---------------------------------------------------------------------------- embeddings

@pytest.mark.parametrize("method", ["umap", "tsne", "pca", "mda"])
def test_embedders_are_deterministic_for_a_seed(method):
    X, y = blobs(160)
    first = make_embedder(method, None, random_state=3).fit_transform(X, y)
    second = make_embedder(method, None, random_state=3).fit_transform(X, y)
    assert first.shape == (160, 2)
    np.testing.assert_array_equal(first, second)
    assert knn_accuracy(first, y) > 0.95  # the maps keep two well-separated blobs apart


#: the paper's channels, red and green, as figures show them
TWO_CHANNELS = display(resolve_channels({}))
EMBEDDER_PARAMS = {"umap": {"n_neighbors": 10, "min_dist": 0.3, "spread": 1.5},  # spread: passed on to umap-learn
                   "tsne": {"perplexity": 20, "n_iter": 150, "learning_rate": 50},  # learning_rate: to openTSNE
                   "pca": {"n_components": 3},
                   "mda": {"n_groups": 4, "projection_dim": 4, "n_neighbors": 10}}


@pytest.mark.parametrize("method", ["umap", "tsne", "pca", "mda"])
def test_embedders_take_explicit_parameters_stored_as_given(method):
    import inspect
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.estimator_checks import check_no_attributes_set_in_init
    cls = type(make_embedder(method))
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert parameters and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)  # no *args, **kwargs
    assert issubclass(cls, BaseEstimator)
    check_no_attributes_set_in_init(cls.__name__, cls())  # __init__ stores its arguments and nothing else
    # umap (on exact neighbours) and t-SNE place only the points they are fitted on
    assert hasattr(cls, "transform") == issubclass(cls, TransformerMixin) == (method == "pca")


@pytest.mark.parametrize("method", ["umap", "tsne", "pca", "mda"])
def test_a_clone_of_an_embedder_is_unfitted_and_refits_to_the_same_map(method):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    X, y = blobs(120)
    original = make_embedder(method, EMBEDDER_PARAMS[method], random_state=2)
    embedding = original.fit_transform(X, y)
    assert embedding.shape == (120, 3 if method == "pca" else 2)
    copy = clone(original)
    assert copy.get_params() == original.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert not hasattr(copy, "embedding_")
    np.testing.assert_array_equal(copy.fit_transform(X, y), embedding)
    np.testing.assert_array_equal(original.embedding_, embedding)


def test_make_embedder_sets_the_config_parameters_and_passes_the_rest_on():
    from cellscape.embeddings.embedders import TSNEEmbedder
    from cellscape.embeddings.umap_embedder import UMAPEmbedder
    umap = make_embedder("umap", {"n_neighbors": 30, "spread": 1.5}, 7)
    assert isinstance(umap, UMAPEmbedder)
    assert (umap.n_neighbors, umap.min_dist, umap.random_state, umap.umap_kwargs) == (30, 0.1, 7, {"spread": 1.5})
    tsne = make_embedder("tsne", {"learning_rate": 50}, 1)
    assert isinstance(tsne, TSNEEmbedder) and (tsne.perplexity, tsne.tsne_kwargs) == (30, {"learning_rate": 50})
    with pytest.raises(ValueError, match=r"unknown pca parameters \['perplexity'\]; valid: \['n_components', 'random_state'\]"):
        make_embedder("pca", {"perplexity": 3})
    with pytest.raises(ValueError) as error:
        make_embedder("isomap")
    assert "'isomap'" in str(error.value) and all(m in str(error.value) for m in ("umap", "tsne", "pca", "mda"))


def test_pca_transform_places_the_fitted_rows_at_their_map():
    X, y = blobs(100)
    pca = make_embedder("pca", None, 0)
    embedding = pca.fit_transform(X)
    centred = X - X.mean(0)
    np.testing.assert_allclose(np.abs(embedding), np.abs(centred @ np.linalg.svd(centred)[2][:2].T), atol=1e-8)
    np.testing.assert_allclose(pca.transform(X[:10]), embedding[:10], atol=1e-8)


def test_the_mda_embedding_needs_the_target():
    with pytest.raises(ValueError, match="needs the target y"):
        make_embedder("mda").fit_transform(blobs(60)[0])


def test_tsne_snapshots_give_seven_frames_from_start_to_end():
    X, _ = blobs(120)
    result = tsne_with_snapshots(X, n_snapshots=7, every=10, n_iter=100, early_exaggeration_iter=50)
    assert len(result["snapshots"]) == 7
    assert result["iterations"][result["snapshots"][0]] == 0
    assert result["iterations"][result["snapshots"][-1]] == 150
    assert len(result["frames"]) == 16  # initialisation + every 10th of 150 iterations
    np.testing.assert_array_equal(result["embedding"], result["frames"][-1])


# ---------------------------------------------------------------------------- grid mapping

def clustered_map(n, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(5, 2)) * 20
    return np.vstack([rng.normal(size=(n // 5 + 1, 2)) * rng.uniform(1, 4) + c for c in centres])[:n]


def test_gridmap_gives_unique_cells_and_near_optimal_cost():
    Y = clustered_map(500)
    G, cost = grid_positions(Y, method="lapmod")
    columns, rows = grid_shape(500)
    cells = G[:, 1] * columns + G[:, 0]
    assert len(np.unique(cells)) == 500
    assert G[:, 0].max() < columns and G[:, 1].max() < rows and G.min() >= 0
    _, optimum = grid_positions(Y, method="dense", solver="scipy")
    assert optimum <= cost <= 1.005 * optimum


def test_lapjv_dense_reaches_scipys_optimum():
    Y = clustered_map(300, seed=2)
    _, lapjv_cost = grid_positions(Y, method="dense")
    _, scipy_cost = grid_positions(Y, method="dense", solver="scipy")
    assert lapjv_cost == pytest.approx(scipy_cost, rel=1e-9)


def test_interpolate_reaches_both_endpoints():
    Y = clustered_map(200)
    G, _ = grid_positions(Y)
    np.testing.assert_allclose(interpolate(Y, G, 0.0), scale_to_grid(Y, grid_shape(200)))
    np.testing.assert_allclose(interpolate(Y, G, 1.0), G)
    half = interpolate(Y, G, 0.5)
    np.testing.assert_allclose(half, (interpolate(Y, G, 0.0) + G) / 2)


# ---------------------------------------------------------------------------- boundary

def test_boundary_classifies_held_out_points_of_separated_blobs():
    rng = np.random.default_rng(0)
    train = np.vstack([rng.normal(size=(100, 2)), rng.normal(size=(100, 2)) + [6, 0]])
    labels = np.repeat(np.array(["a", "b"]), 100)
    test = np.vstack([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + [6, 0]])
    boundary = DecisionBoundary().fit(train, labels)
    assert (boundary.predict(test) == np.repeat(np.array(["a", "b"]), 50)).mean() > 0.98


def test_a_network_that_predicts_one_class_has_a_map_of_that_class_and_no_boundary():
    rng = np.random.default_rng(2)
    points = rng.normal(size=(60, 2))
    boundary = DecisionBoundary().fit(points, np.full(60, "neutrophil"))
    assert (boundary.class_map == "neutrophil").all() and not boundary.has_boundary
    assert (boundary.predict(points) == "neutrophil").all()
    two = DecisionBoundary().fit(points, np.where(points[:, 0] > 0, "a", "b"))
    assert two.has_boundary


def test_the_boundary_figure_draws_a_map_whose_network_predicts_one_class():
    import matplotlib
    matplotlib.use("Agg")
    from cellscape.figures.embedding_figures import boundary_figure
    rng = np.random.default_rng(3)
    n = 40
    table = pd.DataFrame({"x": rng.normal(size=n), "y": rng.normal(size=n), "class": np.repeat(["a", "b"], n // 2),
                          "predicted": "a", "p_a": 0.6, "p_b": 0.4, "certainty": 0.6, "correct": np.repeat([1, 0], n // 2)})
    legend = [text.get_text() for text in boundary_figure(table, ["a", "b"]).legends[0].get_texts()]
    assert "predicted a" in legend and not any("boundary" in label for label in legend)  # none drawn
    two_classes = table.assign(predicted=np.where(table["x"] > 0, "a", "b"))
    legend = [text.get_text() for text in boundary_figure(two_classes, ["a", "b"]).legends[0].get_texts()]
    assert "estimated decision boundary" in legend


def test_smoothing_keeps_a_straight_boundary_in_place():
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 10, size=(2000, 2))
    labels = (points[:, 0] > 5).astype(int)
    for smoothing in (0.0, 0.03):
        boundary = DecisionBoundary(resolution=200, smoothing=smoothing).fit(points, labels, extent=(0, 10, 0, 10))
        middle = boundary.field[50:150]  # away from the top and bottom edges
        crossing = boundary.xx[50:150][np.arange(100), np.abs(middle).argmin(1)]
        assert np.abs(crossing - 5).max() < 0.35


# ---------------------------------------------------------------------------- separation

def test_knn_accuracy_is_high_on_separated_blobs_and_chance_on_shuffled_labels():
    X, y = blobs(300, gap=8)
    assert knn_accuracy(X, y) > 0.98
    shuffled = np.random.default_rng(0).permutation(y)
    assert abs(knn_accuracy(X, shuffled) - 0.5) < 0.1


def test_layer_separation_scores_each_space():
    X, y = blobs(200, gap=8)
    rows = layer_separation(X, y, {"pca": X[:, :2]})
    assert [r["space"] for r in rows] == ["features", "pca"]
    assert rows[1]["knn_accuracy"] > 0.95 and rows[1]["silhouette"] > 0.4
    assert 0.5 < rows[1]["trustworthiness"] <= 1


def test_dbscan_finds_the_two_blobs_and_flags_outliers():
    rng = np.random.default_rng(0)
    Y = np.vstack([rng.normal(size=(150, 2)) * 0.3, rng.normal(size=(150, 2)) * 0.3 + [5, 5], [[20, -20]]])
    labels = dbscan_clusters(Y, eps=0.15, min_samples=5)
    assert len(set(labels[:300]) - {-1}) == 2
    assert labels[-1] == -1
    assert set(labels[:150]) - {-1} != set(labels[150:300]) - {-1}


# ---------------------------------------------------------------------------- figures

def test_figures_write_png_and_pdf(tmp_path):
    from cellscape.figures import embedding_figures as ef
    from cellscape.figures.common import save_figure
    classes = ["lymphocyte", "neutrophil"]
    X, y = blobs(80, d=5)
    rng = np.random.default_rng(0)
    predicted = np.where(rng.random(80) < 0.1, 1 - y, y)
    snapshots = tsne_with_snapshots(X, every=25, n_iter=50, early_exaggeration_iter=50)
    Y = snapshots["embedding"]
    table = pd.DataFrame({"id": np.arange(80), "x": Y[:, 0], "y": Y[:, 1], "class": np.array(classes)[y],
                          "predicted": np.array(classes)[predicted], "certainty": rng.uniform(0.5, 1, 80)})
    images = rng.random((80, 2, 12, 12)) * (rng.random((80, 2, 12, 12)) > 0.5)
    G, _ = grid_positions(Y)
    scores = pd.DataFrame([{"layer": layer, "space": space, "knn_accuracy": rng.random(), "silhouette": rng.random(),
                            "trustworthiness": rng.random()} for layer in ("conv1", "dense1") for space in ("features", "umap")])
    figures = {"fig07": ef.tsne_snapshots_figure(snapshots, y, classes),
               "fig08": ef.boundary_figure(table, classes),
               "fig09": ef.cell_image_map_figure(ef.sample_per_class(table, 30), images[:60], classes, TWO_CHANNELS),
               "fig10": ef.grid_stages_figure(table, G, classes),
               "fig11": ef.grid_map_figure(table, G, classes),
               "fig12": ef.layers_figure({"umap": {"conv1": table, "dense1": table}, "mda": {"conv1": table}},
                                         classes, methods=("umap", "mda")),
               "separation": ef.separation_figure(scores)}
    for name, fig in figures.items():
        save_figure(fig, tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 1000 and (tmp_path / f"{name}.pdf").exists()
    ef.write_tsne_animation(snapshots, y, classes, tmp_path / "fig07.gif")
    assert (tmp_path / "fig07.gif").read_bytes()[:3] == b"GIF"


def test_cutout_is_transparent_only_where_both_channels_are_zero():
    from cellscape.figures.embedding_figures import cutout_rgba
    image = np.zeros((2, 4, 4))
    image[0, 0, 0] = 0.5
    image[1, 1, 1] = 0.7
    rgba = cutout_rgba(image, TWO_CHANNELS)
    assert rgba[0, 0, 3] == 1 and rgba[1, 1, 3] == 1 and rgba[2, 2, 3] == 0
    assert rgba[0, 0, 0] == 0.5 and rgba[1, 1, 1] == pytest.approx(0.7)


def test_trustworthiness_of_a_small_set_uses_the_neighbours_it_has():
    from sklearn.manifold import trustworthiness as sklearn_trustworthiness
    from cellscape.trust import trustworthiness
    rng = np.random.default_rng(0)
    X = rng.normal(size=(18, 5))
    Y = X[:, :2] + rng.normal(scale=0.1, size=(18, 2))
    # 15 neighbours need more than 30 points: scored with the 8 that 18 points allow
    assert trustworthiness(X, Y, n_neighbors=15) == pytest.approx(sklearn_trustworthiness(X, Y, n_neighbors=8))
    assert trustworthiness(X[:40], Y[:40], n_neighbors=5) == pytest.approx(sklearn_trustworthiness(X, Y, n_neighbors=5))
    assert np.isnan(trustworthiness(X[:2], Y[:2], n_neighbors=5))
