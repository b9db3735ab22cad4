"""Per-layer dumps and the streamed reductions computed while dumping."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch


from cellscape.embeddings.boundary import DecisionBoundary  # noqa: E402
from cellscape.embeddings.embedders import make_embedder, tsne_with_snapshots  # noqa: E402
from cellscape.embeddings.gridmap import grid_positions, grid_shape, interpolate, scale_to_grid  # noqa: E402
from cellscape.activations.reduce import RandomizedPCA, RandomProjection, StreamingSketch, reduce_streamed  # noqa: E402
from cellscape.embeddings.separation import dbscan_clusters, knn_accuracy, layer_separation  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def low_rank():
    """600 x 3,000 rank-8 matrix (decaying spectrum, offset mean) plus a little noise."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(600, 8)) * np.linspace(10, 3, 8)
    X = scores @ rng.normal(size=(8, 3000)) + 0.05 * rng.normal(size=(600, 3000)) + 5
    return X.astype(np.float32)


def blobs(n=200, d=10, gap=6.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.repeat([0, 1], n // 2)
    X[y == 1, 0] += gap
    return X, y


# ---------------------------------------------------------------------------- reduction

def test_randomized_pca_matches_exact_pca(low_rank):
    from sklearn.decomposition import PCA
    exact = PCA(n_components=6).fit(low_rank)
    randomized = RandomizedPCA(n_components=6, progress=False)
    randomized.fit(low_rank)
    np.testing.assert_allclose(randomized.explained_variance_ratio_, exact.explained_variance_ratio_, rtol=0.01)
    # same subspace: principal angles ~ 0
    overlap = np.linalg.svd(randomized.components_ @ exact.components_.T, compute_uv=False)
    assert overlap.min() > 0.999


def test_streaming_from_file_equals_in_memory(low_rank, tmp_path):
    path = tmp_path / "features.npy"
    np.save(path, low_rank)
    in_memory = RandomizedPCA(n_components=5, batch_rows=600, progress=False).fit_transform(low_rank)
    from_file = RandomizedPCA(n_components=5, batch_rows=77, progress=False).fit_transform(path)
    from_memmap = reduce_streamed(np.load(path, mmap_mode="r"), "rpca", k=5, batch_rows=50, progress=False)
    scale = np.abs(in_memory).max()
    assert np.abs(from_file - in_memory).max() < 1e-3 * scale
    assert np.abs(from_memmap - in_memory).max() < 1e-3 * scale


def test_transform_reproduces_fit_scores(low_rank):
    pca = RandomizedPCA(n_components=5, progress=False)
    scores = pca.fit_transform(low_rank)
    assert np.abs(pca.transform(low_rank) - scores).max() < 1e-3 * np.abs(scores).max()


def test_single_pass_sketch_finds_the_principal_subspace(low_rank):
    from sklearn.decomposition import PCA
    exact = PCA(n_components=6).fit(low_rank)
    sketch = StreamingSketch(low_rank.shape[1], n_components=6)
    for start in range(0, len(low_rank), 128):
        sketch.update(low_rank[start:start + 128])
    scores = sketch.finalize()
    assert scores.shape == (600, 6)
    np.testing.assert_allclose(sketch.explained_variance_ratio_, exact.explained_variance_ratio_, rtol=0.02)


@pytest.fixture(scope="module")
def tiny_net_and_images():
    from cellscape.model.network import build_model
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[4], [8]], "dense": [8]}, 16, 2).eval()
    images = np.random.default_rng(1).random((48, 2, 16, 16), dtype=np.float32)
    return model, images


def test_dump_writes_the_selected_rows_in_selection_order(tiny_net_and_images, tmp_path):
    from cellscape.activations.dump import dump_layer
    from cellscape.featvis.render import capture_activations
    model, images = tiny_net_and_images
    rows = np.random.default_rng(2).permutation(48)[:30]
    width = dump_layer(model, images, rows, "conv2", tmp_path / "f.npy", dtype="float32", batch_size=7)
    dumped = np.load(tmp_path / "f.npy")
    with torch.no_grad(), capture_activations(model, ["conv2"]) as run:
        expected = run(torch.from_numpy(images[rows]))["conv2"].flatten(1).numpy()
    assert width == 8 * 8 * 8 and dumped.shape == (30, width)
    np.testing.assert_allclose(dumped, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["projection_pca", "sketch", "random_projection"])
def test_reducing_while_dumping_equals_reducing_the_dump(tiny_net_and_images, tmp_path, method):
    """The online reduction sees the same batches as a pass over the finished float32 dump."""
    from cellscape.activations.dump import dump_and_reduce
    model, images = tiny_net_and_images
    rows = np.arange(48)
    online = dump_and_reduce(model, images, rows, "conv1", tmp_path / "f.npy", method, k=6, seed=3,
                             dtype="float32", batch_size=16)
    offline = reduce_streamed(tmp_path / "f.npy", method, k=6, seed=3, batch_rows=16, progress=False)
    assert online.shape == (48, 6) and online.dtype == np.float32
    np.testing.assert_allclose(online, offline, rtol=1e-3, atol=1e-3 * np.abs(offline).max())


def test_layers_narrower_than_k_are_kept_as_dumped(tiny_net_and_images, tmp_path):
    from cellscape.activations.dump import dump_and_reduce
    model, images = tiny_net_and_images
    reduced = dump_and_reduce(model, images, np.arange(48), "dense2", tmp_path / "f.npy", "projection_pca", k=50,
                              dtype="float32", batch_size=10)
    np.testing.assert_array_equal(reduced, np.load(tmp_path / "f.npy"))


def test_multi_pass_rpca_cannot_run_online():
    from cellscape.activations.reduce import OnlineReduction
    with pytest.raises(ValueError, match="cannot run while dumping"):
        OnlineReduction("rpca")


def test_projection_pca_keeps_the_principal_scores(low_rank):
    """One pass, batch by batch: the scores span the exact PCA's leading score subspace."""
    from sklearn.decomposition import PCA
    from cellscape.activations.reduce import ProjectionPCA
    exact = PCA(n_components=8).fit_transform(low_rank)  # the signal's rank: a gap after it
    projected = ProjectionPCA(low_rank.shape[1], n_components=8, sketch_dim=256)
    for start in range(0, len(low_rank), 100):
        projected.update(low_rank[start:start + 100])
    scores = projected.finalize()
    assert scores.shape == (600, 8)
    q_exact, q_ours = np.linalg.qr(exact)[0], np.linalg.qr(scores)[0]
    assert np.linalg.svd(q_exact.T @ q_ours, compute_uv=False).min() > 0.99  # principal angles ~ 0
    # distances between cells, what the embeddings use, are kept to within a few percent
    from scipy.spatial.distance import pdist
    ratio = pdist(scores) / pdist(exact)
    assert abs(np.median(ratio) - 1) < 0.05 and np.percentile(ratio, 99) < 1.15


def test_random_projection_preserves_distances_and_works_batchwise():
    from scipy.spatial.distance import pdist
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 5000)).astype(np.float32)
    projection = RandomProjection(n_components=400, random_state=0).partial_fit(X[:10])
    Z = np.vstack([projection.transform(X[i:i + 30]) for i in range(0, 100, 30)])
    ratio = pdist(Z) / pdist(X)
    assert abs(np.median(ratio) - 1) < 0.05
    assert ratio.min() > 0.75 and ratio.max() < 1.25
    np.testing.assert_allclose(Z, RandomProjection(400, random_state=0).fit_transform(X), rtol=1e-5, atol=1e-4)


