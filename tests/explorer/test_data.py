"""The explorer's data files (docs/explorer.md), decoded the way the page decodes them."""
import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.browser import assigned, packed_planes, sprite_cell  # noqa: E402
from support.demo import FOUR_CHANNELS, SMALL_MODEL, cell_knowledge, fabricate_inputs, simulated_cells  # noqa: E402
from cellscape.activations.selection import misclassified_first  # noqa: E402
from cellscape.embeddings.neighbours import kept_neighbours, nearest_neighbours, same_class_share  # noqa: E402
from cellscape.explorer import build_explorer, unit_square_probabilities  # noqa: E402
from cellscape.explorer.cells import aligned_coordinates  # noqa: E402
from cellscape.explorer.feature_store import (angular_similarity, average_pool, dequantise_components,  # noqa: E402
                                              feature_store)
from cellscape.explorer.featuremaps import gallery_top_cells, stored_feature_maps  # noqa: E402
from cellscape.model.hooks import layer_batches, layer_outputs  # noqa: E402
from cellscape.model.network import build_model  # noqa: E402

torch.set_num_threads(1)


def page_ids(out):
    """The page's cell table: ids in index order (the builder orders them along a map)."""
    return assigned(Path(out) / "data/cells.js")[1]["ids"]


def decoded(b64, dtype):
    return np.frombuffer(base64.b64decode(b64), dtype=np.dtype(dtype).newbyteorder("<"))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    inputs, model = fabricate_inputs(n_cells=90, model_cfg=SMALL_MODEL, n_ifealid=30, n_attribution=6,
                                     cells_per_tile=32, seed=1)
    out = tmp_path_factory.mktemp("explorer") / "explorer"
    sizes = build_explorer(out, **inputs)
    return out, inputs, model, sizes


# ----------------------------------------------------------------------------- neighbours

def test_nearest_neighbours_equal_a_brute_force_search_and_never_list_the_cell():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    got = nearest_neighbours(X, 7)
    d = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    expected = np.argsort(d, axis=1)[:, :7]
    assert (got == expected).all()


def test_duplicated_cells_do_not_list_themselves():
    X = np.repeat(np.arange(10.0)[:, None], 3, axis=0)  # every point three times
    got = nearest_neighbours(X, 4)
    assert not (got == np.arange(len(X))[:, None]).any()
    same = X[got][..., 0] == X[:, :1]
    assert same[:, :2].all()  # its two copies come first


def test_approximate_search_beyond_the_exact_limit_finds_most_true_neighbours(monkeypatch):
    import cellscape.embeddings.neighbours as nb
    rng = np.random.default_rng(1)
    X = rng.normal(size=(1500, 8)).astype(np.float32)
    exact = nearest_neighbours(X, 10)
    monkeypatch.setattr(nb, "EXACT_LIMIT", 100)
    approx = nearest_neighbours(X, 10)
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(exact, approx)])
    assert recall > 0.9 and not (approx == np.arange(len(X))[:, None]).any()


def test_kept_neighbours_and_same_class_share_count_by_hand():
    before = np.array([[1, 2, 3], [0, 2, 3]])
    after = np.array([[3, 2, 0], [1, 3, 2]])
    assert kept_neighbours(before, after).tolist() == [2, 2]
    neighbours = np.array([[1, 2], [0, 3], [3, 0], [2, 1]])
    labels = np.array([0, 0, 1, 1])
    assert same_class_share(neighbours, labels).tolist() == [0.5, 0.5, 0.5, 0.5]
    assert same_class_share(np.array([[1], [0], [3], [2]]), labels).tolist() == [1, 1, 1, 1]


# ----------------------------------------------------------------------------- capped sets

