"""The explorer pages: built from fabricated inputs, then driven in headless Chromium."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support.browser import canvas_pixel, canvas_signature, chromium, open_page, require_browser, screenshots  # noqa: E402
from cellscape.model.architecture import layer_shapes  # noqa: E402
from cellscape.explorer import (build_explorer, unit_square_probabilities, dequantise_uint8, feature_maps,  # noqa: E402
                                quantise_uint8, similarity_map, top_activating_cells)
from cellscape.explorer.cells import aligned_coordinates  # noqa: E402
from support.demo import DEFAULT_MODEL, SMALL_MODEL, fabricate_inputs  # noqa: E402
from cellscape.model.network import build_model  # noqa: E402

torch.set_num_threads(1)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def inputs():
    return fabricate_inputs(n_cells=60, model_cfg=SMALL_MODEL, n_featuremap_cells=2, seed=1)


@pytest.fixture(scope="module")
def explorer(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("explorer") / "explorer"
    build_explorer(out, **inputs)
    return out


@pytest.fixture(scope="module")
def browser():
    require_browser()
    with chromium() as b:
        yield b


@pytest.fixture
def shots(tmp_path_factory):
    return tmp_path_factory.mktemp("screenshots")


def loaded(browser, explorer, name):
    page = open_page(browser, explorer / f"{name}.html")
    assert page.evaluate("document.body.dataset.error || ''") == ""
    return page


# ----------------------------------------------------------------------------- python side

def test_quantised_feature_maps_round_trip_within_one_step():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 5, 5, 7)).astype(np.float32)
    low, high = values.min(), values.max()
    back = dequantise_uint8(quantise_uint8(values, low, high), low, high)
    assert np.abs(back - values).max() <= (high - low) / 255 / 2 + 1e-6


def test_feature_maps_have_each_conv_layers_shape_channel_last():
    model = build_model(SMALL_MODEL, 78, 2).eval()
    images = np.random.default_rng(0).random((2, 2, 78, 78)).astype(np.float32)
    shapes = {s.name: s for s in layer_shapes(SMALL_MODEL, 78, 2) if s.kind == "conv"}
    maps = feature_maps(model, images, list(shapes))
    for name, (codes, low, high) in maps.items():
        s = shapes[name]
        assert codes.shape == (2, s.height, s.width, s.channels) and codes.dtype == np.uint8
        with torch.no_grad():
            captured = {}
            handle = model.layer(name).register_forward_hook(lambda m, i, o: captured.update(x=o))
            model(torch.from_numpy(images))
            handle.remove()
        exact = captured["x"].numpy().transpose(0, 2, 3, 1)
        assert low == pytest.approx(exact.min()) and high == pytest.approx(exact.max())
        assert np.abs(dequantise_uint8(codes, low, high) - exact).max() <= (high - low) / 255


def test_similarity_map_is_one_at_the_reference_position():
    codes = np.random.default_rng(2).integers(1, 256, (6, 6, 5), dtype=np.uint8)
    raw, stretched = similarity_map(codes, 0.0, 3.0, 2, 4)
    assert raw[2, 4] == pytest.approx(1.0) and raw.max() == pytest.approx(1.0)
    assert stretched.min() == 0 and stretched.max() == pytest.approx(1.0)


def test_top_activating_cells_are_the_highest_scoring():
    scores = np.array([[0.1, 5.0], [0.9, 1.0], [0.5, 3.0]])
    top = top_activating_cells(scores, ["a", "b", "c"], k=2)
    assert top.tolist() == [["b", "c"], ["a", "c"]]


def test_knn_boundary_separates_two_clusters():
    rng = np.random.default_rng(0)
    points = np.vstack([rng.uniform(0, 0.4, (30, 2)), rng.uniform(0.6, 1.0, (30, 2))])
    labels = np.repeat([0, 1], 30)
    proba = unit_square_probabilities(points, labels, 2, resolution=32)
    assert proba.shape == (32, 32, 2)
    np.testing.assert_allclose(proba.sum(axis=-1), 1, atol=1e-5)
    assert proba[-1, 0, 0] > 0.9 and proba[0, -1, 1] > 0.9  # bottom-left class 0, top-right class 1


def test_rebuild_replaces_the_directory_atomically(inputs, tmp_path):
    out = tmp_path / "explorer"
    out.mkdir()
    (out / "stale.js").write_text("old")
    sizes = build_explorer(out, **inputs)
    assert not (out / "stale.js").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["total_bytes"] == sum(sizes.values())
    assert [p.name for p in tmp_path.iterdir()] == ["explorer"]  # no temporary leftovers


def test_default_model_pages_fit_the_size_budget(tmp_path):
    """12 layers x 2 methods x 550 cells, all conv channels, 6 IFeaLiD cells: under 20 MB."""
    inputs = fabricate_inputs(n_cells=550, model_cfg=DEFAULT_MODEL, n_featuremap_cells=6,
                              with_top_cells=False, seed=0)
    sizes = build_explorer(tmp_path / "explorer", **inputs)
    assert len(inputs["embeddings"]) == 24
    assert sum(sizes.values()) < 20_000_000
    assert max(sizes.values()) < 3_000_000  # each page loads per-layer files, none is huge


# ----------------------------------------------------------------------------- embedding page

def test_every_page_loads_without_javascript_errors(browser, explorer, shots):
    for name in ("index", "embedding", "ifealid", "gallery"):
        page = loaded(browser, explorer, name)
        assert page.errors == [], name
        page.close()
    paths = screenshots(explorer, shots, browser)
    assert all(p.stat().st_size > 5000 for p in paths)
    print("screenshots in", shots)


def test_hover_shows_the_cells_image_id_and_probabilities(browser, explorer, inputs):
    page = loaded(browser, explorer, "embedding")
    ids = page.evaluate("CELLSCAPE.cells.ids")
    blank = canvas_signature(page, "#cell-image")
    shown = []
    for i in page.evaluate("embeddingExplorer.visibleCells()")[:2]:
        page.mouse.move(*page.evaluate(f"embeddingExplorer.screenPosition({i})"))
        assert page.text_content("#cell-id") == ids[i]
        p = inputs["predictions"].set_index("id").loc[ids[i]]
        assert f"{p['p_neutrophil']:.3f}" in page.text_content("#cell-text")
        shown.append(canvas_signature(page, "#cell-image"))
    assert blank not in shown and shown[0] != shown[1]
    assert page.errors == []


def test_tap_pins_a_cell_that_stays_after_the_pointer_leaves(browser, explorer):
    page = loaded(browser, explorer, "embedding")
    i = page.evaluate("embeddingExplorer.visibleCells()")[3]
    page.mouse.click(*page.evaluate(f"embeddingExplorer.screenPosition({i})"))
    page.mouse.move(1390, 890)  # outside the plot
    assert page.evaluate("embeddingExplorer.state.pinned") == i
    assert "(pinned)" in page.text_content("#cell-text")
    assert page.text_content("#cell-id") == page.evaluate(f"CELLSCAPE.cells.ids[{i}]")


def test_grid_slider_moves_points_to_their_grid_positions(browser, explorer, inputs):
    page = loaded(browser, explorer, "embedding")
    layer, method = page.evaluate("[embeddingExplorer.state.layer, embeddingExplorer.state.method]")
    ids = page.evaluate("CELLSCAPE.cells.ids")
    before = canvas_signature(page, "#plot")
    start = np.array(page.evaluate(f"[...Array({len(ids)}).keys()].map(i => embeddingExplorer.screenPosition(i))"))
    page.fill("#grid", "100")
    after = np.array(page.evaluate(f"[...Array({len(ids)}).keys()].map(i => embeddingExplorer.screenPosition(i))"))
    assert canvas_signature(page, "#plot") != before
    assert page.text_content("#grid-value") == "100"
    coords = aligned_coordinates(ids, inputs["embeddings"][(layer, method)], inputs["grids"][(layer, method)])
    # screen x grows with gx, screen y falls with gy; grid points sit on a lattice
    assert np.corrcoef(after[:, 0], coords["gx"])[0, 1] > 0.999
    assert np.corrcoef(after[:, 1], coords["gy"])[0, 1] < -0.999
    assert np.corrcoef(start[:, 0], coords["x"])[0, 1] > 0.999
    assert len(np.unique(np.round(after[:, 0], 3))) == len(np.unique(coords["gx"]))


def test_layer_and_method_switches_redraw_that_embedding(browser, explorer, inputs):
    page = loaded(browser, explorer, "embedding")
    ids = page.evaluate("CELLSCAPE.cells.ids")
    before = canvas_signature(page, "#plot")
    page.select_option("#layer", "conv1")
    page.select_option("#method", "tsne")
    assert canvas_signature(page, "#plot") != before
    pos = np.array(page.evaluate(f"[...Array({len(ids)}).keys()].map(i => embeddingExplorer.screenPosition(i))"))
    coords = aligned_coordinates(ids, inputs["embeddings"][("conv1", "tsne")])
    assert np.corrcoef(pos[:, 0], coords["x"])[0, 1] > 0.999


def test_colour_by_predicted_recolours_misclassified_cells(browser, explorer):
    page = loaded(browser, explorer, "embedding")
    page.uncheck("#boundary")
    wrong = page.evaluate("embeddingExplorer.visibleCells().filter(i => "
                          "CELLSCAPE.cells.label[i] !== CELLSCAPE.cells.predicted[i])")
    assert wrong, "fixture should contain misclassified cells"
    box = page.locator("#plot").bounding_box()

    def centre_colour(i):
        x, y = page.evaluate(f"embeddingExplorer.screenPosition({i})")
        return canvas_pixel(page, "#plot", round(x - box["x"]), round(y - box["y"]))

    changed = 0
    for i in wrong[:3]:
        as_true = centre_colour(i)
        page.select_option("#colour-by", "predicted")
        as_predicted = centre_colour(i)
        page.select_option("#colour-by", "label")
        changed += as_true != as_predicted
    assert changed >= 1  # overlapping points may hide a few
    before = canvas_signature(page, "#plot")
    page.check("#misclassified")
    assert canvas_signature(page, "#plot") != before
    before = canvas_signature(page, "#plot")
    page.select_option("#size-by", "uncertainty")
    assert canvas_signature(page, "#plot") != before


def gap_cut(values, quantile):
    """An integer pixel near ``quantile`` of ``values`` with no point within 1 px (mouse events
    carry whole pixels, so a box edge must not graze a point)."""
    xs = np.sort(values)
    start = int(quantile * (len(xs) - 1))
    for k in list(range(start, len(xs) - 1)) + list(range(start - 1, -1, -1)):
        cut = round((xs[k] + xs[k + 1]) / 2)
        if np.abs(xs - cut).min() > 1:
            return cut
    raise AssertionError("no gap between points")


def test_box_selection_updates_the_pie_charts(browser, explorer, shots):
    page = loaded(browser, explorer, "embedding")
    n = page.evaluate("CELLSCAPE.cells.ids.length")
    pos = np.array(page.evaluate(f"[...Array({n}).keys()].map(i => embeddingExplorer.screenPosition(i))"))
    labels = np.array(page.evaluate("CELLSCAPE.cells.label"))
    predicted = np.array(page.evaluate("CELLSCAPE.cells.predicted"))
    pie = canvas_signature(page, "#pie-true")
    x0, x1 = gap_cut(pos[:, 0], 0.1), gap_cut(pos[:, 0], 0.6)  # integer pixels, between points
    y0, y1 = int(pos[:, 1].min()) - 5, int(pos[:, 1].max()) + 5
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=6)
    page.mouse.up()
    inside = (pos[:, 0] >= x0) & (pos[:, 0] <= x1) & (pos[:, 1] >= y0) & (pos[:, 1] <= y1)
    assert 0 < inside.sum() < n
    assert int(page.get_attribute("#selection-count", "data-count")) == inside.sum()
    for legend, truth in (("#pie-true-legend", labels), ("#pie-pred-legend", predicted)):
        counts = [int(c) for c in page.eval_on_selector_all(f"{legend} [data-count]", "e => e.map(x => x.dataset.count)")]
        assert counts == np.bincount(truth[inside], minlength=2).tolist()
    assert canvas_signature(page, "#pie-true") != pie
    page.screenshot(path=str(shots / "embedding_selection.png"))
    page.click("#clear-selection")
    assert page.get_attribute("#selection-count", "data-count") == "0"


def test_lasso_selection_takes_the_cells_inside_the_polygon(browser, explorer):
    from matplotlib.path import Path as Polygon
    page = loaded(browser, explorer, "embedding")
    page.select_option("#select-mode", "lasso")
    n = page.evaluate("CELLSCAPE.cells.ids.length")
    pos = np.array(page.evaluate(f"[...Array({n}).keys()].map(i => embeddingExplorer.screenPosition(i))"))
    cx, cy = pos.mean(axis=0)
    triangle = [(cx - 150, cy - 150), (cx + 150, cy - 100), (cx, cy + 160)]
    page.mouse.move(*triangle[0])
    page.mouse.down()
    for corner in triangle[1:] + triangle[:1]:
        page.mouse.move(*corner, steps=8)
    page.mouse.up()
    # the page's polygon is the sampled pointer path; points far from the edges must agree
    poly = Polygon(triangle)
    selected = np.array([bool(v) for v in page.evaluate("Array.from(embeddingExplorer.state.selected)")])
    clearly_in = poly.contains_points(pos, radius=-4)
    clearly_out = ~poly.contains_points(pos, radius=4)
    assert selected[clearly_in].all() and not selected[clearly_out & ~clearly_in].any()
    assert selected.sum() > 0


# ----------------------------------------------------------------------------- IFeaLiD page

def hover_feature(page, x, y, w, h):
    box = page.locator("#marks").bounding_box()
    page.mouse.move(box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h)


def test_ifealid_hover_peaks_at_the_hovered_position(browser, explorer, inputs, shots):
    page = loaded(browser, explorer, "ifealid")
    layer = page.evaluate("ifealid.state.layer")
    codes, low, high = inputs["featuremaps"][layer]
    norms = np.linalg.norm(dequantise_uint8(codes[0], low, high), axis=-1)
    y, x = np.unravel_index(np.argmax(norms), norms.shape)
    h, w = norms.shape
    blank = canvas_signature(page, "#heat")
    hover_feature(page, x, y, w, h)
    assert page.evaluate("ifealid.state.position") == y * w + x
    sim = np.array(page.evaluate("Array.from(ifealid.state.sim)")).reshape(h, w)
    assert sim[y, x] == pytest.approx(1.0, abs=1e-5) and sim.max() == pytest.approx(sim[y, x])
    raw, _ = similarity_map(codes[0], low, high, y, x)
    np.testing.assert_allclose(sim, raw, atol=2e-4)
    first = canvas_signature(page, "#heat")
    assert first != blank
    # the hovered position gets the top of the colour map (viridis yellow)
    box = page.locator("#heat").bounding_box()
    r, g, b, a = canvas_pixel(page, "#heat", int((x + 0.5) * box["width"] / w), int((y + 0.5) * box["height"] / h))
    assert r > 200 and g > 200 and b < 80
    y2, x2 = np.unravel_index(np.argsort(norms.ravel())[-len(norms.ravel()) // 3], norms.shape)
    hover_feature(page, x2, y2, w, h)
    assert canvas_signature(page, "#heat") != first
    page.screenshot(path=str(shots / "ifealid.png"))
    assert page.errors == []


def test_ifealid_click_pins_a_position_and_draws_both_vectors(browser, explorer):
    page = loaded(browser, explorer, "ifealid")
    w, h = page.evaluate("[ifealid.state.map.w, ifealid.state.map.h]")
    bars_empty = canvas_signature(page, "#bars")
    box = page.locator("#marks").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert page.evaluate("ifealid.state.pinned") == [w // 2, h // 2]
    hover_feature(page, 3, 3, w, h)
    assert "pinned: (x" in page.text_content("#pinned-info")
    assert canvas_signature(page, "#bars") != bars_empty
    page.fill("#opacity", "25")
    assert page.evaluate("document.getElementById('heat').style.opacity") == "0.25"


def test_ifealid_layer_and_cell_switch_load_that_feature_map(browser, explorer, inputs):
    page = loaded(browser, explorer, "ifealid")
    layers = list(inputs["featuremaps"])
    last = layers[-1]
    codes, _, _ = inputs["featuremaps"][last]
    page.select_option("#layer", last)
    page.wait_for_function(f"document.body.dataset.layer === '{last}'")
    n, h, w, c = codes.shape
    assert page.evaluate("[ifealid.state.map.h, ifealid.state.map.w, ifealid.state.map.c]") == [h, w, c]
    assert f"{w}x{h} positions x {c} channels" in page.text_content("#layer-info")
    cell_image = canvas_signature(page, "#cell-canvas")
    page.select_option("#cell", "1")
    page.wait_for_function("ifealid.state.map.cell === 1")
    assert canvas_signature(page, "#cell-canvas") != cell_image
    assert page.errors == []


# ----------------------------------------------------------------------------- gallery page

def test_gallery_shows_every_channel_and_sorts_by_feedback(browser, explorer, inputs, shots):
    page = loaded(browser, explorer, "gallery")
    layers = list(inputs["featvis"])
    assert page.locator(".card").count() == len(inputs["featvis"][layers[0]]["channels"])
    page.select_option("#layer", layers[-1])
    page.wait_for_function(f"document.body.dataset.layer === '{layers[-1]}'")
    fv = inputs["featvis"][layers[-1]]
    assert page.locator(".card").count() == len(fv["channels"])
    page.select_option("#sort", "feedback")
    page.wait_for_function("document.querySelector('.card').dataset.channel !== undefined")
    shown = [int(c) for c in page.eval_on_selector_all(".card", "e => e.map(x => x.dataset.channel)")]
    assert shown == np.argsort(-np.round(fv["feedback"], 4), kind="stable").tolist()
    tops = page.eval_on_selector_all(".card:first-child .cell-top", "e => e.map(x => x.title)")
    expected = inputs["top_cells"][layers[-1]][shown[0]]
    assert [t.split(" ")[0] for t in tops] == list(expected)
    page.screenshot(path=str(shots / "gallery.png"), full_page=True)
    assert page.errors == []
