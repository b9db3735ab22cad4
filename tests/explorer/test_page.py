"""The explorer page in headless Chromium, driven by real pointer and keyboard input, on a
fabricated build (tests/support/demo.py).

Every expectation comes from the fabricated inputs or from the data files decoded with numpy
(support.browser.ExplorerFiles), never from the page's own code; the page's test hooks
(cellscape.testApi, documented in explorer_test_api.js; ``explorer`` in the evaluated scripts,
see support.browser.open_page) only report its state. Every test fails on a console error.
Screenshots of each view land in pytest's tmp directory.
"""
import numpy as np
import pandas as pd
import pytest

from cellscape.embeddings.neighbours import kept_neighbours, same_class_share
from cellscape.explorer import build_explorer
from cellscape.explorer.feature_store import angular_similarity, dequantise_components
from support.browser import (ExplorerFiles, assigned, canvas_pixels, canvas_point, composed, distance_to_polygon,
                             fitted_screen, inside_polygon, isolated, lasso, open_page, packed_planes,
                             polygon_around, screen_positions, selection_shades, sprite_cell, view_selector)
from support.demo import FOUR_CHANNELS, SMALL_MODEL, cell_knowledge, fabricate_inputs

pytestmark = pytest.mark.slow  # a browser test: `make test-fast` leaves it out (pytest.ini)

N_CELLS = 400          # above the 300 cells under which the large view draws thumbnails
LASSO_LAYER = "conv2"  # the small multiple the lasso is drawn in


def odd_id(cid, k):
    """Every third id holds a comma and a double quote, as ids of real exports may."""
    return f'{cid},"{k}"' if k % 3 == 0 else cid


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    inputs, _ = fabricate_inputs(n_cells=N_CELLS, model_cfg=SMALL_MODEL, n_images=64, n_ifealid=40,
                                 n_attribution=6, cells_per_tile=64, seed=2)
    rename = {cid: odd_id(cid, k) for k, cid in enumerate(inputs["cells"]["id"])}
    inputs["cells"]["id"] = inputs["cells"]["id"].map(rename)
    inputs["maps"] = {key: tuple(t.assign(id=t["id"].map(rename)) for t in tables)
                      for key, tables in inputs["maps"].items()}
    inputs["attribution"][0]["ids"] = np.array([rename[c] for c in inputs["attribution"][0]["ids"]])
    inputs["top_cells"] = {layer: np.vectorize(rename.get, otypes=[object])(top)
                           for layer, top in inputs["top_cells"].items()}
    # hand-made cell features and probes of them, with known answers (support.demo.cell_knowledge)
    inputs["cells"], features, probes = cell_knowledge(inputs["cells"], [layer["name"] for layer in inputs["layers"]],
                                                       seed=4)
    out = tmp_path_factory.mktemp("page") / "explorer"
    build_explorer(out, **inputs, features=features, probes=probes)
    files = ExplorerFiles(out)
    cells = inputs["cells"].set_index("id")
    # the fabricated cells' rows by id (the builder reorders the cells: the page's index differs)
    position = {cid: k for k, cid in enumerate(inputs["cells"]["id"])}
    return {"out": out, "inputs": inputs, "files": files, "cells": cells, "position": position,
            "features": features, "probes": probes}


@pytest.fixture
def page(browser, explorer):
    page = open_page(browser, explorer["out"] / "index.html")
    yield page
    page.close()


def no_errors(page):
    assert page.errors == [], page.errors


def shot(page, tmp_path, name):
    page.screenshot(path=str(tmp_path / f"{name}.png"))


def ids_of(explorer, indices):
    return [explorer["files"].ids[i] for i in indices]


def fitted(page, explorer, view, layer, grid=False):
    """(n, 2) viewport positions of every cell in a view at its initial camera, from the decoded map."""
    m = explorer["files"].map(layer)
    u, v = (m["gx"], m["gy"]) if grid else (m["x"], m["y"])
    return np.column_stack(fitted_screen(page, view, u, v))


def clickable_cell(xy, candidates, radius=5.0):
    """A candidate with no other cell within ``radius`` px (a click at its position picks it)."""
    free = isolated(xy, radius)
    return next(int(i) for i in candidates if free[i])


def tap_by_click(page, explorer, candidates):
    xy = fitted(page, explorer, "main", explorer["files"].layers[-1])
    i = clickable_cell(xy, candidates)
    page.mouse.click(*xy[i])
    page.wait_for_function(f"explorer.tapped() === {i}")
    page.wait_for_function("document.querySelectorAll('#neighbour-table tr[data-layer]').length > 0")
    return i


# ----------------------------------------------------------------------------- loading

