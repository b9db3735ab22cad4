"""Feature-image figures' algorithms: channel selection and job slots, NMF neuron groups, cluster
direction weights and the render driver."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn


from cellscape.model.architecture import ArchitectureError, layer_shapes, resolve_layer  # noqa: E402
from cellscape.featvis.cluster_directions import (channel_means, cluster_weights, drawable_clusters,  # noqa: E402
                                        largest_clusters)
from cellscape.featvis.channel_order import channel_order  # noqa: E402
from cellscape.plan.featvis import chunk_ids, chunk_slots, figure_layers, forward_flops, render_counts  # noqa: E402
from cellscape.figures.featvis_figures import grid_mosaic  # noqa: E402
from cellscape.model.network import build_model  # noqa: E402
from support.attribution_data import lit_tiny_model  # noqa: E402
from cellscape.featvis.nmf_groups import NeuronGroups  # noqa: E402
from cellscape.data.channels import display, resolve_channels  # noqa: E402

torch.set_num_threads(1)
TINY_MODEL = {"conv_stages": [[4], [8]], "dense": [8], "dropout": 0.0}
SIZE = 16


@pytest.fixture
def tiny_model():
    return lit_tiny_model(TINY_MODEL, SIZE)


@pytest.fixture
def featvis_cfg(default_config):
    return default_config["featvis"]


def conv_channels(model_cfg, image_size=78):
    return {s.name: s.channels for s in layer_shapes(model_cfg, image_size, 2) if s.kind == "conv"}


# --- which channels each job renders ------------------------------------------------------

def test_channel_order_starts_with_most_active_and_puts_dead_channels_last():
    rng = np.random.default_rng(0)
    profiles = rng.gamma(2.0, size=(50, 6))
    profiles[:, 3] *= 5  # the most active channel
    profiles[:, 1] = 0.0  # dead: never fires
    order = channel_order(profiles)
    assert sorted(order.tolist()) == list(range(6))
    assert order[0] == 3
    assert order[-1] == 1


def test_channel_order_prefers_a_channel_unlike_those_already_chosen():
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, size=(3, 200))
    profiles = np.stack([
        5 * base[0],  # 0: the most active
        base[1],  # 1: unrelated to 0
        base[1] + 1e-3 * rng.random(200),  # 2: a copy of 1, as far from 0 as 1 is
        base[2] + 0.4 * base[0],  # 3: partly like 0, unlike 1 and 2
    ], axis=1)
    order = channel_order(profiles).tolist()
    assert order[0] == 0
    assert order[1] in (1, 2)
    assert order[2] == 3  # farther from everything chosen than the copy of order[1]


def test_shown_renders_only_what_figures_show_and_all_renders_every_channel(featvis_cfg):
    channels = conv_channels({"conv_stages": [[32, 32], [64, 64], [128] * 3, [256] * 3], "dense": [256]})
    shown = render_counts(featvis_cfg, channels)
    assert shown["conv4"] == channels["conv4"]  # Fig. 15 shows the whole grid layer
    assert shown["conv2"] == featvis_cfg["neuron_channels"]
    assert shown["conv7"] == featvis_cfg["overview_channels"]
    assert sum(shown.values()) < sum(channels.values()) / 5
    assert render_counts({**featvis_cfg, "channels": "all"}, channels) == channels


def test_figure_layers_fall_back_to_layers_the_network_has(featvis_cfg):
    tiny = list(conv_channels({"conv_stages": [[8, 8], [16, 16], [32, 32]], "dense": [32]}))
    assert figure_layers(featvis_cfg, tiny)["clusters"] == ["conv3", "conv6"]  # conv9 -> nearest
    three = ["conv1", "conv2", "conv3"]
    notes = []
    layers = figure_layers(featvis_cfg, three, notes)
    assert layers["evolution"] == layers["grid"] == "conv3"  # conv4 missing -> nearest
    assert any("featvis.grid_layer" in note and "conv4" in note for note in notes), notes
    assert figure_layers({**featvis_cfg, "cluster_layers": ["conv5", "conv9"]}, three)["clusters"] == ["conv3"]


def test_one_policy_for_a_layer_the_network_lacks():
    layers = ["conv1", "conv2", "conv3", "dense1", "dense2"]
    notes = []
    assert resolve_layer("conv9", layers, "k", notes) == "conv3"
    assert resolve_layer("dense4", layers, "k", notes) == "dense2"
    assert resolve_layer("conv2", layers, "k", notes) == "conv2"
    assert len(notes) == 2 and "conv9" in notes[0] and "using conv3" in notes[0]
    with pytest.raises(ArchitectureError, match="no dense layers"):
        resolve_layer("dense1", ["conv1"], "k")
    with pytest.raises(ArchitectureError, match="not a layer name"):
        resolve_layer("pool1", layers, "k")


@pytest.mark.parametrize("n,chunk_size", [(64, 64), (64, 16), (70, 16), (3, 16), (1, 1)])
def test_chunk_slots_cover_every_channel_position_once(n, chunk_size):
    covered = []
    for chunk in chunk_ids(n, chunk_size):
        start, stop = chunk_slots(chunk, chunk_size, n)
        assert 0 < stop - start <= chunk_size
        covered.extend(range(start, stop))
    assert covered == list(range(n))
    with pytest.raises(ValueError):
        chunk_slots(len(chunk_ids(n, chunk_size)), chunk_size, n)


def test_forward_flops_match_torch_flop_counter(tiny_model):
    from torch.utils.flop_counter import FlopCounterMode
    shapes = layer_shapes(TINY_MODEL, SIZE, 2)
    with FlopCounterMode(display=False) as counter:
        tiny_model(torch.zeros(1, 2, SIZE, SIZE))
    assert forward_flops(shapes, shapes[-1].name) == counter.get_total_flops()
    assert forward_flops(shapes, "conv1") < forward_flops(shapes, "conv2") < forward_flops(shapes, "dense1")


# --- NMF neuron groups --------------------------------------------------------------------

def test_neuron_groups_recover_channel_groups_that_fire_in_separate_places():
    rng = np.random.default_rng(0)
    c, h, w, k = 12, 10, 10, 3
    true_weights = np.zeros((k, c))
    spatial = np.zeros((k, h, w))
    for g in range(k):
        true_weights[g, 4 * g:4 * g + 4] = rng.uniform(0.5, 1.0, 4)
        spatial[g, :, 3 * g:3 * g + 3] = (g + 1) * rng.uniform(0.5, 1.0, (h, 3))
    tensor = np.einsum("kc,khw->chw", true_weights, spatial)
    groups = NeuronGroups(n_groups=k, random_state=0).fit(tensor)
    assert groups.reconstruction_error_ < 0.01
    np.testing.assert_allclose(np.linalg.norm(groups.channel_weights_, axis=1), 1.0, rtol=1e-6)
    truth = true_weights / np.linalg.norm(true_weights, axis=1, keepdims=True)
    cosine = groups.channel_weights_ @ truth.T
    assert np.all(cosine.max(axis=1) > 0.99)
    assert sorted(cosine.argmax(axis=1).tolist()) == list(range(k))
    totals = groups.spatial_.reshape(k, -1).sum(axis=1)
    assert np.all(np.diff(totals) <= 0)  # largest group first
    np.testing.assert_allclose(np.einsum("kc,khw->chw", groups.channel_weights_, groups.spatial_),
                               tensor, atol=0.02 * tensor.max())


def test_neuron_groups_reject_a_tensor_with_negative_values():
    with pytest.raises(ValueError, match="non-negative"):
        NeuronGroups(2).fit(-np.ones((3, 4, 4)))


# --- cluster directions -------------------------------------------------------------------

def test_channel_means_average_each_channel_of_flattened_features():
    rng = np.random.default_rng(0)
    tensors = rng.random((7, 3, 4, 5)).astype(np.float16)
    means = channel_means(tensors.reshape(7, -1), 3, batch_rows=3)
    np.testing.assert_allclose(means, tensors.astype(np.float32).mean(axis=(2, 3)), rtol=1e-5)


def test_cluster_weights_point_at_channels_raised_in_the_cluster():
    rng = np.random.default_rng(0)
    means = rng.normal(1.0, 0.1, size=(300, 6))
    labels = np.repeat([0, 1, -1], 100)
    means[labels == 0, 2] += 1.0  # cluster 0: channel 2 up
    means[labels == 0, 4] -= 1.0  # and channel 4 down (must not count)
    means[labels == 1, 5] += 0.5  # cluster 1: channel 5 up
    means[:, 3] = 2.0  # constant channel: no spread, no weight
    ids, weights = cluster_weights(means, labels)
    assert ids.tolist() == [0, 1]
    np.testing.assert_allclose(np.linalg.norm(weights, axis=1), 1.0)
    assert weights[0].argmax() == 2 and weights[1].argmax() == 5
    assert weights[0, 4] == 0 and np.all(weights[:, 3] == 0) and np.all(weights >= 0)
    # the weights are ReLU((median_cluster - median_all) / sd_all), rescaled
    raw = np.maximum((np.median(means[labels == 1], 0) - np.median(means, 0)) / np.where(
        means.std(0) > 0, means.std(0), np.inf), 0)
    np.testing.assert_allclose(weights[1], raw / np.linalg.norm(raw))


def test_drawable_clusters_are_the_largest_with_a_direction():
    labels = np.array([0] * 5 + [1] * 9 + [2] * 7 + [-1] * 20)
    ids = np.array([0, 1, 2])
    weights = np.array([[1.0, 0.0], [0.0, 0.0], [0.6, 0.8]])  # cluster 1 has no direction
    assert largest_clusters(labels, 2).tolist() == [1, 2]
    assert ids[drawable_clusters(labels, ids, weights, 5)].tolist() == [2, 0]
    assert ids[drawable_clusters(labels, ids, weights, 1)].tolist() == [2]


# --- render driver and figures ------------------------------------------------------------

def test_render_channels_raise_each_channels_activation_and_repeat_exactly(tiny_model, featvis_cfg):
    from cellscape.featvis.tasks import channel_activation, render_channels
    cfg = {**featvis_cfg, "steps": 24, "plateau_stop": False, "channels_last": False}
    first = render_channels(tiny_model, "conv2", [1, 5], cfg, SIZE, seed=3, device="cpu")
    again = render_channels(tiny_model, "conv2", [1, 5], cfg, SIZE, seed=3, device="cpu")
    np.testing.assert_array_equal(first["images"], again["images"])
    assert first["images"].shape == first["filtered"].shape == (2, 2, SIZE, SIZE)
    grey = np.full((2, 2, SIZE, SIZE), 0.5, dtype=np.float32)
    before = channel_activation(tiny_model, "conv2", [1, 5], grey, "cpu")
    np.testing.assert_allclose(first["objective"], channel_activation(tiny_model, "conv2", [1, 5],
                                                                      first["images"], "cpu"), rtol=1e-4)
    assert np.all(first["objective"] > before)
    assert np.all(np.abs(first["feedback"]) <= 1)


def test_grid_mosaic_puts_each_tile_in_its_cell():
    images = np.zeros((2, 2, 3, 3), dtype=np.float32)
    images[0, 0] = 1.0  # red tile
    images[1, 1] = 1.0  # green tile
    two = display(resolve_channels({}))  # red, green
    canvas = grid_mosaic(images, np.array([[1, 0], [0, 1]]), two, gap=1)
    assert canvas.shape == (7, 7, 3)
    assert np.all(canvas[0:3, 4:7] == [1, 0, 0]) and np.all(canvas[4:7, 0:3] == [0, 1, 0])
    assert np.all(canvas[0:3, 0:3] == 1.0)  # unused cell stays white
    flipped = grid_mosaic(images, np.array([[1, 0], [0, 1]]), two, gap=1, flip_y=True)
    assert np.all(flipped[4:7, 4:7] == [1, 0, 0]) and np.all(flipped[0:3, 0:3] == [0, 1, 0])


def test_example_cells_are_the_most_confident_correct_test_cells_of_each_class():
    from cellscape.featvis.tasks import example_cells
    table = pd.DataFrame({"row": range(6), "split": ["test"] * 5 + ["train"], "label": [0, 0, 1, 1, 1, 0],
                          "predicted_label": [0, 0, 0, 1, 1, 0], "certainty": [0.6, 0.9, 0.99, 0.7, 0.8, 1.0]})
    assert example_cells(table, 1)["row"].tolist() == [1, 4]
    assert example_cells(table, 2)["row"].tolist() == [1, 0, 4, 3]


def test_job_plan_lists_each_layers_chunks_and_scales_resources_with_attempt(featvis_cfg):
    from types import SimpleNamespace

    from cellscape.plan.featvis import FeatvisJobs
    model_cfg = {"conv_stages": [[8, 8], [16, 16], [32, 32]], "dense": [32]}
    jobs = FeatvisJobs({**featvis_cfg, "chunk_size": 5}, layer_shapes(model_cfg, 78, 2), "fv")
    assert jobs.counts["conv4"] == 16
    files = jobs.chunk_files(SimpleNamespace(layer="conv4"))
    assert files == [f"fv/conv4/chunk{k}.npz" for k in range(4)]
    last = SimpleNamespace(layer="conv4", chunk="3")
    assert jobs.slots(last) == (15, 16)
    # the work follows the channels a chunk renders and the layer's depth
    assert jobs.job_gflop("featvis_chunk", SimpleNamespace(layer="conv4", chunk="0")) == pytest.approx(
        5 * jobs.job_gflop("featvis_chunk", last))
    assert jobs.render_gflop("conv6", 1, 1) > jobs.render_gflop("conv1", 1, 1)
    assert jobs.mem_mb(last, 2) == 2 * jobs.mem_mb(last, 1)
    assert jobs.mem_mb(SimpleNamespace(layer="conv6"), 1) > jobs.mem_mb(SimpleNamespace(layer="conv1"), 1)
