"""Per-layer dumps and the streamed reductions computed while dumping."""
from pathlib import Path

import numpy as np
import pytest
import torch


from cellscape.activations.reduce import RandomizedPCA, RandomProjection, StreamingSketch, reduce_streamed  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:n_jobs value")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def low_rank():
    """600 x 3,000 rank-8 matrix (decaying spectrum, offset mean) plus a little noise."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(600, 8)) * np.linspace(10, 3, 8)
    X = scores @ rng.normal(size=(8, 3000)) + 0.05 * rng.normal(size=(600, 3000)) + 5
    return X.astype(np.float32)


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
    sketch = StreamingSketch(n_components=6)
    for start in range(0, len(low_rank), 128):
        sketch.partial_fit(low_rank[start:start + 128])
    scores = sketch.embedding_
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


@pytest.mark.parametrize("method", ["projection_pca", "rpca"])
def test_one_pass_over_every_layer_equals_one_job_per_layer(tiny_net_and_images, tmp_path, method):
    """make layer rebuilds one layer's dump alone: its files must be those the one-pass job wrote."""
    from cellscape.activations.dump import dump_and_reduce, dump_and_reduce_layers
    model, images = tiny_net_and_images
    rows = np.random.default_rng(4).permutation(48)[:40]
    layers = ["conv1", "conv2", "dense1", "dense2"]
    together = dump_and_reduce_layers(model, images, rows, {layer: tmp_path / f"all_{layer}.npy" for layer in layers},
                                      method, k=5, seed=2, batch_size=16)
    for layer in layers:
        alone = dump_and_reduce(model, images, rows, layer, tmp_path / f"one_{layer}.npy", method, k=5, seed=2,
                                batch_size=16)
        np.testing.assert_array_equal(np.load(tmp_path / f"all_{layer}.npy"), np.load(tmp_path / f"one_{layer}.npy"))
        np.testing.assert_array_equal(together[layer], alone)
        assert together[layer].shape == (40, min(5, alone.shape[1]))


def test_one_pass_runs_the_network_once(tiny_net_and_images, tmp_path):
    from cellscape.activations.dump import dump_layers
    model, images = tiny_net_and_images
    calls = []
    handle = model.layer("conv1").register_forward_hook(lambda *args: calls.append(1))
    try:
        dump_layers(model, images, np.arange(48), {layer: tmp_path / f"{layer}.npy" for layer in ("conv1", "dense2")},
                    batch_size=16)
    finally:
        handle.remove()
    assert len(calls) == 3  # one forward pass per batch of 16, for both layers


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
    projected = ProjectionPCA(n_components=8, sketch_dim=256)
    for start in range(0, len(low_rank), 100):
        projected.partial_fit(low_rank[start:start + 100])
    scores = projected.embedding_
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


# ---------------------------------------------------------------------------- scikit-learn's face, registry

REDUCTION_NAMES = ["projection_pca", "rpca", "sketch", "random_projection", "none"]  # the config's names
STREAMING = ["projection_pca", "sketch", "random_projection", "none"]


def reducer(name):
    """Each reducer with hyper-parameters off their defaults, so equal get_params means something."""
    from cellscape.activations.reduce import NoReduction, ProjectionPCA
    return {"rpca": RandomizedPCA(n_components=5, oversample=6, n_iter=1, batch_rows=64, random_state=4,
                                  progress=False),
            "sketch": StreamingSketch(n_components=5, oversample=6, random_state=4, batch_rows=64),
            "projection_pca": ProjectionPCA(n_components=5, sketch_dim=64, random_state=4, batch_rows=64),
            "random_projection": RandomProjection(n_components=5, random_state=4, batch_rows=64),
            "none": NoReduction(batch_rows=64)}[name]


@pytest.mark.parametrize("name", REDUCTION_NAMES)
def test_reducers_take_explicit_parameters_stored_as_given(name):
    import inspect
    from sklearn.base import BaseEstimator, TransformerMixin
    from sklearn.utils.estimator_checks import check_no_attributes_set_in_init
    cls = type(reducer(name))
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert parameters and all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters)  # no *args, **kwargs
    assert issubclass(cls, BaseEstimator) and issubclass(cls, TransformerMixin)
    check_no_attributes_set_in_init(cls.__name__, cls())  # __init__ stores its arguments and nothing else
    assert hasattr(cls, "partial_fit") == (name in STREAMING)


@pytest.mark.parametrize("name", REDUCTION_NAMES)
def test_a_clone_of_a_reducer_is_unfitted_and_refits_to_the_same_result(low_rank, name):
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted
    original = reducer(name)
    reduced = original.fit_transform(low_rank)
    assert reduced.shape == (600, 3000 if name == "none" else 5) and reduced.dtype == np.float32
    copy = clone(original)
    assert copy.get_params() == original.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    assert not hasattr(copy, "embedding_")
    np.testing.assert_array_equal(copy.fit_transform(low_rank), reduced)
    np.testing.assert_array_equal(original.embedding_, reduced)