def test_page_loads_every_layers_map_and_a_legend_counting_the_classes(page, explorer, tmp_path):
    files, inputs = explorer["files"], explorer["inputs"]
    shot(page, tmp_path, "loaded")
    layers = [layer["name"] for layer in inputs["layers"]]
    assert page.evaluate("explorer.layers()") == layers
    assert page.evaluate("Array.from(document.querySelectorAll('#multiples figure')).map(f => f.dataset.layer)") == layers
    assert page.evaluate("explorer.currentLayer()") == layers[-1]
    for view in ["main"] + layers:  # every map has drawn points
        inked = page.evaluate("""sel => { const c = document.querySelector(sel), d = c.getContext('2d')
                                   .getImageData(0, 0, c.width, c.height).data; let k = 0;
                                 for (let o = 0; o < d.length; o += 4) if (Math.min(d[o], d[o + 1], d[o + 2]) < 200) k++;
                                 return k; }""", view_selector(view) + " canvas.mv-points")
        assert inked > 10 * N_CELLS if view == "main" else inked > 3 * N_CELLS, view
    legend = page.evaluate("""Array.from(document.querySelectorAll('#legend .legend-item[data-category]'))
                              .map(e => [e.dataset.category, +e.querySelector('.count').textContent])""")
    counts = inputs["cells"]["class"].value_counts()
    assert dict(legend) == {name: int(counts[name]) for name in inputs["classes"]}
    assert page.locator("#status").inner_text() == f"{N_CELLS} cells · {len(layers)} layers"
    assert files.n == N_CELLS
    no_errors(page)


# ----------------------------------------------------------------------------- selection

def test_lasso_selects_the_cells_inside_it_in_every_map_and_saves_them(page, explorer, tmp_path):
    files, cells = explorer["files"], explorer["cells"]
    xy = fitted(page, explorer, LASSO_LAYER, LASSO_LAYER)
    # the view transform the expectation uses is the page's: a few cells' reported positions agree
    reported = np.array([list(page.evaluate(f"explorer.screenPosition('{LASSO_LAYER}', {i})").values())
                         for i in (0, 17, N_CELLS - 1)])
    np.testing.assert_allclose(reported, xy[[0, 17, N_CELLS - 1]], atol=0.02)
    box = page.locator(view_selector(LASSO_LAYER)).bounding_box()
    polygon = polygon_around(np.median(xy, axis=0), 0.2 * min(box["width"], box["height"]))
    inside = inside_polygon(xy[:, 0], xy[:, 1], polygon)
    # the page's polygon is these integer vertices; its float32 positions may differ from ours by
    # ~1e-5 px, so a cell right on an edge may fall either way
    edge = distance_to_polygon(xy[:, 0], xy[:, 1], polygon) < 0.05
    assert 15 < inside.sum() < N_CELLS / 2 and edge.sum() <= 2

    lasso(page, polygon)
    page.wait_for_function("explorer.selected().length > 0")
    shot(page, tmp_path, "lasso")
    selected = np.array(page.evaluate("explorer.selected()"), dtype=int)
    got = np.zeros(N_CELLS, dtype=bool)
    got[selected] = True
    assert (got == inside)[~edge].all(), (np.flatnonzero(got != inside), np.flatnonzero(edge))
    assert page.evaluate("explorer.currentLayer()") == files.layers[-1]  # a lasso is no click

    # linked: in another small map and in the large view (another layer), the selected cells are
    # drawn in full colour and the others, away from them, faded towards white
    for view, layer in (("conv1", "conv1"), ("main", files.layers[-1])):
        chosen, others = selection_shades(page, view, fitted(page, explorer, view, layer), got)
        assert len(chosen) == got.sum() and (chosen < 100).all(), view
        assert len(others) > 10 and (others > 150).all(), view

    # the summary's class x prediction counts, from the fabricated cells
    chosen = cells.loc[ids_of(explorer, selected)]
    table = page.evaluate("""Array.from(document.querySelectorAll('#selection-summary table.mix tr')).slice(1)
                             .map(r => Array.from(r.querySelectorAll('td')).map(td => +td.textContent))""")
    expected = pd.crosstab(chosen["label"], chosen["predicted_label"]).reindex(
        index=[0, 1], columns=[0, 1], fill_value=0).to_numpy()
    assert table == expected.tolist()
    assert f"{len(selected)} cells" in page.locator("#selection-summary h3").inner_text()

    # saved as CSV: the selected ids, commas and quotes included, as pandas reads them
    assert any("," in cid for cid in ids_of(explorer, selected))
    with page.expect_download() as download:
        page.click("#save-selection")
    assert download.value.suggested_filename == "selection.csv"
    saved = pd.read_csv(download.value.path(), dtype=str, keep_default_na=False)
    assert list(saved.columns) == ["id"]
    assert saved["id"].tolist() == ids_of(explorer, selected)

    page.keyboard.press("Escape")
    page.wait_for_function("explorer.selected().length === 0")
    assert page.locator("#selection-summary table").count() == 0
    no_errors(page)


# ----------------------------------------------------------------------------- a tapped cell