def test_misclassified_first_keeps_every_mistake_then_samples_the_classes():
    rng = np.random.default_rng(0)
    n = 400
    label = rng.integers(0, 2, n)
    predicted = np.where(rng.random(n) < 0.1, 1 - label, label)
    cells = pd.DataFrame({"id": [f"c{i}" for i in range(n)], "class": label, "label": label,
                          "predicted_label": predicted, "certainty": rng.uniform(0.5, 1, n)})
    chosen = misclassified_first(cells, 100, seed=0)
    wrong = np.flatnonzero(label != predicted)
    assert len(chosen) == 100 and set(wrong) <= set(chosen) and (np.diff(chosen) > 0).all()
    right = np.setdiff1d(chosen, wrong)
    assert abs(np.mean(label[right]) - np.mean(label[label == predicted])) < 0.1
    few = misclassified_first(cells, 5, seed=0)  # cap below the mistakes: the surest mistakes
    surest = wrong[np.argsort(-cells["certainty"].to_numpy()[wrong])][:5]
    assert sorted(few) == sorted(surest)
    assert len(misclassified_first(cells, None, 0)) == n


# ----------------------------------------------------------------------------- feature store

def test_average_pool_takes_block_means_and_partial_edge_blocks():
    maps = np.arange(1 * 1 * 5 * 5, dtype=np.float32).reshape(1, 1, 5, 5)
    pooled = average_pool(maps, 2)
    assert pooled.shape == (1, 1, 3, 3)
    assert pooled[0, 0, 0, 0] == np.mean([0, 1, 5, 6])
    assert pooled[0, 0, 2, 2] == 24  # the corner block holds one value
    assert pooled[0, 0, 0, 2] == np.mean([4, 9])


def test_stored_similarity_maps_follow_the_full_feature_vectors():
    """IFeaLiD on the stored K-component vectors against IFeaLiD on the full conv vectors
    (random-weights network, simulated cells): the heat maps agree within and between cells."""
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[32, 32], [64]], "dense": [8], "dropout": 0.25}, 78, 2).eval()
    images, _ = simulated_cells(12, 78, seed=3)
    layers = ["conv2", "conv3"]
    store = feature_store(lambda: layer_batches(model, images, layers, batch_size=4), layers, len(images),
                          components=8, max_size=40)
    full = layer_outputs(model, images, layers)
    for layer in layers:
        entry = store[layer]
        vectors = dequantise_components(entry["codes"], entry["low"], entry["high"])
        exact = np.moveaxis(average_pool(full[layer], 2 if full[layer].shape[2] > 40 else 1), 1, -1)
        assert vectors.shape[:3] == exact.shape[:3] and vectors.shape[-1] == 8
        assert 0.5 < entry["energy"] <= 1.0
        for cell in range(0, 12, 3):
            norms = np.linalg.norm(exact[cell], axis=-1)
            y, x = np.unravel_index(np.argmax(norms), norms.shape)
            for other in (cell, (cell + 1) % 12):  # within the cell and between two cells
                a = angular_similarity(vectors[other], vectors[cell, y, x])
                b = angular_similarity(exact[other], exact[cell, y, x])
                live = np.linalg.norm(exact[other], axis=-1) > 0
                assert np.corrcoef(a[live], b[live])[0, 1] > 0.9, (layer, cell, other)


