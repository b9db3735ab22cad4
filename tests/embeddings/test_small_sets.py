"""A first export's test split holds a few dozen cells: every neighbourhood size, perplexity and
cluster setting is fitted to the cells there are, and the value used is reported. The expected
sizes are worked out by hand from each method's bound."""
import numpy as np
import pytest

from cellscape.embedding_methods import fitted_sizes, make_embedder
from cellscape.embeddings.embedders import TSNEEmbedder
from cellscape.embeddings.neighbours import nearest_neighbours
from cellscape.embeddings.separation import dbscan_clusters, dbscan_eps, dbscan_min_samples, knn_accuracy, layer_separation
from cellscape.embeddings.umap_embedder import UMAPEmbedder
from cellscape.mda.estimator import MDA
from cellscape.mda.scores import embedding_scores
from cellscape.neighbourhood import fit_neighbours, fit_perplexity


def blobs(n_per_class, n_classes=3, dims=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    return rng.normal(size=(len(labels), dims)) + 4 * labels[:, None], labels


def test_fit_neighbours_keeps_what_the_cells_carry_and_lowers_the_rest():
    assert fit_neighbours(15, 5625) == 15
    assert fit_neighbours(15, 18) == 15          # 17 other cells
    assert fit_neighbours(15, 12) == 11          # a k-NN search among the 11 others
    assert fit_neighbours(15, 18, cells_per_neighbour=2) == 8   # trustworthiness: k < n / 2
    assert fit_neighbours(15, 17, cells_per_neighbour=2) == 8
    assert fit_neighbours(5, 1) == 0 and fit_neighbours(5, 0) == 0
    assert fit_perplexity(30, 5625) == 30
    assert fit_perplexity(30, 19) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="cells_per_neighbour"):
        fit_neighbours(5, 10, cells_per_neighbour=0)


def test_maps_of_a_dozen_cells_use_the_neighbours_they_have_and_say_so():
    X, labels = blobs(4)  # 12 cells
    umap = UMAPEmbedder(n_neighbors=15, n_epochs=50, random_state=0)
    assert umap.fit_transform(X).shape == (12, 2) and umap.n_neighbors_ == 11
    assert fitted_sizes(umap) == {"n_neighbors": {"requested": 15, "used": 11}}
    tsne = TSNEEmbedder(perplexity=30, n_iter=50, early_exaggeration_iter=50)
    assert np.isfinite(tsne.fit_transform(X)).all()
    assert fitted_sizes(tsne) == {"perplexity": {"requested": 30, "used": pytest.approx(11 / 3)}}
    mda = MDA(projection="lfda", projection_dim=2, n_neighbors=15, random_state=0)
    assert mda.fit_transform(X, labels).shape == (12, 2) and mda.n_neighbors_ == 11
    pca = make_embedder("pca")
    pca.fit(X)
    assert fitted_sizes(pca) == {}


def test_neighbours_of_five_cells_are_the_four_others():
    X, _ = blobs(5, n_classes=1)
    neighbours = nearest_neighbours(X, 10)
    assert neighbours.shape == (5, 4)
    assert all(sorted(row) == sorted(set(range(5)) - {i}) for i, row in enumerate(neighbours))


def test_separation_of_eighteen_test_cells_records_the_neighbours_used():
    X, labels = blobs(6)  # 18 cells: 5 folds, each class gives at most 2 cells to a test fold
    Y = X[:, :2]
    rows = layer_separation(X, labels, {"umap": Y}, k=15, trust_neighbors=15)
    assert [row["n_cells"] for row in rows] == [18, 18]
    assert [row["knn_k"] for row in rows] == [12, 12]      # 18 - 3 x 2 training cells at least
    assert [row["trust_k"] for row in rows] == [0, 8]      # features have no trustworthiness
    assert rows[0]["knn_accuracy"] == knn_accuracy(X, labels, k=12)
    assert [row["knn_k"] for row in layer_separation(X, labels, {"umap": Y})] == [5, 5]  # the default fits


@pytest.mark.parametrize("counts, expected", [((2000, 1900, 1875), 10), ((6, 6, 7), 3), ((3, 40), 2)])
def test_dbscan_min_samples_lets_the_smallest_class_form_a_cluster(counts, expected):
    labels = np.repeat(np.arange(len(counts)), counts)
    assert dbscan_min_samples(10, labels) == expected


def two_clusters(n_per_cluster, spread, seed=0):
    """Two round clusters of ``n_per_cluster`` cells, 8 units apart, each of standard deviation ``spread``."""
    rng = np.random.default_rng(seed)
    centres = np.repeat([[0.0, 0.0], [8.0, 0.0]], n_per_cluster, axis=0)
    return centres + rng.normal(scale=spread, size=centres.shape), np.repeat([0, 1], n_per_cluster)


def test_dbscan_eps_lets_a_few_dozen_cells_form_their_clusters():
    Y, truth = two_clusters(10, spread=1.0)
    # the requested radius on 20 cells: every cell is noise (what the fitting is for)
    assert set(dbscan_clusters(Y, eps=0.15, min_samples=3)) == {-1}
    eps = dbscan_eps(0.15, Y, 3)
    assert eps > 0.15
    clusters = dbscan_clusters(Y, eps=eps, min_samples=3)
    assert np.mean(clusters == -1) <= 0.5
    found = clusters[clusters != -1]
    assert len(set(found)) == 2  # the two clusters, and no cluster that mixes them
    assert all(len(set(truth[clusters == c])) == 1 for c in set(found))


def test_dbscan_eps_keeps_the_requested_radius_where_the_cells_are_dense():
    Y, _ = two_clusters(2000, spread=0.3, seed=1)
    assert dbscan_eps(0.15, Y, 10) == 0.15
    assert dbscan_eps(0.15, Y[:3], 10) == 0.15  # fewer cells than min_samples: nothing to measure


def test_map_scores_of_six_cells_fit_their_neighbourhoods():
    X, _ = blobs(6, n_classes=1)
    Y = X[:, :2]
    scores = embedding_scores(X, Y, X[:, 0], n_neighbors=10, k=5)
    # KFold(5) of 6 cells: one fold of 2, so 4 training cells at least; graph among the 5 others;
    # trustworthiness below half of 6
    assert (scores["knn_k"], scores["graph_k"], scores["trust_k"]) == (4, 5, 2)
    assert np.isfinite([scores["geodesic_correlation"], scores["trustworthiness"], scores["knn_rmse"]]).all()