def test_clicking_a_cell_shows_its_neighbours_in_every_layer(page, explorer, tmp_path):
    files, inputs, cells = explorer["files"], explorer["inputs"], explorer["cells"]
    layers = files.layers
    i = tap_by_click(page, explorer, range(N_CELLS))
    shot(page, tmp_path, "tapped")
    cid = files.ids[i]
    row = explorer["position"][cid]
    input_ids = inputs["cells"]["id"].to_numpy()
    assert cid in page.locator("#cell-panel .cell-id").inner_text()
    labels = inputs["cells"]["label"].to_numpy()
    table = page.evaluate("""Array.from(document.querySelectorAll('#neighbour-table tr[data-layer]'))
                             .map(r => [r.dataset.layer, ...Array.from(r.querySelectorAll('td')).slice(1).map(td => td.textContent.trim())])""")
    assert [r[0] for r in table] == layers
    previous = None
    for layer, (_, share_text, kept_text) in zip(layers, table):
        given = inputs["neighbours"][layer]
        assert ids_of(explorer, page.evaluate(f"explorer.neighbours('{layer}', {i})")) == input_ids[given[row]].tolist()
        share = same_class_share(given, labels)[row]
        assert share_text == f"{round(100 * share)}%"
        if previous is None:
            assert kept_text == "–"
        else:
            assert kept_text == f"{kept_neighbours(previous, given)[row]}/{given.shape[1]}"
        previous = given
    assert cells.loc[cid, "class"] in page.locator("#cell-panel").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_function("explorer.tapped() === null")
    no_errors(page)


def test_attribution_shows_the_passing_methods_and_grad_cam_at_the_large_views_layer(page, explorer, tmp_path):
    files, inputs, cells = explorer["files"], explorer["inputs"], explorer["cells"]
    maps, verdicts = inputs["attribution"]
    chosen = set(maps["ids"])
    outside = [i for i, cid in enumerate(files.ids) if cid not in chosen]
    tap_by_click(page, explorer, outside)
    page.wait_for_function("document.querySelector('#attribution').textContent.includes('not among them')")
    assert f"capped set of {len(chosen)} cells" in page.locator("#attribution").inner_text()

    page.click("#attr-jump")  # jump to a misclassified cell with attribution
    page.wait_for_function("document.querySelectorAll('#attribution img.attr-map').length === 3")
    shot(page, tmp_path, "attribution")
    cid = files.ids[page.evaluate("explorer.tapped()")]
    assert cid in chosen and cells.loc[cid, "label"] != cells.loc[cid, "predicted_label"]
    text = page.locator("#attribution").inner_text()
    assert verdicts["saliency"]["text"] in page.locator("#attribution .verdict.passes").all_inner_texts()[0]
    failing = " ".join(page.locator("#attribution .verdict.fails").all_inner_texts())
    assert verdicts["integrated_gradients"]["text"] in failing and verdicts["guided_backprop"]["text"] in failing
    target = int(maps["targets"][list(maps["ids"]).index(cid)])
    assert f"the class {inputs['classes'][target]}" in text
    alts = "Array.from(document.querySelectorAll('#attribution img.attr-map')).map(i => i.alt)"
    conv = [str(layer) for layer in maps["gradcam_layers"]]
    # the large view shows a dense layer: Grad-CAM of the deepest conv layer, with its verdict
    assert page.evaluate(alts) == ["saliency", "smoothgrad", f"gradcam_{conv[-1]}"]
    assert "deepest conv" in text and verdicts[f"gradcam_{conv[-1]}"]["text"] in text
    page.evaluate(f"explorer.setLayer('{conv[0]}', false)")
    page.wait_for_function(f"{alts}.includes('gradcam_{conv[0]}')")
    assert verdicts[f"gradcam_{conv[0]}"]["text"] in " ".join(
        page.locator("#attribution .verdict.fails").all_inner_texts())
    no_errors(page)


def test_feature_localisation_follows_the_pointer_over_cell_a(page, explorer, tmp_path):
    files, inputs = explorer["files"], explorer["inputs"]
    store, stored = inputs["ifealid"]
    input_ids = inputs["cells"]["id"].to_numpy()
    slot = {cid: k for k, cid in enumerate(input_ids[stored])}
    layer = "conv3"
    entry = store[layer]
    vectors = dequantise_components(entry["codes"], entry["low"], entry["high"])  # (cells, H, W, K)
    H, W = vectors.shape[1:3]
    a = files.index[input_ids[stored][0]]
    page.evaluate(f"explorer.tap({a})")
    page.select_option("#ifealid-layer", layer)
    page.select_option("#ifealid-others", "stored")
    ref = "canvas.ifealid-cell.reference"
    page.wait_for_function(f"(() => {{ const c = document.querySelector('{ref}'); return !!(c && c.onpointermove) && document.querySelectorAll('canvas.ifealid-cell').length === 9; }})()")
    shown = page.evaluate("Array.from(document.querySelectorAll('canvas.ifealid-cell')).map(c => +c.dataset.index)")
    assert shown[0] == a and all(files.ids[j] in slot for j in shown)

    va = vectors[slot[files.ids[a]]]
    norms = np.linalg.norm(va, axis=-1)
    first = np.unravel_index(np.argmax(norms), norms.shape)
    cos = (va @ va[first]) / np.maximum(norms * norms[first], 1e-12)
    second = np.unravel_index(np.argmin(np.where(norms > 0.2 * norms.max(), cos, np.inf)), norms.shape)
    page.locator(ref).scroll_into_view_if_needed()
    box = page.locator(ref).bounding_box()
    results = []
    for r, c in (first, second):
        page.mouse.move(box["x"] + (c + 0.5) * box["width"] / W, box["y"] + (r + 0.5) * box["height"] / H)
        page.wait_for_function(f"(() => {{ const l = explorer.ifealidLastSimilarity(); return !!l && l.position[0] === {r} && l.position[1] === {c}; }})()")
        last = page.evaluate("(() => { const l = explorer.ifealidLastSimilarity(); return {cells: l.cells, raw: l.raw.map(a => Array.from(a))}; })()")
        raw = np.array(last["raw"])
        assert last["cells"] == shown
        assert raw[0, r * W + c] == pytest.approx(1.0, abs=1e-6) and raw[0].max() <= 1 + 1e-6
        for j, sim in zip(shown[1:], raw[1:]):
            expected = angular_similarity(vectors[slot[files.ids[j]]], va[r, c]).ravel()
            np.testing.assert_allclose(sim, expected, atol=1e-3)
        results.append(raw)
    shot(page, tmp_path, "ifealid")
    assert np.abs(results[0] - results[1]).max() > 0.1  # another position, other maps
    no_errors(page)