@pytest.mark.parametrize("name", STREAMING)
def test_partial_fit_over_fits_blocks_gives_fits_result(low_rank, name):
    """Fed the blocks fit reads (batch_rows=64), block by block: the same result to the bit, and
    the fitted attributes follow the rows seen after every block."""
    from sklearn.base import clone
    fitted = reducer(name).fit(low_rank)
    streamed = clone(fitted)
    for start in range(0, 600, 64):
        streamed.partial_fit(low_rank[start:start + 64])
        assert streamed.embedding_.shape[0] == streamed.n_samples_seen_ == min(start + 64, 600)
    np.testing.assert_array_equal(streamed.embedding_, fitted.embedding_)
    for attribute in ("components_", "mean_", "explained_variance_ratio_", "sketch_components_"):
        if hasattr(fitted, attribute):
            np.testing.assert_array_equal(np.asarray(getattr(streamed, attribute)),
                                          np.asarray(getattr(fitted, attribute)))


@pytest.mark.parametrize("name", ["projection_pca", "random_projection", "none"])
def test_partial_fit_cut_differently_matches_fit(low_rank, name):
    """Where the algorithm allows (not the Tropp sketch, whose Psi is drawn block by block), any
    cut of the rows gives fit's result up to rounding."""
    from sklearn.base import clone
    fitted = reducer(name).fit(low_rank)
    streamed = clone(fitted)
    for start, stop in [(0, 1), (1, 38), (38, 300), (300, 600)]:
        streamed.partial_fit(low_rank[start:stop])
    scale = np.abs(fitted.embedding_).max()
    np.testing.assert_allclose(streamed.embedding_, fitted.embedding_, rtol=1e-4, atol=1e-4 * scale)


@pytest.mark.parametrize("name, tolerance", [("projection_pca", 2e-3), ("sketch", 3e-2)])
def test_transform_places_the_fitted_rows_at_their_scores(low_rank, name, tolerance):
    """Up to rounding for the projection PCA (its scores are the sketch's exact PCA); the Tropp
    sketch's scores Q U S and its components are two approximations that agree to ~1%."""
    fitted = reducer(name)
    scores = fitted.fit_transform(low_rank)
    placed = fitted.transform(low_rank[:50])
    assert placed.shape == (50, 5)
    np.testing.assert_allclose(placed, scores[:50], atol=tolerance * np.abs(scores).max())


def test_sketch_transform_projects_the_centred_rows_onto_its_components(low_rank):
    sketch = reducer("sketch").fit(low_rank)
    np.testing.assert_allclose(sketch.mean_, low_rank.astype(np.float64).mean(0), rtol=1e-5, atol=1e-4)
    expected = (low_rank[:50].astype(np.float64) - low_rank.astype(np.float64).mean(0)) @ sketch.components_.T
    np.testing.assert_allclose(sketch.transform(low_rank[:50]), expected, rtol=1e-4, atol=1e-3)


def test_partial_fit_rejects_a_block_of_another_width(low_rank):
    streamed = reducer("projection_pca").partial_fit(low_rank[:10])
    with pytest.raises(ValueError, match="X has 2999 features, ProjectionPCA expects 3000"):
        streamed.partial_fit(low_rank[10:20, 1:])


def test_the_registry_has_the_configs_names_and_rejects_others():
    import yaml
    from cellscape.activations.reduce import REDUCERS, NoReduction, make_reducer
    schema = yaml.safe_load((Path(__file__).parents[2] / "schemas" / "config.schema.yaml").read_text())
    assert set(schema["properties"]["activations"]["properties"]["reduction"]["enum"]) == set(REDUCTION_NAMES)
    assert set(REDUCERS) == set(REDUCTION_NAMES)
    made = make_reducer("sketch", 7, 3)
    assert isinstance(made, StreamingSketch) and (made.n_components, made.random_state) == (7, 3)
    assert isinstance(make_reducer("rpca", 10, n_features=8), NoReduction)  # narrower than k: kept as is
    assert isinstance(make_reducer("rpca", 10, n_features=11), RandomizedPCA)
    with pytest.raises(ValueError) as error:
        make_reducer("pca", 5)
    assert "unknown reduction 'pca'" in str(error.value)
    assert all(name in str(error.value) for name in REDUCTION_NAMES)


def test_an_unknown_reduction_is_rejected_before_dumping(tiny_net_and_images, tmp_path):
    from cellscape.activations.dump import dump_and_reduce
    model, images = tiny_net_and_images
    with pytest.raises(ValueError, match="unknown reduction 'pca'; choose from projection_pca, rpca"):
        dump_and_reduce(model, images, np.arange(8), "conv1", tmp_path / "f.npy", "pca", k=6, dtype="float32")
    assert not list(tmp_path.iterdir())