def shuffled_cells(n_images, shown, seed):
    """A cell table over ``shown`` of ``n_images`` image rows, in a random order, a third misclassified."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(n_images)[:shown]
    label = rng.integers(0, 2, shown)
    predicted = np.where(np.arange(shown) % 3 == 0, 1 - label, label)
    return pd.DataFrame({"id": [f"img{r}" for r in rows], "row": rows, "class": label, "label": label,
                         "predicted_label": predicted, "certainty": rng.uniform(0.5, 1, shown)})


def test_stored_feature_maps_hold_the_picked_cells_own_maps_in_their_order():
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[8], [16]], "dense": [8], "dropout": 0.25}, 48, 2).eval()
    images, _ = simulated_cells(12, 48, seed=4)
    cells = shuffled_cells(12, 9, seed=1)
    store, positions = stored_feature_maps(model, images, cells, ["conv2"], max_cells=6, seed=0, components=4)
    wrong = np.flatnonzero(cells["label"] != cells["predicted_label"])
    assert len(positions) == 6 and set(wrong) <= set(positions) and (np.diff(positions) > 0).all()
    norms = np.linalg.norm(dequantise_components(store["conv2"]["codes"], store["conv2"]["low"],
                                                 store["conv2"]["high"]), axis=-1)  # (6, h, w)
    exact = np.linalg.norm(layer_outputs(model, images, ["conv2"])["conv2"], axis=1)  # (12, h, w) per image row
    assert norms.shape == (6, *exact.shape[1:])
    for j, p in enumerate(positions):  # each stored cell's map matches its own image best
        match = [np.corrcoef(norms[j].ravel(), exact[r].ravel())[0, 1] for r in cells["row"]]
        assert int(np.argmax(match)) == p and match[p] > 0.9, (j, match)


def test_gallery_top_cells_are_the_shown_cells_with_the_highest_mean_activation_by_id():
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[8], [16]], "dense": [8], "dropout": 0.25}, 48, 2).eval()
    images, _ = simulated_cells(12, 48, seed=5)
    cells = shuffled_cells(12, 9, seed=2)  # 9 of the 12 images, in a shuffled order
    top = gallery_top_cells(model, images, cells, ["conv1", "conv2"], k=3)
    full = layer_outputs(model, images, ["conv1", "conv2"])
    for layer in ("conv1", "conv2"):
        mean = full[layer].mean(axis=(2, 3))  # (12 image rows, C)
        assert top[layer].shape == (mean.shape[1], 3)
        for c in range(mean.shape[1]):
            shown = sorted(cells["row"], key=lambda r: (-mean[r, c], r))  # ties: lower row first
            assert top[layer][c].tolist() == [f"img{r}" for r in shown[:3]], (layer, c)


def test_angular_similarity_is_one_at_the_reference_and_zero_for_zero_vectors():
    v = np.array([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [1.0, 1.0]]])
    s = angular_similarity(v, np.array([1.0, 0.0]))
    np.testing.assert_allclose(s[0], [1.0, 0.0, 0.0, 0.5])


# ----------------------------------------------------------------------------- the files

def test_every_file_the_spec_names_is_written(built):
    out, inputs, _, sizes = built
    n = len(inputs["cells"])
    layers = [layer["name"] for layer in inputs["layers"]]
    tiles = -(-n // 32)
    expected = {"index.html", "gallery.html", "data/meta.js", "data/cells.js",
                "data/attribution.js"}
    expected |= {f"data/map_{layer}_{m}.js" for layer in layers for m in inputs["methods"]}
    expected |= {f"data/neighbours_{layer}.js" for layer in layers}
    expected |= {f"tiles/tile_{t:05d}.js" for t in range(tiles)}
    assert expected <= set(sizes)
    assert len([name for name in sizes if name.startswith("tiles/")]) == tiles


def test_cells_columns_decode_to_the_cell_table(built):
    out, inputs, _, _ = built
    keys, payload = assigned(out / "data/cells.js")
    assert keys == ["cells"] and sorted(payload["ids"]) == sorted(inputs["cells"]["id"])
    cells = inputs["cells"].set_index("id").loc[payload["ids"]].reset_index()
    cols = payload["columns"]
    assert decoded(cols["class"]["data"], "uint8").tolist() == cells["label"].tolist()
    assert decoded(cols["predicted"]["data"], "uint8").tolist() == cells["predicted_label"].tolist()
    wrong = decoded(cols["misclassified"]["data"], "uint8")
    assert (wrong == (cells["label"] != cells["predicted_label"])).all()
    np.testing.assert_allclose(decoded(cols["certainty"]["data"], "float32"), cells["certainty"], rtol=1e-6)
    np.testing.assert_allclose(decoded(cols["mda_target"]["data"], "float32"), cells["mda_target"], rtol=1e-6)
    clusters = cols["cluster_conv1"]
    names = np.array(clusters["categories"])[decoded(clusters["data"], "uint8")]
    expected = cells["cluster_conv1"].astype(str).replace("-1", "noise")
    assert (names == expected.to_numpy()).all()
    _, meta = assigned(out / "data/meta.js")
    assert meta["colour_by"][0] == "class" and "cluster" in meta["colour_by"] and "mda_target" in meta["colour_by"]


def test_map_coordinates_decode_to_the_aligned_embedding(built):
    out, inputs, _, _ = built
    layer, method = inputs["layers"][2]["name"], "tsne"
    emb, grid = inputs["maps"][(layer, method)]
    shuffled = emb.sample(frac=1, random_state=0)  # the builder joins on ids, not on order
    keys, payload = assigned(out / f"data/map_{layer}_{method}.js")
    assert keys == ["maps", f"{layer}/{method}"]
    expected = aligned_coordinates(page_ids(out), shuffled, grid)
    for axis in ("x", "y", "gx", "gy"):
        np.testing.assert_allclose(decoded(payload[axis], "uint16") / 65535, expected[axis], atol=1 / 65535)
    assert payload["boundary"].startswith("data:image/png;base64,")


def test_neighbours_file_holds_the_given_indices(built):
    out, inputs, _, _ = built
    keys, payload = assigned(out / "data/neighbours_dense1.js")
    ids = np.array(page_ids(out))
    got = ids[decoded(payload, "uint32").reshape(len(ids), -1)]
    given = inputs["cells"]["id"].to_numpy()[inputs["neighbours"]["dense1"]]
    position = {cid: i for i, cid in enumerate(inputs["cells"]["id"])}
    assert keys == ["neighbours", "dense1"]
    assert (got == given[[position[c] for c in ids]]).all()  # the same neighbours, renumbered


def check_tiles_hold_every_channel_of_each_cell(out, inputs):
    _, meta = assigned(out / "data/meta.js")
    tile, n_channels = meta["tile"], inputs["images"].shape[1]
    rows = inputs["cells"].set_index("id").loc[page_ids(out), "row"].to_numpy()
    for i in (0, 33, len(inputs["cells"]) - 1):
        t, k = divmod(i, tile["cells"])
        keys, uris = assigned(out / f"tiles/tile_{t:05d}.js")
        got = sprite_cell(packed_planes(uris, n_channels), k, tile["size"], tile["columns"]) / 255
        assert keys == ["tiles", str(t)] and got.shape == inputs["images"][rows[i]].shape
        assert np.abs(got - inputs["images"][rows[i]]).max() <= 0.5 / 255 + 1e-6  # each channel, uint8 rounding
    return meta


def test_tiles_hold_every_channel_of_each_cell_at_its_position(built):
    out, inputs, _, _ = built
    meta = check_tiles_hold_every_channel_of_each_cell(out, inputs)
    assert meta["channels"] == [{"name": "cytoplasm", "kind": "fluorescence", "colour": "#ff0000"},
                                {"name": "nucleus", "kind": "fluorescence", "colour": "#00ff00"}]


@pytest.mark.parametrize("channels", [FOUR_CHANNELS, FOUR_CHANNELS[2:3]], ids=["four", "one"])
def test_tiles_and_gallery_of_any_channel_count_hold_each_channel_apart(channels, tmp_path):
    inputs, _ = fabricate_inputs(n_cells=40, model_cfg=SMALL_MODEL, n_ifealid=8, n_attribution=2,
                                 cells_per_tile=16, seed=4, channels=channels)
    assert inputs["images"].shape[1] == len(channels)
    out = tmp_path / "explorer"
    build_explorer(out, **inputs)
    meta = check_tiles_hold_every_channel_of_each_cell(out, inputs)
    assert meta["channels"] == [{k: c[k] for k in ("name", "kind", "colour")} for c in channels]
    _, index = assigned(out / "data_gallery.js")
    assert index["channels"] == meta["channels"]
    layer = index["layers"][-1]["name"]
    _, gallery = assigned(out / f"data_gallery_{layer}.js")
    fv = inputs["featvis"][layer]
    size, columns = gallery["size"], gallery["columns"]
    for k in (0, len(gallery["channels"]) - 1):  # feature images: JPEG planes, within a few levels
        got = sprite_cell(packed_planes(gallery["images"], len(channels), lossless=False), k, size, columns) / 255
        assert np.abs(got - fv["images"][k]).mean() < 3 / 255
    top = gallery["top_sprite"]  # the top-activating cells: exact planes, like the tiles
    rows = inputs["cells"].set_index("id")["row"]
    for k, cid in enumerate(gallery["top_ids"][:3]):
        got = sprite_cell(packed_planes(top["images"], len(channels)), k, top["size"], top["columns"]) / 255
        assert np.abs(got - inputs["images"][rows[cid]]).max() <= 0.5 / 255 + 1e-6


def test_a_channel_list_that_does_not_match_the_images_is_an_error(built, tmp_path):
    _, inputs, _, _ = built
    with pytest.raises(ValueError, match="images have 2 channels, the channel list 4"):
        build_explorer(tmp_path / "explorer", **{**inputs, "channels": FOUR_CHANNELS})


def test_feature_localisation_tiles_hold_the_stored_cells_codes(built):
    out, inputs, _, _ = built
    store, stored = inputs["ifealid"]
    _, meta = assigned(out / "data/meta.js")
    ids = np.array(page_ids(out))
    stored_ids = inputs["cells"]["id"].to_numpy()[stored]
    assert sorted(ids[meta["ifealid"]["cells"]]) == sorted(stored_ids)
    assert meta["ifealid"]["cells"] == sorted(meta["ifealid"]["cells"])
    layer = meta["ifealid"]["layers"][0]
    keys, payload = assigned(out / f"ifealid/{layer['name']}_00000.js")
    shape = (len(payload["cells"]), layer["height"], layer["width"], layer["components"])
    codes = decoded(payload["data"], "uint8").reshape(shape)
    assert keys == ["ifealid", layer["name"], "0"]
    slot = {cid: k for k, cid in enumerate(stored_ids)}
    for cell, cell_codes in zip(payload["cells"], codes):
        assert (cell_codes == store[layer["name"]]["codes"][slot[ids[cell]]]).all()


def test_attribution_lists_its_cells_by_index_with_verdicts(built):
    out, inputs, _, _ = built
    maps, _ = inputs["attribution"]
    _, payload = assigned(out / "data/attribution.js")
    index = {cid: i for i, cid in enumerate(page_ids(out))}
    assert sorted(int(c) for c in payload["cells"]) == sorted(index[c] for c in maps["ids"])
    first = payload["cells"][str(index[maps["ids"][0]])]
    assert first["target"] == int(maps["targets"][0]) and first["saliency"].startswith("data:image/png")
    assert payload["methods"] == ["saliency", "smoothgrad"] and "integrated_gradients" not in first
    assert payload["verdict"]["integrated_gradients"]["passes"] is False
    layers = [str(layer) for layer in maps["gradcam_layers"]]
    assert payload["gradcam_layers"] == layers and sorted(first["gradcam"]) == sorted(layers)


def test_files_grow_linearly_in_cells_and_no_image_passes_16_mb(tmp_path):
    sizes = {}
    for n in (256, 512):
        inputs, _ = fabricate_inputs(n_cells=n, model_cfg=SMALL_MODEL, n_images=64, n_ifealid=n // 4,
                                     n_attribution=n // 32, with_top_cells=False, cells_per_tile=64, seed=0)
        written = build_explorer(tmp_path / str(n), **inputs)
        per_cell = {k: v for k, v in written.items() if k.startswith(("data/", "tiles/", "ifealid/"))}
        sizes[n] = sum(per_cell.values())
        assert max(written.values()) < 16 * 2 ** 20
    assert 1.8 < sizes[512] / sizes[256] < 2.1


def test_rebuild_replaces_the_directory_atomically(built, tmp_path):
    _, inputs, _, _ = built
    out = tmp_path / "explorer"
    out.mkdir()
    (out / "stale.js").write_text("old")
    sizes = build_explorer(out, **inputs)
    assert not (out / "stale.js").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["total_bytes"] == sum(sizes.values())
    assert [p.name for p in tmp_path.iterdir()] == ["explorer"]  # no temporary leftovers


def test_a_cell_missing_from_a_map_is_an_error_naming_it(built, tmp_path):
    _, inputs, _, _ = built
    maps = dict(inputs["maps"])
    key = next(iter(maps))
    emb, grid = maps[key]
    maps[key] = (emb.iloc[1:], grid)
    with pytest.raises(Exception, match=inputs["cells"]["id"].iloc[0]):
        build_explorer(tmp_path / "explorer", **{**inputs, "maps": maps})
    assert not (tmp_path / "explorer").exists()


def test_knn_boundary_separates_two_clusters():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.normal(0.25, 0.05, (50, 2)), rng.normal(0.75, 0.05, (50, 2))])
    labels = np.repeat([0, 1], 50)
    proba = unit_square_probabilities(points, labels, 2, resolution=32)
    assert proba.shape == (32, 32, 2)
    np.testing.assert_allclose(proba.sum(axis=-1), 1, atol=1e-5)
    assert proba[-1, 0, 0] > 0.9 and proba[0, -1, 1] > 0.9  # bottom-left class 0, top-right class 1


def test_consecutive_cells_sit_together_on_the_deepest_map_so_a_region_needs_few_tiles(built):
    out, inputs, _, _ = built
    deepest = inputs["layers"][-1]["name"]
    _, payload = assigned(out / f"data/map_{deepest}_{inputs['methods'][0]}.js")
    xy = np.column_stack([decoded(payload["x"], "uint16"), decoded(payload["y"], "uint16")]) / 65535
    step = np.linalg.norm(np.diff(xy, axis=0), axis=1).mean()
    shuffled = np.linalg.norm(np.diff(xy[np.random.default_rng(0).permutation(len(xy))], axis=0), axis=1).mean()
    assert step < 0.35 * shuffled


# ----------------------------------------------------------------------------- what each layer knows

#: cell_knowledge's features grouped by channel (the groups in the order they first appear)
GROUPED = ["cell_area", "cell_circularity", "nucleus_mean_intensity", "cytoplasm_glcm_contrast", "truth_nucleus_area",
           "truth_nucleus_lobes"]
PROBE_NUMBERS = ["selectivity", "selectivity_low", "selectivity_high", "score", "score_low", "score_high",
                 "untrained", "shuffled"]


@pytest.fixture(scope="module")
def knowing(built, tmp_path_factory):
    """``built``'s inputs with hand-made cell features and probes of them (support.demo.cell_knowledge)."""
    _, inputs, _, _ = built
    layers = [layer["name"] for layer in inputs["layers"]]
    cells, catalogue, probes = cell_knowledge(inputs["cells"], layers, seed=3)
    out = tmp_path_factory.mktemp("knowing") / "explorer"
    build_explorer(out, **{**inputs, "cells": cells}, features=catalogue, probes=probes)
    return out, layers, cells, catalogue, probes