# ----------------------------------------------------------------------------- zoom, hover

def test_wheel_zoom_shows_thumbnails_once_few_cells_are_in_view(page, explorer, tmp_path):
    files, inputs, cells = explorer["files"], explorer["inputs"], explorer["cells"]
    xy = fitted(page, explorer, "main", files.layers[-1])
    box = page.locator("#main-view canvas.mv-overlay").bounding_box()
    assert page.evaluate("explorer.visibleCount()") == N_CELLS
    assert page.evaluate("explorer.thumbnailsShown()") == 0
    page.mouse.move(*np.median(xy, axis=0))
    counts = [N_CELLS]
    while counts[-1] > 150 and len(counts) < 20:
        page.mouse.wheel(0, -200)
        page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        counts.append(page.evaluate("explorer.visibleCount()"))
    assert counts[-1] <= 150 and (np.diff(counts) <= 0).all(), counts  # zooming in at the pointer only loses cells
    page.wait_for_function("explorer.thumbnailsShown() > 0", timeout=5000)
    page.wait_for_function("explorer.thumbnailsShown() === explorer.visibleCount()", timeout=10000)
    # the count is of the cells whose points are inside the view
    now = screen_positions(page, "main", N_CELLS)
    inside = ((now[:, 0] >= box["x"]) & (now[:, 0] <= box["x"] + box["width"])
              & (now[:, 1] >= box["y"]) & (now[:, 1] <= box["y"] + box["height"]))
    assert abs(inside.sum() - counts[-1]) <= 2  # cells right on the border may count either way
    shot(page, tmp_path, "zoomed")

    # hovering a cell shows its id and its own image (its channels in their colours)
    margin = 40
    candidates = np.flatnonzero((now[:, 0] > box["x"] + margin) & (now[:, 0] < box["x"] + box["width"] - margin)
                                & (now[:, 1] > box["y"] + margin) & (now[:, 1] < box["y"] + box["height"] - margin))
    i = clickable_cell(now, candidates, radius=8)
    page.mouse.move(*now[i])
    page.wait_for_function(f"document.querySelector('#tooltip').dataset.thumb === '{i}'", timeout=5000)
    assert page.evaluate("explorer.hovered()") == {"index": i, "thumbnail": True}
    assert files.ids[i] in page.locator("#tooltip").inner_text()
    thumb = canvas_rgb(page, "#tooltip canvas")
    planes = np.rint(inputs["images"][cells.loc[files.ids[i], "row"]] * 255)
    assert (thumb == composed(planes, files.meta["channels"])).all()
    shot(page, tmp_path, "hover")
    no_errors(page)


def canvas_rgb(page, selector):
    """(H, W, 3) int RGB of a canvas."""
    w, h, data = page.evaluate("""sel => { const c = document.querySelector(sel);
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }""", selector)
    return np.array(data, dtype=int).reshape(h, w, 4)[..., :3]


# ----------------------------------------------------------------------------- channels

@pytest.fixture(scope="module")
def four(tmp_path_factory):
    """A small build of four channels (configs/four_channels.yaml's brightfield, cytoplasm,
    nucleus, darkfield)."""
    inputs, _ = fabricate_inputs(n_cells=120, model_cfg=SMALL_MODEL, n_images=24, n_ifealid=12, n_attribution=4,
                                 cells_per_tile=32, seed=5, channels=FOUR_CHANNELS)
    out = tmp_path_factory.mktemp("four") / "explorer"
    build_explorer(out, **inputs)
    return {"out": out, "inputs": inputs, "files": ExplorerFiles(out)}


def switch(page, name, host="#channels"):
    """Toggle a channel's checkbox from the keyboard (the pointer stays where it is: on a cell)."""
    page.locator(f'{host} input[data-channel="{name}"]').focus()
    page.keyboard.press("Space")


