"""The tiny run's explorer in headless Chromium: the page the workflow writes works on real
results, driven by real pointer input (the fabricated-data page tests: tests/explorer/test_page.py).
Expectations come from the run's own files (activations/selection.csv, embeddings/*/neighbours.npy)
and the explorer's data files decoded with numpy."""
import numpy as np
import pandas as pd
import pytest

from support.browser import (ExplorerFiles, distance_to_polygon, fitted_screen, inside_polygon, isolated,
                             lasso, open_page, polygon_around, screenshots, selection_shades,
                             view_selector)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tiny_run):
    results = tiny_run / "results" / "tiny"
    return {"results": results, "folder": results / "explorer", "files": ExplorerFiles(results / "explorer"),
            "selection": pd.read_csv(results / "activations" / "selection.csv", dtype={"id": str})}


@pytest.fixture
def page(browser, run):
    page = open_page(browser, run["folder"] / "index.html")
    yield page
    page.close()


def positions(page, files, view, layer):
    m = files.map(layer)
    return np.column_stack(fitted_screen(page, view, m["x"], m["y"]))


def test_the_runs_explorer_shows_every_selected_cell_without_errors(page, run):
    files, selection = run["files"], run["selection"]
    assert page.evaluate("document.body.dataset.error") is None
    assert sorted(files.ids) == sorted(selection["id"])
    assert page.evaluate("explorer.visibleCount()") == len(selection)
    assert page.locator("#status").inner_text().startswith(f"{len(selection)} cells")
    assert page.evaluate("explorer.layers()") == files.layers
    assert page.locator("#multiples figure").count() == len(files.layers)
    assert page.errors == []


def test_a_lasso_in_one_map_lights_up_the_same_cells_in_another(page, run, tmp_path):
    files = run["files"]
    first, last = files.layers[0], files.layers[-1]
    xy = positions(page, files, first, first)
    box = page.locator(view_selector(first)).bounding_box()
    polygon = polygon_around(np.median(xy, axis=0), 0.3 * min(box["width"], box["height"]))
    inside = inside_polygon(xy[:, 0], xy[:, 1], polygon)
    edge = distance_to_polygon(xy[:, 0], xy[:, 1], polygon) < 0.05  # float32 on the page: either way
    assert inside.sum() >= 3
    lasso(page, polygon)
    page.wait_for_function("explorer.selected().length > 0")
    page.screenshot(path=str(tmp_path / "lasso.png"))
    selected = np.zeros(files.n, dtype=bool)
    selected[page.evaluate("explorer.selected()")] = True
    assert (selected == inside)[~edge].all()
    chosen, others = selection_shades(page, last, positions(page, files, last, last), selected)
    assert len(chosen) == selected.sum() and (chosen < 100).all()
    assert (others > 150).all()
    assert page.errors == []


def test_clicking_a_cell_lists_its_neighbours_from_the_run(page, run):
    files, results, ids = run["files"], run["results"], run["selection"]["id"].to_numpy()
    xy = positions(page, files, "main", files.layers[-1])
    i = int(np.flatnonzero(isolated(xy, 5))[0])
    page.mouse.click(*xy[i])
    page.wait_for_function(f"explorer.tapped() === {i}")
    page.wait_for_function(f"document.querySelectorAll('#neighbour-table tr[data-layer]').length === {len(files.layers)}")
    row = {cid: k for k, cid in enumerate(ids)}[files.ids[i]]
    for layer in files.layers:
        given = np.load(results / "embeddings" / layer / "neighbours.npy")  # rows: selection.csv's order
        shown = [files.ids[j] for j in page.evaluate(f"explorer.neighbours('{layer}', {i})")]
        assert shown == ids[given[row]].tolist(), layer
    assert page.errors == []


def test_feature_localisation_responds_to_the_pointer(page, run):
    files = run["files"]
    stored = files.meta["ifealid"]["cells"]
    page.evaluate(f"explorer.tap({stored[0]})")
    if page.evaluate("document.querySelectorAll('canvas.ifealid-cell').length") < 2:
        page.select_option("#ifealid-others", "stored")
    ref = "canvas.ifealid-cell.reference"
    page.wait_for_function(f"(() => {{ const c = document.querySelector('{ref}'); return !!(c && c.onpointermove); }})()")
    page.locator(ref).scroll_into_view_if_needed()
    box = page.locator(ref).bounding_box()
    layer = next(L for L in files.meta["ifealid"]["layers"] if L["name"] == page.locator("#ifealid-layer").input_value())
    maps = []
    for fx, fy in ((0.5, 0.5), (0.3, 0.6)):
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        r, c = int(fy * layer["height"]), int(fx * layer["width"])
        page.wait_for_function(f"(() => {{ const l = explorer.ifealidLastSimilarity(); return !!l && l.position[0] === {r} && l.position[1] === {c}; }})()")
        raw = page.evaluate("explorer.ifealidLastSimilarity().raw.map(a => Array.from(a))")
        assert len(raw) >= 2 and max(raw[0]) == pytest.approx(raw[0][r * layer["width"] + c])
        maps.append(np.array(raw))
    assert np.abs(maps[0] - maps[1]).max() > 0.01
    assert page.errors == []


def test_attribution_is_shown_for_a_misclassified_cell(page, run):
    files = run["files"]
    attribution = files.attribution()
    wrong = set(np.flatnonzero(files.column("misclassified") == "yes")) & {int(c) for c in attribution["cells"]}
    if not wrong:
        pytest.skip("the tiny run has no misclassified cell with attribution maps")
    i = min(wrong)
    page.evaluate(f"explorer.tap({i})")
    page.wait_for_function("document.querySelectorAll('#attribution img.attr-map').length >= 1")
    text = page.locator("#attribution").inner_text()
    verdicts = attribution["verdict"]
    for method, verdict in verdicts.items():  # every pixel method's, shown or not
        if not method.startswith("gradcam_"):
            assert verdict["text"] in text
    assert sum(v["text"] in text for m, v in verdicts.items() if m.startswith("gradcam_")) == 1  # the layer's
    assert page.errors == []


def test_screenshots_of_every_view(browser, run, tmp_path):
    paths = screenshots(run["folder"], tmp_path, browser)
    assert [p.name for p in paths] == ["explorer_maps.png", "explorer_cell.png", "explorer_zoom.png",
                                       "explorer_gallery.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
