"""Headless Chromium for the explorer tests and benchmark (Playwright, Debian's Chromium).

Never downloads a browser: it drives /usr/bin/chromium (or $CHROMIUM). Every page opened
through ``open_page`` records console errors and uncaught exceptions in ``page.errors``. On a
developer machine without Chromium the browser tests skip, saying why; with CI=true a missing
browser is a failure, so CI never silently skips them.

For the explorer's tests: ``ExplorerFiles`` decodes a built explorer's data files with numpy (the
expectations, independent of the page's JavaScript); ``fitted_screen``, ``lasso``,
``inside_polygon`` and ``selection_shades`` drive the page through real pointer input and read
what it drew; ``screenshots`` writes a PNG of each view (docs/figures/explorer_*.png).
"""
import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

#: the explorer page's test hooks (documented in static/explorer_test_api.js)
TEST_API = "window.cellscape.testApi"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path():
    """The Chromium executable, or None when there is none."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@contextlib.contextmanager
def chromium():
    """Yield a launched headless Playwright Chromium browser; closed afterwards."""
    from playwright.sync_api import sync_playwright
    path = chromium_path()
    if path is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, html_path, width=1400, height=900, timeout_ms=30000):
    """Open a page from disk, wait until its script marks ``body[data-ready]``; errors collected.

    The explorer's test hooks (:data:`TEST_API`) are then reachable as ``explorer`` in the page's
    scripts that the tests evaluate (``explorer.selected()``); undefined on the gallery page."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.errors = []
    page.on("console", lambda msg: page.errors.append(f"console {msg.type}: {msg.text}")
            if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    page.goto(Path(html_path).resolve().as_uri())
    try:
        page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.error",
                               timeout=timeout_ms)
    except Exception as exc:
        raise RuntimeError(f"{html_path} did not get ready: {page.errors}") from exc
    page.evaluate(f"window.explorer = {TEST_API}")
    return page