def test_switching_a_channel_off_composes_every_cell_image_without_it(browser, four, tmp_path):
    files, inputs = four["files"], four["inputs"]
    channels = files.meta["channels"]
    assert [c["name"] for c in channels] == [c["name"] for c in FOUR_CHANNELS]
    page = open_page(browser, four["out"] / "index.html")
    try:
        boxes = page.evaluate("""Array.from(document.querySelectorAll('#channels input')).map(b =>
            [b.dataset.channel, b.checked, getComputedStyle(b.nextElementSibling).borderLeftColor])""")
        assert [(n, on) for n, on, _ in boxes] == [(c["name"], True) for c in channels]
        assert [colour for _, _, colour in boxes] == [  # each name beside a swatch of its colour
            "rgb({}, {}, {})".format(*(int(c["colour"][k:k + 2], 16) for k in (1, 3, 5))) for c in channels]
        xy = screen_positions(page, "main", files.n)
        i = clickable_cell(xy, range(files.n), radius=8)
        page.evaluate(f"explorer.tap({i})")
        page.wait_for_function("document.querySelector('#cell-image').dataset.drawn === '1'")
        page.mouse.move(*xy[i])
        planes = files.cell_planes(i)
        row = inputs["cells"].set_index("id").loc[files.ids[i], "row"]
        assert (planes == np.rint(inputs["images"][row] * 255)).all()  # the stored planes are the image's
        on = [True] * len(channels)
        shot(page, tmp_path, "four_channels")
        for name in ("nucleus", "brightfield", "nucleus"):  # off, off, on again
            k = [c["name"] for c in channels].index(name)
            before = canvas_rgb(page, "#tooltip canvas")
            switch(page, name)
            on[k] = not on[k]
            mask = "".join(str(int(v)) for v in on)
            page.wait_for_function(f"""document.querySelector('#tooltip').dataset.thumb === '{i}' &&
                                       document.querySelector('#tooltip').dataset.channels === '{mask}'""")
            assert page.evaluate("explorer.channels()") == [{**{key: c[key] for key in ("name", "colour")}, "on": v}
                                                             for c, v in zip(channels, on)]
            expected = composed(planes, channels, on)
            thumb = canvas_rgb(page, "#tooltip canvas")
            assert (thumb == expected).all(), (name, mask, np.abs(thumb - expected).max())
            assert (thumb != before).any(), name  # the cell has signal in the switched channel
            # the tapped cell's image, twice the thumbnail's size, nearest-neighbour
            page.wait_for_function("""(() => { const c = document.querySelector('#cell-image');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; return d[3] === 255; })()""")
            page.wait_for_timeout(50)
            big = canvas_rgb(page, "#cell-image")
            assert (big[::2, ::2] == expected).all(), name
        shot(page, tmp_path, "four_channels_toggled")
        no_errors(page)
    finally:
        page.close()


def test_zoomed_thumbnails_follow_the_channel_switches(browser, four, tmp_path):
    files = four["files"]
    page = open_page(browser, four["out"] / "index.html")
    try:
        box = page.locator("#main-view canvas.mv-overlay").bounding_box()
        xy = screen_positions(page, "main", files.n)
        page.mouse.move(*np.median(xy, axis=0))
        while page.evaluate("explorer.visibleCount()") > 40:
            page.mouse.wheel(0, -200)
            page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        page.mouse.move(box["x"] + 2, box["y"] + 2)  # off the cells: no tooltip over the view
        page.wait_for_function("explorer.thumbnailsShown() > 0 && explorer.thumbnailsShown() === explorer.visibleCount()",
                               timeout=10000)
        before = canvas_rgb(page, "#main-view canvas.mv-overlay")
        for name in ("brightfield", "cytoplasm", "nucleus"):
            switch(page, name)
        page.wait_for_function("explorer.thumbnailsShown() === explorer.visibleCount()", timeout=10000)
        page.wait_for_timeout(100)
        after = canvas_rgb(page, "#main-view canvas.mv-overlay")
        shot(page, tmp_path, "four_channels_zoomed_darkfield")
        # only darkfield (magenta) is left: no thumbnail pixel has green, and some have magenta
        changed = (after != before).any(axis=-1)
        assert changed.sum() > 1000
        assert (after[changed][:, 1] <= after[changed][:, [0, 2]].max(axis=1) + 2).mean() > 0.9
        no_errors(page)
    finally:
        page.close()


def test_gallery_cell_images_follow_the_channel_switches(browser, four, tmp_path):
    files, inputs = four["files"], four["inputs"]
    channels = files.meta["channels"]
    page = open_page(browser, four["out"] / "gallery.html")
    try:
        layer = page.evaluate("document.body.dataset.layer")
        gallery = assigned(four["out"] / f"data_gallery_{layer}.js")[1]
        top = gallery["top_sprite"]
        first = page.locator("#cards .card .tops canvas.cell-top").first
        cid = first.get_attribute("title")
        k = gallery["top_ids"].index(cid)
        planes = sprite_cell(packed_planes(top["images"], len(channels)), k, top["size"], top["columns"])
        selector = "#cards .card .tops canvas.cell-top"
        assert (canvas_rgb(page, selector) == composed(planes, channels)).all()
        switch(page, "cytoplasm")
        page.wait_for_function("document.body.dataset.channels === '1011'")
        assert (canvas_rgb(page, selector) == composed(planes, channels, [1, 0, 1, 1])).all()
        page.screenshot(path=str(tmp_path / "gallery_four_channels.png"))
        no_errors(page)
    finally:
        page.close()


# ----------------------------------------------------------------------------- colours