def test_probes_payload_holds_the_table_by_layer_in_network_order_and_feature_by_channel(knowing):
    out, layers, cells, _, probes = knowing
    keys, payload = assigned(out / "data/probes.js")
    assert keys == ["probes"]
    assert [layer["name"] for layer in payload["layers"]] == ["input"] + layers  # the table lists them backwards
    assert payload["layers"][0]["label"] == "input pixels"
    assert [f["name"] for f in payload["features"]] == GROUPED
    assert [(g["name"], g["label"], g["features"]) for g in payload["groups"]] == [
        ("cell", "whole cell", 2), ("nucleus", "nucleus", 1), ("cytoplasm", "cytoplasm", 1), ("truth", "simulator truth", 2)]
    # the page column that colours the maps by each: its own, index.csv's for the simulator's nucleus
    # area, none for a lobe count the page does not hold
    assert [f["column"] for f in payload["features"]] == GROUPED[:4] + ["nucleus_area_px", None]
    assert [f["metric"] for f in payload["features"]] == ["r2"] * 5 + ["balanced_accuracy"]
    by_cell = probes.set_index(["layer", "feature"])
    for number in PROBE_NUMBERS:
        expected = np.array([[by_cell.loc[(layer, f), number] for f in GROUPED] for layer in ["input"] + layers])
        got = np.array(payload["values"][number], dtype=float)  # null: NaN
        np.testing.assert_allclose(got, expected, atol=1e-4, err_msg=number)
    selectivity = np.array(payload["values"]["selectivity"], dtype=float)
    assert selectivity[-1, 0] == 0.8 and selectivity[1, 2] == 0 and selectivity[0, 1] == -0.4  # planted
    assert np.isnan(selectivity).sum() == 1 and np.isnan(selectivity[0, 3])
    assert payload["skipped"][0][3] == "constant or too few values"
    assert sum(reason != "" for row in payload["skipped"] for reason in row) == 1
    assert payload["n_cells"] == [[len(cells)] * len(GROUPED)] * (len(layers) + 1)
    _, meta = assigned(out / "data/meta.js")
    assert meta["probes"] == {"layers": len(layers) + 1, "features": len(GROUPED)}