def screenshots(explorer_dir, out_dir, browser=None, prefix="explorer_"):
    """Screenshot each view of the explorer after the interaction it is about; return the paths.

    ``<prefix>maps.png``: a lasso selection in the large view, lit up in every layer's map;
    ``<prefix>cell.png``: a clicked cell (misclassified with attribution maps when there is one),
    the side column scrolled to its neighbours across layers, attribution and IFeaLiD similarity
    under the pointer;
    ``<prefix>zoom.png``: the large view zoomed in until the cells' images are drawn, one hovered;
    ``<prefix>gallery.png``: the feature images of the deepest conv layer. A console error on any page is an error.
    Pass ``browser`` when one is already running (Playwright allows one sync session).
    """
    if browser is None:
        with chromium() as launched:
            return screenshots(explorer_dir, out_dir, launched, prefix)
    explorer_dir, out_dir = Path(explorer_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = ExplorerFiles(explorer_dir)
    shots = {"maps": _shot_maps, "cell": _shot_cell, "zoom": _shot_zoom, "gallery": _shot_gallery}
    paths = []
    for name, drive in shots.items():
        page = open_page(browser, explorer_dir / ("gallery.html" if name == "gallery" else "index.html"))
        drive(page, files)
        page.wait_for_timeout(300)
        path = out_dir / f"{prefix}{name}.png"
        page.screenshot(path=str(path))
        errors = list(page.errors)
        page.close()
        if errors:
            raise RuntimeError(f"{name}: console errors {errors}")
        paths.append(path)
    return paths


def _shot_maps(page, files):
    """Lasso the cells around the densest part of the large view's map (the deepest layer)."""
    xy = screen_positions(page, "main", files.n)
    box = page.locator("#main-view").bounding_box()
    centre = _densest(xy, 0.12 * min(box["width"], box["height"]))
    r = 0.16 * min(box["width"], box["height"])
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    wobble = 1 + 0.18 * np.sin(3 * angles)
    lasso(page, [(centre[0] + r * w * np.cos(a), centre[1] + 0.8 * r * w * np.sin(a)) for a, w in zip(angles, wobble)])
    page.wait_for_function("explorer.selected().length > 0")


def _shot_cell(page, files):
    """Click a misclassified cell with attribution and stored feature maps, then hover its image."""
    attribution = set((files.meta.get("attribution") or {}).get("cells") or [])
    stored = set((files.meta.get("ifealid") or {}).get("cells") or [])
    wrong = set(np.flatnonzero(files.column("misclassified") == "yes").tolist())
    for pool in (wrong & attribution & stored, attribution & stored, stored, set(range(files.n))):
        if pool:
            break
    xy = screen_positions(page, "main", files.n)
    candidates = sorted(pool)
    free = isolated(xy, 6)
    clickable = [i for i in candidates if free[i]]
    if clickable:
        page.mouse.click(*xy[clickable[0]])
        page.wait_for_function(f"explorer.tapped() === {clickable[0]}")
    else:
        page.evaluate(f"explorer.tap({candidates[0]})")
    page.wait_for_function("document.querySelectorAll('#neighbour-table tr[data-layer]').length > 0")
    ref = "canvas.ifealid-cell.reference"
    if stored:
        # a middle conv layer: localised features (conv1's are nearly the same everywhere)
        layers = page.evaluate("Array.from(document.querySelectorAll('#ifealid-layer option')).map(o => o.value)")
        page.select_option("#ifealid-layer", layers[len(layers) // 2])
        page.wait_for_function(f"(() => {{ const c = document.querySelector('{ref}'); return !!(c && c.onpointermove); }})()")
        if page.evaluate("document.querySelectorAll('canvas.ifealid-cell').length") < 3:
            page.select_option("#ifealid-others", "stored")
        page.wait_for_function(f"(() => {{ const c = document.querySelector('{ref}'); return !!(c && c.onpointermove); }})()")
    # the side column scrolls on its own: show the neighbours, attribution and IFeaLiD panels
    page.evaluate("""() => { const side = document.getElementById('side'),
                                   panel = document.getElementById('neighbour-table').closest('.panel');
                             side.scrollTop += panel.getBoundingClientRect().top - side.getBoundingClientRect().top; }""")
    if stored:
        page.locator(ref).scroll_into_view_if_needed()  # below a tall attribution panel
        b = page.locator(ref).bounding_box()
        page.mouse.move(b["x"] + 0.5 * b["width"], b["y"] + 0.45 * b["height"])
        page.wait_for_function("explorer.ifealidLastSimilarity() !== null")


def _shot_zoom(page, files):
    """Zoom the large view at its densest point until at most 60 cells (a quarter of a small run)
    are in view; hover one."""
    box = page.locator("#main-view").bounding_box()
    xy = screen_positions(page, "main", files.n)
    centre = _densest(xy, 0.1 * min(box["width"], box["height"]))
    page.mouse.move(*centre)
    target = max(12, min(60, files.n // 4))
    for _ in range(40):
        if page.evaluate("explorer.visibleCount()") <= target:
            break
        page.mouse.wheel(0, -240)
        page.wait_for_timeout(40)
    page.wait_for_function("explorer.thumbnailsShown() > 0 && explorer.thumbnailsShown() === explorer.visibleCount()",
                           timeout=15000)
    xy = screen_positions(page, "main", files.n)
    inside = ((xy[:, 0] > box["x"] + 0.55 * box["width"]) & (xy[:, 0] < box["x"] + 0.85 * box["width"])
              & (xy[:, 1] > box["y"] + 0.2 * box["height"]) & (xy[:, 1] < box["y"] + 0.6 * box["height"]))
    if inside.any():
        i = int(np.flatnonzero(inside)[0])
        page.mouse.move(*xy[i])
        page.wait_for_function(f"document.querySelector('#tooltip').dataset.thumb === '{i}'", timeout=10000)


def _shot_gallery(page, files):
    """Show the deepest layer of the gallery (the most channels)."""
    layers = page.evaluate("Array.from(document.querySelectorAll('#layer option')).map(o => o.value)")
    if layers:
        page.select_option("#layer", layers[-1])
        page.wait_for_function(f"document.body.dataset.layer === {json.dumps(layers[-1])}")


def _densest(xy, radius):
    """The point with the most other points within ``radius``."""
    from scipy.spatial import cKDTree
    counts = cKDTree(xy).query_ball_point(xy, radius, return_length=True)
    return xy[int(np.argmax(counts))]


def _try_install():
    """apt-get install Debian's chromium when we are root and apt-get exists."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "apt-get not available (or not root)"
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                       capture_output=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    except (subprocess.SubprocessError, OSError) as exc:
        return f"apt-get install chromium failed: {exc}"
    return None


def require_browser():
    """Make sure Playwright and Chromium are usable; skip (or fail under CI=true) otherwise."""
    problem = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright Python package is not installed (pip install playwright)"
    if problem is None and chromium_path() is None:
        reason = _try_install()
        if chromium_path() is None:
            problem = f"Chromium is missing and could not be installed: {reason}"
    if problem:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run under CI: {problem}")
        pytest.skip(problem)


def canvas_signature(page, selector):
    """The canvas as a PNG data URL: equal strings mean identical pixels."""
    return page.evaluate("sel => document.querySelector(sel).toDataURL()", selector)


def canvas_pixel(page, selector, x, y):
    """RGBA of one canvas pixel."""
    return tuple(page.evaluate(
        """([sel, x, y]) => Array.from(document.querySelector(sel).getContext('2d')
                                      .getImageData(x, y, 1, 1).data)""", [selector, x, y]))


def canvas_pixels(page, selector, points):
    """RGB (n, 3) int array of canvas pixels at integer (x, y) canvas coordinates."""
    rgba = page.evaluate(
        """([sel, pts]) => { const c = document.querySelector(sel), d = c.getContext('2d')
                               .getImageData(0, 0, c.width, c.height).data, out = [];
                             for (const [x, y] of pts) { const o = 4 * (y * c.width + x); out.push([d[o], d[o + 1], d[o + 2]]); }
                             return out; }""", [selector, [[int(x), int(y)] for x, y in points]])
    return np.array(rgba, dtype=int).reshape(-1, 3)


# ----------------------------------------------------------------------------- the explorer's files

def assigned(path):
    """What one of the explorer's data scripts assigns: (its key path in cellscape.payload, the JSON payload)."""
    last = Path(path).read_text().strip().splitlines()[-1]
    match = re.search(r'^(window\.cellscape\.payload(?:\["[^"]*"\])+) = (.*);$', last)
    return re.findall(r'\["([^"]*)"\]', match.group(1)), json.loads(match.group(2))


def decoded(b64, dtype):
    """A base64 little-endian array of docs/explorer.md as numpy."""
    return np.frombuffer(base64.b64decode(b64), dtype=np.dtype(dtype).newbyteorder("<"))


def packed_planes(uris, n_channels, lossless=True):
    """The channel planes of packed sheets (docs/explorer.md, "channel planes") as the page decodes
    them: sheet g's red, green, blue are channels 3g, 3g + 1, 3g + 2 -> (C, H, W) uint8."""
    import io
    from PIL import Image
    bands = [np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))
             for uri in uris]
    stacked = np.concatenate([np.moveaxis(b, -1, 0) for b in bands])
    assert len(uris) == -(-n_channels // 3)
    assert not (lossless and stacked[n_channels:].any())  # unused bands are 0 (JPEG bleeds into them)
    return stacked[:n_channels]


def sprite_cell(sheet, k, size, columns):
    """Image ``k`` of a (..., H, W) sprite sheet of ``size`` px images, ``columns`` to a row."""
    r, c = divmod(k, columns)
    return sheet[..., r * size:(r + 1) * size, c * size:(c + 1) * size]


def composed(planes, channels, on=None):
    """What the page shows of (C, H, W) uint8 planes (channels.js, in numpy): the channels that are
    ``on`` (default all) added in their ``colour``, ``floor((sum + 127) / 255)``, clipped -> (H, W, 3)."""
    on = np.ones(len(channels), dtype=bool) if on is None else np.asarray(on, dtype=bool)
    colours = np.array([[int(c["colour"][i:i + 2], 16) for i in (1, 3, 5)] for c in channels]) * on[:, None]
    total = np.einsum("chw,ck->hwk", np.asarray(planes, dtype=np.int64), colours)
    return np.minimum(255, (total + 127) // 255)


class ExplorerFiles:
    """The data files of a built explorer (docs/explorer.md), decoded with numpy, independently of
    the page's JavaScript: what the page tests compare the page's state with."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.meta = assigned(self.folder / "data/meta.js")[1]
        cells = assigned(self.folder / "data/cells.js")[1]
        self.ids = list(cells["ids"])
        self.index = {cid: i for i, cid in enumerate(self.ids)}
        self.columns = cells["columns"]
        self.layers = [layer["name"] for layer in self.meta["layers"]]
        self.n = len(self.ids)

    def column(self, name):
        """A column's values: numbers as float32, categories as their names (object array)."""
        col = self.columns[name]
        data = decoded(col["data"], col.get("dtype") or ("float32" if col["kind"] == "number" else "uint8"))
        return np.array(col["categories"], dtype=object)[data] if col["kind"] == "category" else data

    def map(self, layer, method=None):
        """{x, y, gx, gy}: the map's coordinates in the unit square (float64)."""
        method = method or self.meta["methods"][0]
        payload = assigned(self.folder / f"data/map_{layer}_{method}.js")[1]
        return {axis: decoded(payload[axis], "uint16") / 65535 for axis in ("x", "y", "gx", "gy") if payload.get(axis)}

    def neighbours(self, layer):
        """(n, k) neighbour indices of one layer."""
        payload = assigned(self.folder / f"data/neighbours_{layer}.js")[1]
        return decoded(payload, "uint32").reshape(self.n, -1).astype(int)

    def cell_planes(self, i):
        """(C, S, S) uint8 channel planes of cell ``i``, cut from its tile."""
        tile = self.meta["tile"]
        t, k = divmod(i, tile["cells"])
        uris = assigned(self.folder / f"tiles/tile_{t:05d}.js")[1]
        return sprite_cell(packed_planes(uris, len(self.meta["channels"])), k, tile["size"], tile["columns"])

    def attribution(self):
        path = self.folder / "data/attribution.js"
        return assigned(path)[1] if path.exists() else None


# ----------------------------------------------------------------------------- driving the page

def view_selector(view):
    """CSS selector of a map view's host: "main" or a layer's small multiple."""
    return "#main-view" if view == "main" else f'#multiples figure[data-layer="{view}"] .mapview'


def fitted_screen(page, view, u, v):
    """Viewport CSS pixels of map coordinates (u, v) in a view whose camera was never moved: the
    unit square is scaled to 92% of the canvas's shorter side and centred, y pointing up."""
    box = page.locator(view_selector(view) + " canvas.mv-overlay").bounding_box()
    w, h = box["width"], box["height"]
    s = 0.92 * min(w, h)
    return box["x"] + (w - s) / 2 + np.asarray(u) * s, box["y"] + (h + s) / 2 - np.asarray(v) * s


def canvas_point(page, view, x, y):
    """Viewport CSS pixels -> integer pixel of a view's canvases (devicePixelRatio 1)."""
    box = page.locator(view_selector(view) + " canvas.mv-overlay").bounding_box()
    return np.floor(np.asarray(x) - box["x"]).astype(int), np.floor(np.asarray(y) - box["y"]).astype(int)


def lasso(page, vertices):
    """Shift-drag a lasso through integer viewport points (one pointer move per vertex, so the
    page's polygon is exactly these vertices)."""
    vertices = [(int(round(x)), int(round(y))) for x, y in vertices]
    page.keyboard.down("Shift")
    page.mouse.move(*vertices[0])
    page.mouse.down()
    for x, y in vertices[1:]:
        page.mouse.move(x, y)
    page.mouse.up()
    page.keyboard.up("Shift")


def polygon_around(centre, radius, vertices=9):
    """An irregular (lobed) polygon of integer viewport points around ``centre``, for ``lasso``."""
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = radius * (1 + 0.3 * np.sin(2 * angles + 0.5))
    return [(int(round(centre[0] + q * np.cos(a))), int(round(centre[1] + 0.8 * q * np.sin(a))))
            for a, q in zip(angles, r)]


def selection_shades(page, view, xy, selected, clearance=5.0):
    """How a view draws a linked selection: the darkest RGB channel of the pixel under each
    selected cell (low: full colour, or a misclassified cell's dark outline) and under each
    unselected cell farther than ``clearance`` px from every selected one (high: faded towards
    white). ``xy``: (n, 2) viewport positions of every cell in that view; cells outside it are
    left out."""
    selector = view_selector(view) + " canvas.mv-points"
    box = page.locator(selector).bounding_box()
    px, py = np.floor(xy[:, 0] - box["x"]).astype(int), np.floor(xy[:, 1] - box["y"]).astype(int)
    shown = (px >= 0) & (py >= 0) & (px < box["width"]) & (py < box["height"])
    darkest = np.full(len(xy), -1)
    darkest[shown] = canvas_pixels(page, selector, zip(px[shown], py[shown])).min(axis=1)
    selected = np.asarray(selected, dtype=bool)
    from scipy.spatial import cKDTree
    distance, _ = cKDTree(xy[selected]).query(xy)
    return darkest[selected & shown], darkest[~selected & shown & (distance > clearance)]


def inside_polygon(x, y, polygon):
    """Even-odd rule: which points (x, y arrays) lie inside the closed polygon [(x, y), ...]."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    inside = np.zeros(x.shape, dtype=bool)
    poly = np.asarray(polygon, dtype=float)
    for (xa, ya), (xc, yc) in zip(poly, np.roll(poly, 1, axis=0)):
        crosses = (ya > y) != (yc > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (xc - xa) * (y - ya) / (yc - ya) + xa
        inside ^= crosses & (x < at)
    return inside


def distance_to_polygon(x, y, polygon):
    """Each point's distance to the polygon's nearest edge."""
    p = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    poly = np.asarray(polygon, dtype=float)
    best = np.full(len(p), np.inf)
    for a, b in zip(poly, np.roll(poly, -1, axis=0)):
        ab = b - a
        t = np.clip(((p - a) @ ab) / max(ab @ ab, 1e-12), 0, 1)
        best = np.minimum(best, np.linalg.norm(p - (a + t[:, None] * ab), axis=1))
    return best


def screen_positions(page, view, n):
    """(n, 2) viewport positions of every cell in a view, from the page's screenPosition hook."""
    return np.array(page.evaluate(
        "([view, n]) => { const out = []; for (let i = 0; i < n; i++) { const p = explorer.screenPosition(view, i); out.push([p.x, p.y]); } return out; }",
        [view, n])).reshape(-1, 2)


def isolated(points, radius):
    """Which points have no other point within ``radius`` (same units)."""
    from scipy.spatial import cKDTree
    if len(points) < 2:
        return np.ones(len(points), dtype=bool)
    distance, _ = cKDTree(points).query(points, k=2)
    return distance[:, 1] > radius