def test_colour_by_a_number_shows_its_range_and_by_cluster_each_layers_clusters(page, explorer, tmp_path):
    files, inputs, cells = explorer["files"], explorer["inputs"], explorer["cells"]
    before = page.evaluate("document.querySelector('#main-view canvas.mv-points').toDataURL()")
    page.select_option("#colour-by", "mda_target")
    page.wait_for_selector("#legend .colourbar")
    low, high = (float(t) for t in page.evaluate(
        "Array.from(document.querySelectorAll('#legend .colourbar-labels span')).map(s => s.textContent)"))
    target = inputs["cells"]["mda_target"].to_numpy(dtype=np.float32)
    assert low == pytest.approx(target.min(), abs=6e-4) and high == pytest.approx(target.max(), abs=6e-4)
    page.wait_for_timeout(100)
    shot(page, tmp_path, "colour_number")
    # viridis: the larger the value, the brighter the point (isolated points, the large view)
    xy = fitted(page, explorer, "main", files.layers[-1])
    free = np.flatnonzero(isolated(xy, 8))
    px, py = canvas_point(page, "main", xy[free, 0], xy[free, 1])
    rgb = canvas_pixels(page, "#main-view canvas.mv-points", zip(px, py))
    brightness = rgb @ np.array([0.299, 0.587, 0.114])
    values = cells.loc[ids_of(explorer, free), "mda_target"].to_numpy()
    assert len(free) > 30 and pd.Series(brightness).corr(pd.Series(values), method="spearman") > 0.9
    assert page.evaluate("document.querySelector('#main-view canvas.mv-points').toDataURL()") != before

    page.select_option("#colour-by", "cluster")
    for layer in (files.layers[-1], files.layers[-2]):
        if layer != page.evaluate("explorer.currentLayer()"):
            page.click("#layer-prev")
            page.wait_for_function(f"explorer.currentLayer() === '{layer}'")
        legend = dict(page.evaluate("""Array.from(document.querySelectorAll('#legend .legend-item[data-category]'))
                                       .map(e => [e.dataset.category, +e.querySelector('.count').textContent])"""))
        expected = inputs["cells"][f"cluster_{layer}"].astype(str).replace("-1", "noise").value_counts()
        assert legend == expected.to_dict(), layer
        assert layer in page.locator("#legend").inner_text()
    shot(page, tmp_path, "colour_cluster")
    no_errors(page)


# ----------------------------------------------------------------------------- what each layer knows

#: cell_knowledge's features as the panel shows them: grouped by channel, in the table's order within
GROUPED = ["cell_area", "cell_circularity", "nucleus_mean_intensity", "cytoplasm_glcm_contrast", "truth_nucleus_area",
           "truth_nucleus_lobes"]


def rgb_of(css):
    """'rgb(r, g, b)' -> array of the three numbers."""
    return np.array([float(v) for v in css[css.index("(") + 1:css.index(")")].split(",")])


def matplotlib_rgb(name, t):
    import matplotlib
    return np.array(matplotlib.colormaps[name](t)[:3]) * 255


def test_what_each_layer_knows_shows_every_probe_coloured_by_its_selectivity(page, explorer, tmp_path):
    layers, probes = explorer["files"].layers, explorer["probes"]
    page.locator("#probes").scroll_into_view_if_needed()
    shot(page, tmp_path, "probes")
    assert page.locator("#probes").is_visible()
    rows = page.evaluate("Array.from(document.querySelectorAll('#probes-table tbody tr')).map(r => r.dataset.layer)")
    assert rows == ["input"] + layers  # the input pixels first, then network order (the table lists them backwards)
    assert page.evaluate("Array.from(document.querySelectorAll('#probes-table tbody tr')).map(r => r.querySelectorAll('td').length)") == [len(GROUPED)] * len(rows)
    assert page.evaluate("Array.from(document.querySelectorAll('#probes-table th.feature')).map(t => t.dataset.feature)") == GROUPED
    assert page.evaluate("Array.from(document.querySelectorAll('#probes-table th.feature')).map(t => t.textContent)") == [
        "area", "circularity", "mean intensity", "GLCM contrast", "nucleus area", "nucleus lobe count (bal. acc.)"]
    assert page.evaluate("Array.from(document.querySelectorAll('#probes-table th.group')).map(t => [t.textContent, t.colSpan])") == [
        ["whole cell", 2], ["nucleus", 1], ["cytoplasm", 1], ["simulator truth", 2]]

    def cell(layer, feature):
        return page.locator(f'#probes-table tr[data-layer="{layer}"] td[data-feature="{feature}"]')

    def background(layer, feature):
        return rgb_of(cell(layer, feature).evaluate("td => getComputedStyle(td).backgroundColor"))

    # RdBu_r from -0.8 to +0.8 (the planted largest |selectivity|): +0.8 dark red, 0 white, -0.4 halfway to blue
    np.testing.assert_allclose(background(layers[-1], "cell_area"), matplotlib_rgb("RdBu_r", 1.0), atol=1.5)
    np.testing.assert_allclose(background(layers[0], "nucleus_mean_intensity"), matplotlib_rgb("RdBu_r", 0.5), atol=1.5)
    np.testing.assert_allclose(background("input", "cell_circularity"), matplotlib_rgb("RdBu_r", 0.25), atol=3)
    assert page.evaluate("Array.from(document.querySelectorAll('#probes .colourbar-labels span')).map(s => s.textContent)") == [
        "\u22120.8", "0", "+0.8"]
    # a dot where the interval is above 0, grey where the feature was not probed
    dotted = page.evaluate("""Array.from(document.querySelectorAll('#probes-table td.sig'))
                              .map(td => [td.parentElement.dataset.layer, td.dataset.feature])""")
    assert sorted(map(tuple, dotted)) == sorted(map(tuple, probes.loc[probes["selectivity_low"] > 0, ["layer", "feature"]].to_numpy()))
    assert "skipped" in cell("input", "cytoplasm_glcm_contrast").get_attribute("class").split()
    assert "not probed (constant or too few values)" in cell("input", "cytoplasm_glcm_contrast").get_attribute("title")
    # the numbers in a cell's title
    title = cell(layers[-1], "cell_area").get_attribute("title")
    assert f"area (whole cell) in {layers[-1]}" in title
    assert "selectivity +0.80 (interval +0.70 to +0.90)" in title
    assert "trained network: R\u00b2 0.95 (interval 0.85 to 1.05)" in title and "untrained network: R\u00b2 0.15" in title
    assert f"{N_CELLS} cells" in title
    no_errors(page)