def test_meta_lists_the_cell_features_grouped_by_channel_and_their_columns_hold_the_values(knowing):
    out, _, cells, catalogue, _ = knowing
    _, meta = assigned(out / "data/meta.js")
    assert [f["column"] for f in meta["features"]] == GROUPED[:4]
    assert meta["features"][0] == {"column": "cell_area", "label": "area", "group": "cell", "group_label": "whole cell",
                                   "unit": "px^2", "description": "how cell_area is measured"}
    assert [f["label"] for f in meta["features"]] == ["area", "circularity", "mean intensity", "GLCM contrast"]
    _, payload = assigned(out / "data/cells.js")
    ordered = cells.set_index("id").loc[payload["ids"]]
    for feature in GROUPED[:4] + ["nucleus_area_px"]:
        np.testing.assert_allclose(decoded(payload["columns"][feature]["data"], "float32"), ordered[feature], rtol=1e-6)
        assert feature in meta["colour_by"]


def test_a_build_without_probes_has_no_probes_file_and_no_features(built):
    out, _, _, sizes = built
    _, meta = assigned(out / "data/meta.js")
    assert meta["probes"] is None and meta["features"] == []
    assert "data/probes.js" not in sizes


@pytest.mark.parametrize("change, message", [
    (lambda t: t.drop(columns="selectivity_low"), r"lacks the columns \['selectivity_low'\]"),
    (lambda t: t.assign(layer=t["layer"].replace("input", "conv9")), r"layers \['conv9'\] are not among"),
    (lambda t: pd.concat([t, t.iloc[:1]]), r"\(layer, feature\) repeated"),
])
def test_a_probes_table_that_does_not_fit_the_page_is_an_error_naming_it(built, knowing, tmp_path, change, message):
    inputs, probes = built[1], knowing[4]
    with pytest.raises(ValueError, match="probes.csv: " + message):
        build_explorer(tmp_path / "explorer", **inputs, probes=change(probes))
    assert not (tmp_path / "explorer").exists()