def test_clicking_a_feature_colours_every_layers_map_by_it(page, explorer, tmp_path):
    files, cells = explorer["files"], explorer["cells"]
    views = ["main"] + files.layers

    def colours_of(indices):
        return np.array([[page.evaluate(f"explorer.colourOf('{view}', {i})") for view in views] for i in indices])

    before = page.evaluate("document.querySelector('#main-view canvas.mv-points').toDataURL()")
    for feature, column in (("nucleus_mean_intensity", "nucleus_mean_intensity"), ("truth_nucleus_area", "nucleus_area_px")):
        page.click(f'#probes-table th.feature[data-feature="{feature}"]')
        page.wait_for_function(f"explorer.colourChoice() === '{column}'")
        assert page.locator("#colour-by").input_value() == column  # the colour menu, no second mechanism
        values = cells.loc[files.ids, column].to_numpy()
        low, high = int(np.argmin(values)), int(np.argmax(values))
        middle = int(np.argmin(np.abs(values - (values.min() + values.max()) / 2)))
        t = (values[middle] - values.min()) / (values.max() - values.min())
        got = colours_of([low, high, middle])  # (cells, views, 3): every layer's map alike
        np.testing.assert_allclose(got[0], np.tile(matplotlib_rgb("viridis", 0.0), (len(views), 1)), atol=1)
        np.testing.assert_allclose(got[1], np.tile(matplotlib_rgb("viridis", 1.0), (len(views), 1)), atol=1)
        # between, viridis as the page's colour bar draws it: linear between its values at 0, 0.1, ..., 1
        anchors = np.array([matplotlib_rgb("viridis", a) for a in np.linspace(0, 1, 11)])
        between = [np.interp(t, np.linspace(0, 1, 11), anchors[:, c]) for c in range(3)]
        np.testing.assert_allclose(got[2], np.tile(between, (len(views), 1)), atol=1.5)
        assert page.evaluate("Array.from(document.querySelectorAll('#probes-table th.feature.current')).map(t => t.dataset.feature)") == [feature]
    page.wait_for_timeout(100)
    assert page.evaluate("document.querySelector('#main-view canvas.mv-points').toDataURL()") != before
    shot(page, tmp_path, "probes_coloured")
    # a feature the page holds no column of colours nothing
    page.click('#probes-table th.feature[data-feature="truth_nucleus_lobes"]')
    page.wait_for_timeout(100)
    assert page.evaluate("explorer.colourChoice()") == "nucleus_area_px"
    # a cell of the heat map: its feature, and its layer in the large view
    page.click(f'#probes-table tr[data-layer="{files.layers[1]}"] td[data-feature="cell_area"]')
    page.wait_for_function(f"explorer.colourChoice() === 'cell_area' && explorer.currentLayer() === '{files.layers[1]}'")
    assert page.evaluate("document.querySelector('#probes-table tbody tr.current').dataset.layer") == files.layers[1]
    no_errors(page)


def test_a_tapped_cell_lists_its_features_and_a_click_colours_the_maps_by_one(page, explorer, tmp_path):
    files, cells = explorer["files"], explorer["cells"]
    i = 7
    page.evaluate(f"explorer.tap({i})")
    page.wait_for_selector("#cell-features tr[data-column]")
    listed = page.evaluate("""Array.from(document.querySelectorAll('#cell-features tr')).map(r =>
        r.dataset.column ? [r.dataset.column, r.cells[0].textContent, r.cells[1].textContent] : ['group', r.textContent])""")
    assert [row[1] for row in listed if row[0] == "group"] == ["whole cell", "nucleus", "cytoplasm"]
    shown = [row for row in listed if row[0] != "group"]
    assert [row[0] for row in shown] == GROUPED[:4]
    units = dict(zip(explorer["features"]["feature"], explorer["features"]["unit"]))
    for column, label, text in shown:
        value = cells.loc[files.ids[i], column]
        number, *unit = text.split(" ")
        assert float(number) == pytest.approx(value, rel=1e-3), column
        assert unit == ([units[column]] if units[column] else [])
    shot(page, tmp_path, "cell_features")
    page.click('#cell-features tr[data-column="cell_circularity"]')
    page.wait_for_function("explorer.colourChoice() === 'cell_circularity'")
    no_errors(page)


def test_a_page_without_probes_has_no_panel_and_a_cell_no_feature_list(browser, four):
    page = open_page(browser, four["out"] / "index.html")
    try:
        assert page.locator("#probes").is_hidden()
        assert page.locator("#probes-table").count() == 0
        page.evaluate("explorer.tap(3)")
        page.wait_for_selector("#cell-image")
        assert page.locator("#cell-features").count() == 0
        no_errors(page)
    finally:
        page.close()


# ----------------------------------------------------------------------------- layers and grid

def wait_for_positions(page, view, expected, cells=(0, 100, 399)):
    """Wait until the view's points stand still at the expected viewport positions."""
    for i in cells:
        page.wait_for_function(
            "([view, i, x, y]) => { const p = explorer.screenPosition(view, i); return Math.abs(p.x - x) < 0.02 && Math.abs(p.y - y) < 0.02; }",
            arg=[view, i, float(expected[i, 0]), float(expected[i, 1])], timeout=5000)


def test_layer_steps_animate_to_the_next_map_and_the_slider_to_the_grid(page, explorer, tmp_path):
    files = explorer["files"]
    layers = files.layers
    page.click("#layer-prev")
    page.wait_for_function(f"explorer.currentLayer() === '{layers[-2]}'")
    assert page.locator("#current-layer").inner_text().startswith(layers[-2])
    wait_for_positions(page, "main", fitted(page, explorer, "main", layers[-2]))
    page.mouse.click(*(lambda b: (b["x"] + 5, b["y"] + 5))(page.locator("#title").bounding_box()))  # focus the page
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"explorer.currentLayer() === '{layers[-3]}'")
    wait_for_positions(page, "main", fitted(page, explorer, "main", layers[-3]))
    page.click("#layer-next")
    page.wait_for_function(f"explorer.currentLayer() === '{layers[-2]}'")
    wait_for_positions(page, "main", fitted(page, explorer, "main", layers[-2]))
    assert page.locator("#layer-next").is_enabled()

    page.locator("#grid-slider").focus()
    page.keyboard.press("End")  # the slider to 1: every map on its grid
    assert page.locator("#grid-value").inner_text() == "1.00"
    grid = fitted(page, explorer, "main", layers[-2], grid=True)
    wait_for_positions(page, "main", grid)
    np.testing.assert_allclose(screen_positions(page, "main", N_CELLS), grid, atol=0.02)
    np.testing.assert_allclose(screen_positions(page, "conv1", N_CELLS),
                               fitted(page, explorer, "conv1", "conv1", grid=True), atol=0.02)
    shot(page, tmp_path, "grid")
    no_errors(page)


# ----------------------------------------------------------------------------- gallery

def test_gallery_shows_each_channels_feature_image_and_top_activating_cells(browser, explorer, tmp_path):
    inputs = explorer["inputs"]
    page = open_page(browser, explorer["out"] / "gallery.html")
    try:
        for layer in ("conv1", "conv3"):
            if page.evaluate("document.body.dataset.layer") != layer:
                page.select_option("#layer", layer)
                page.wait_for_function(f"document.body.dataset.layer === '{layer}'")
            cards = page.evaluate("""Array.from(document.querySelectorAll('#cards .card')).map(c =>
                [+c.dataset.channel, Array.from(c.querySelectorAll('.tops .cell-top')).map(d => d.title)])""")
            fv = inputs["featvis"][layer]
            assert [c for c, _ in cards] == fv["channels"].tolist()
            top = inputs["top_cells"][layer]
            assert [tops for _, tops in cards] == [list(top[c]) for c in fv["channels"]]
        page.select_option("#sort", "feedback")
        page.wait_for_timeout(100)
        order = page.evaluate("Array.from(document.querySelectorAll('#cards .card')).map(c => +c.dataset.channel)")
        assert order == fv["channels"][np.argsort(-fv["feedback"], kind="stable")].tolist()
        page.screenshot(path=str(tmp_path / "gallery.png"))
        no_errors(page)
    finally:
        page.close()


# ----------------------------------------------------------------------------- the code

#: what the data scripts may assign into cellscape.payload (docs/explorer.md, the file table)
PAYLOAD_KEYS = {"meta", "cells", "maps", "neighbours", "tiles", "attribution", "ifealid", "gallery", "galleryLayers",
                "probes"}


def test_both_pages_add_one_global_and_the_data_only_under_its_payload(browser, explorer):
    for html in ("index.html", "gallery.html"):
        page = open_page(browser, explorer["out"] / html)
        added, payload = page.evaluate("""() => {
            const blank = document.createElement('iframe');
            document.body.appendChild(blank);
            const own = new Set(Object.getOwnPropertyNames(blank.contentWindow));
            blank.remove();
            return [Object.getOwnPropertyNames(window).filter(k => !own.has(k)), Object.keys(cellscape.payload)]; }""")
        no_errors(page)
        page.close()
        assert sorted(added) == ["cellscape", "explorer"], html  # explorer: the test hooks, bound by open_page
        assert payload and set(payload) <= PAYLOAD_KEYS, (html, payload)
