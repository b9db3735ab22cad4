"""Benchmark: the explorer page (index.html) in headless Chromium, against the one-layer page of
git commit ``16e5d5f`` and against regl-scatterplot, on generated explorers of up to 100,000
cells x 12 layers.

Not a test. Every figure comes with a baseline measured in the same run:

* this page at N cells (quick: 20,000; ``--full``: 100,000; ``--cells N``): time to ready,
  median frame while panning and zooming the large view (real pointer drag and wheel), linked
  selection update in all 13 maps (a lasso drawn with real shift-drag pointer events in a small
  multiple: mouse-up to the end of the frame that shows it in every map; and ``select()`` of 20%
  of the cells), hover to thumbnail shown (real mouse move onto a cell whose tile is not loaded
  yet; median over several cells), JS heap (``--enable-precise-memory-info``), bytes on disk per
  cell, the largest file;
* the one-layer explorer (git commit ``16e5d5f``, its ``embedding.html``), built in a subprocess
  from ``git archive`` of that commit (its package and its own ``fabricate_inputs``; the two
  ``cellscape`` packages never share an interpreter) at the sizes it can load (its single sprite
  sheet breaks past ~44,000 cells): ready, hover to image, lasso selection update, heap, bytes;
  this page is measured at the same sizes;
* regl-scatterplot (``tools/explorer_bundle``) in the same Chromium at N points, one large view
  and 12 small multiples on one shared renderer: median large-view frame while panning, and one
  selection redraw across the 13 instances. This is why the page draws its maps on the CPU.

Hover and page-ready times are wall-clock from Python (the same way for both pages); frame and
selection times are read inside the page. Console errors or uncaught exceptions on any page
fail the run. ``ratio`` = baseline / value for times, sizes and memory (> 1: this page is
better); for the linear-growth row it is the bytes per cell at N over those at the smaller size.

    PYTHONPATH=scripts .venv/bin/python bench/bench_explorer.py [--full] [--cells N] [--keep DIR]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))  # support.browser, support.demo

from support.browser import CHROMIUM_ARGS, chromium_path, lasso, polygon_around, view_selector  # noqa: E402

OLD_COMMIT = "16e5d5f"
ARGS = CHROMIUM_ARGS + ["--enable-precise-memory-info"]
VIEWPORT = {"width": 1400, "height": 900}
BUNDLE = ROOT / "tools" / "explorer_bundle" / "dist" / "regl-scatterplot.js"
E = "window.cellscape.testApi"  # the page's test hooks (static/explorer_test_api.js)
LASSO = [(0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6), (0.3, 0.32)]  # the old page: fractions of its plot's box
LASSO_VIEW = "conv3"  # today's page: the small multiple the lasso is drawn in

# The bars the page must meet: (name prefix, comparison, limit).
BARS = {"page_ready": ("<=", 10.0), "pan_zoom_frame_median": ("<=", 50.0),
        "lasso_selection_update": ("<=", 200.0), "select_20pct_update": ("<=", 200.0),
        "hover_to_thumbnail": ("<=", 200.0), "js_heap": ("<=", 1500.0),
        "largest_file": ("<=", 16.0), "largest_tile": ("<=", 16.0)}

OLD_BUILD = """
import json, sys
from support.demo import DEFAULT_MODEL, fabricate_inputs
from cellscape.explorer import build_explorer
n, out = int(sys.argv[1]), sys.argv[2]
inputs = fabricate_inputs(n_cells=n, model_cfg=DEFAULT_MODEL, n_featuremap_cells=3, with_top_cells=False)
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # its size budget warning
    sizes = build_explorer(out, **inputs)
print(json.dumps(sizes))
"""

REGL_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<div style="position:relative;width:%(mw)dpx;height:%(mh)dpx"><canvas id="main"></canvas></div>
<div id="small" style="display:flex;flex-wrap:wrap;gap:6px;width:%(gw)dpx"></div>
<script src="regl-scatterplot.js"></script>
<script>
// Same approach as the front-end spike: one shared renderer, one large view, 12 small multiples.
const {createScatterplot, createRenderer} = window.reglScatterplot;
const N = %(n)d, renderer = createRenderer();
const ftimes = []; let fstart = 0;
renderer.onFrame(() => { fstart = performance.now(); });
let seed = 1; const rnd = () => (seed = (seed * 16807) %% 2147483647) / 2147483647;
const x = new Float32Array(N), y = new Float32Array(N), z = new Float32Array(N);
for (let i = 0; i < N; i++) {
  const a = rnd() * 6.283, r = Math.sqrt(rnd()) * 0.8 + (i %% 2) * 0.1;
  x[i] = r * Math.cos(a); y[i] = r * Math.sin(a); z[i] = i %% 2;
}
const common = {renderer, backgroundColor: '#ffffff', colorBy: 'valueA', pointColor: ['#1f77b4', '#ff7f0e']};
const plots = [createScatterplot({...common, canvas: document.getElementById('main'), width: %(mw)d, height: %(mh)d, pointSize: 3})];
for (let k = 0; k < 12; k++) {
  const d = document.createElement('div'); d.style.cssText = 'position:relative;width:%(sw)dpx;height:%(sh)dpx';
  const c = document.createElement('canvas'); d.appendChild(c); document.getElementById('small').appendChild(d);
  plots.push(createScatterplot({...common, canvas: c, width: %(sw)d, height: %(sh)d, pointSize: 1}));
}
renderer.onFrame(() => { const d = performance.now() - fstart; if (d > 1) ftimes.push(d); });
window.bench = {
  ftimes, plots, supported: renderer.isSupported,
  // ms from select() on all 13 instances to the end of the frame that drew the last of them
  select(indices) {
    return new Promise(resolve => {
      let left = plots.length; const t0 = performance.now();
      for (const p of plots) p.subscribe('draw', () => { if (--left === 0) resolve(performance.now() - t0); }, 1);
      for (const p of plots) p.select(indices, {preventEvent: true});
    });
  },
};
Promise.all(plots.map(p => p.draw({x, y, z}))).then(() => { document.body.dataset.ready = '1'; },
  e => { document.body.dataset.error = String(e); console.error(e); });
</script></body></html>
"""


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cells_per_tile():
    """The workflow's default (schemas/config.schema.yaml), not the fabricator's."""
    schema = yaml.safe_load((ROOT / "schemas" / "config.schema.yaml").read_text())
    return int(schema["properties"]["explorer"]["properties"]["cells_per_tile"]["default"])


# ---- building ------------------------------------------------------------------------------------
def folder_bytes(folder):
    """{relative path: bytes} of every file in the folder (pages, scripts, data)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


def per_cell_file(name):
    """Files whose size is proportional to the cells: cell table, maps, neighbours, tiles."""
    return (name.startswith("tiles/") or name == "data/cells.js" or name.startswith("data/map_")
            or name.startswith("data/neighbours_"))


def build_new(n, out, n_ifealid=1000):
    from cellscape.explorer import build_explorer
    from support.demo import DEFAULT_MODEL, fabricate_inputs
    t0 = time.perf_counter()
    inputs, _ = fabricate_inputs(n_cells=n, model_cfg=DEFAULT_MODEL, n_images=min(512, n),
                                 n_ifealid=min(n_ifealid, n), n_attribution=min(64, n), with_top_cells=False,
                                 seed=0)
    inputs["cells_per_tile"] = cells_per_tile()
    t1 = time.perf_counter()
    build_explorer(out, **inputs)
    del inputs
    print(f"  built this explorer, {n:,} cells: fabricate {t1 - t0:.0f} s, build "
          f"{time.perf_counter() - t1:.0f} s", flush=True)
    return folder_bytes(out)


def old_package(tmp):
    """The previous explorer's package and its tests/support, from git, under tmp/old."""
    root = Path(tmp) / "old"
    root.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", OLD_COMMIT, "scripts/cellscape", "tests/support"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(root)], input=archive, check=True)
    return root


def build_old(n, out, old_root):
    env = {**os.environ, "PYTHONPATH": f"{old_root / 'scripts'}{os.pathsep}{old_root / 'tests'}"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", OLD_BUILD, str(n), str(out)], cwd=old_root, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"building the {OLD_COMMIT} explorer at {n} cells failed:\n{done.stderr[-3000:]}")
    print(f"  built the {OLD_COMMIT} explorer, {n:,} cells: {time.perf_counter() - t0:.0f} s", flush=True)
    return folder_bytes(out)


# ---- browser -------------------------------------------------------------------------------------
class Session:
    """One fresh Chromium per page, so the heap figure is that page's alone."""

    def __init__(self, playwright):
        self.playwright = playwright
        self.errors = []

    def open(self, html, label, timeout_s=180):
        self.browser = self.playwright.chromium.launch(executable_path=chromium_path(), args=ARGS, headless=True)
        page = self.browser.new_page(viewport=VIEWPORT)
        page.on("console", lambda m: self.errors.append(f"{label}: console {m.type}: {m.text[:300]}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"{label}: pageerror: {e}"))
        t0 = time.perf_counter()
        page.goto(Path(html).resolve().as_uri())
        page.wait_for_function("document.body.dataset.ready === '1' || !!document.body.dataset.error",
                               timeout=timeout_s * 1000, polling=50)
        ready = time.perf_counter() - t0
        problem = page.evaluate("document.body.dataset.error || null")
        if problem:
            self.errors.append(f"{label}: did not get ready: {problem}")
        return page, ready

    def close(self):
        self.browser.close()


def lasso_polygon(page, view, n, sample=400):
    """Integer viewport points of a lasso around the middle of ``view``'s cells, from the page's own
    positions of a sample of them (``screenPosition`` scrolls the view into sight first), drawn as
    the page test draws it (``support.browser.polygon_around``)."""
    k = min(n, sample)
    points = page.evaluate(f"Array.from({{length: {k}}}, (_, j) => {E}.screenPosition('{view}', "
                           f"Math.floor(j * {n} / {k})))")
    box = page.locator(view_selector(view) + " canvas.mv-overlay").bounding_box()
    centre = statistics.median(p["x"] for p in points), statistics.median(p["y"] for p in points)
    return polygon_around(centre, 0.2 * min(box["width"], box["height"]))


def check_lasso_target(page, view, polygon):
    """Fail clearly when a lasso vertex would land on anything but ``view``'s overlay canvas (the
    element that takes the page's pointer events), instead of selecting nothing."""
    selector = view_selector(view) + " canvas.mv-overlay"
    missed = page.evaluate("""([points, selector]) => {
        const target = document.querySelector(selector);
        return points.map(([x, y]) => document.elementFromPoint(x, y))
                     .filter(e => e !== target).map(e => e ? e.tagName + '.' + e.className : 'nothing');
      }""", [polygon, selector])
    if missed:
        raise RuntimeError(f"lasso in {view}: {len(missed)} of {len(polygon)} vertices land on {missed[:3]}, "
                           f"not the map's overlay ({selector})")


def drag_polygon(page, box, shift):
    if shift:
        page.keyboard.down("Shift")
    x0, y0 = box["x"] + box["width"] * LASSO[0][0], box["y"] + box["height"] * LASSO[0][1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for fx, fy in LASSO[1:]:
        page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=4)
    page.mouse.up()
    if shift:
        page.keyboard.up("Shift")


def hover_ms(page, point, shown_js):
    """Wall-clock ms from a real mouse move onto ``point`` until ``shown_js`` is true."""
    page.mouse.move(2, 2)
    page.wait_for_timeout(150)
    t0 = time.perf_counter()
    page.mouse.move(point[0], point[1])
    page.wait_for_function(shown_js, timeout=20000, polling="raf")
    return 1000 * (time.perf_counter() - t0)


def zigzag(k):
    """A back-and-forth pan offset in CSS pixels (steps of 6 px, within +-60)."""
    return 6 * (k % 20 if (k // 20) % 2 == 0 else 20 - k % 20) - 60



def pan_and_zoom(page, cx, cy, quick):
    """The gesture both pages are timed on: a zigzag drag from (cx, cy), then wheel zooms in and out."""
    page.mouse.move(cx, cy)
    page.mouse.down()
    for k in range(25 if quick else 60):
        page.mouse.move(cx + zigzag(k), cy + zigzag(k + 5) / 2)
        page.wait_for_timeout(16)
    page.mouse.up()
    for step in range(12 if quick else 30):
        page.mouse.wheel(0, -60 if step % 6 < 4 else 80)
        page.wait_for_timeout(30)

def spread(n, k):
    """k cell indices spread over 0..n-1 (different thumbnail tiles)."""
    return [int((j + 0.5) * n / k) for j in range(k)]


def measure_new(session, folder, n, quick, label, full_set):
    """This page. ``full_set``: also frames, select(20%), tap and heap (the large run)."""
    page, ready = session.open(folder / "index.html", label)
    out = {"ready_s": ready}
    # hover -> thumbnail, first, while no tile is loaded
    times, hovered = [], []
    for i in spread(n, 5 if quick else 9):
        pos = page.evaluate(f"{E}.screenPosition('main', {i})")
        times.append(hover_ms(page, (pos["x"], pos["y"]),
                              "document.getElementById('tooltip').dataset.thumb !== undefined"))
        hovered.append(page.evaluate(f"{E}.hovered().index"))
    out["hover_ms"], out["hover_all_ms"], out["hovered"] = median(times), times, hovered
    page.mouse.move(2, 2)
    # lasso in a small multiple, with real shift-drag pointer events as the page test draws it
    # (support.browser.lasso, one move per vertex); check that every map's pixels changed
    polygon = lasso_polygon(page, LASSO_VIEW, n)
    sig = "Array.from(document.querySelectorAll('.mv-points')).map(c => c.toDataURL())"
    before = page.evaluate(sig)
    lat = []
    for _ in range(2 if quick else 3):
        previous = page.evaluate(f"{E}.inputsShown()")
        check_lasso_target(page, LASSO_VIEW, polygon)
        lasso(page, polygon)
        try:
            page.wait_for_function(f"{E}.inputsShown() > {previous} && {E}.selected().length > 0",
                                   timeout=20000)
        except Exception as error:
            state = page.evaluate(f"[{E}.selected().length, {E}.lastInputLatency()]")
            raise RuntimeError(f"{label}: the lasso {polygon} in {LASSO_VIEW} selected {state[0]} cells "
                               f"(last input latency {state[1]}, {previous} inputs drawn before)") from error
        lat.append(page.evaluate(f"{E}.lastInputLatency()"))
    after = page.evaluate(sig)
    out["lasso_ms"], out["lasso_all_ms"] = median(lat), lat
    out["lasso_cells"] = page.evaluate(f"{E}.selected().length")
    out["maps_changed"] = sum(a != b for a, b in zip(before, after))
    out["maps"] = len(before)
    if out["maps_changed"] != out["maps"]:
        session.errors.append(f"{label}: the lasso changed {out['maps_changed']} of {out['maps']} maps")
    if full_set:
        # programmatic selection of 20% of the cells, the large view at its initial fit
        sel = []
        for offset in range(2 if quick else 3):
            page.evaluate(f"{E}.select([])")
            page.evaluate(f"{E}.select(Array.from({{length: Math.floor({n} / 5)}}, (_, j) => j * 5 + {offset}))")
            sel.append(page.evaluate(f"{E}.lastInputLatency()"))
        out["select_ms"], out["select_all_ms"] = median(sel), sel
        page.evaluate(f"{E}.select([])")
        # tap: loads every layer's neighbour file (none loaded yet); then another cell, files loaded
        t0 = time.perf_counter()
        page.evaluate(f"{E}.tap({n // 3})")
        out["tap_s"] = time.perf_counter() - t0
        page.evaluate(f"{E}.tap(null)")
        t0 = time.perf_counter()
        page.evaluate(f"{E}.tap({n // 3 + 1})")
        out["tap_loaded_s"] = time.perf_counter() - t0
        page.evaluate(f"{E}.tap(null)")
        # pan and zoom the large view with real pointer events (last: a click would tap a cell)
        main = page.locator("#main-view")
        main.scroll_into_view_if_needed()
        mb = main.bounding_box()
        cx, cy = mb["x"] + mb["width"] / 2, mb["y"] + mb["height"] / 2
        page.wait_for_timeout(300)
        page.evaluate(f"{E}.frameTimes.length = 0")
        pan_and_zoom(page, cx, cy, quick)
        page.wait_for_timeout(300)
        frames = page.evaluate(f"{E}.frameTimes.slice()")
        out["frame_ms"], out["frames"] = median(frames), len(frames)
        out["frame_p90_ms"] = sorted(frames)[int(0.9 * (len(frames) - 1))] if frames else None
    out["heap_mb"] = (page.evaluate(f"{E}.heapBytes()") or 0) / 1e6
    session.close()
    return out


def measure_old(session, folder, n, quick, label):
    """The previous explorer's embedding.html: ready, hover -> image, lasso update, heap."""
    page, ready = session.open(folder / "embedding.html", label)
    out = {"ready_s": ready}
    times = []
    for i in spread(n, 5 if quick else 9):
        x, y = page.evaluate(f"embeddingExplorer.screenPosition({i})")
        times.append(hover_ms(page, (x, y), "!!document.getElementById('cell-image').dataset.cell"))
    out["hover_ms"], out["hover_all_ms"] = median(times), times
    page.mouse.move(2, 2)
    page.select_option("#select-mode", "lasso")
    # mouse-up (capture phase, before the page's handler) to the next animation frame
    page.evaluate("""() => { window.__lat = null;
      window.addEventListener('mouseup', () => { const t0 = performance.now();
        requestAnimationFrame(() => { window.__lat = performance.now() - t0; }); }, true); }""")
    box = page.locator("#plot").bounding_box()
    lat = []
    for _ in range(2 if quick else 3):
        page.evaluate("window.__lat = null")
        drag_polygon(page, box, shift=False)
        page.wait_for_function("window.__lat !== null", timeout=60000)
        lat.append(page.evaluate("window.__lat"))
    out["lasso_ms"], out["lasso_all_ms"] = median(lat), lat
    out["lasso_cells"] = int(page.evaluate("document.getElementById('selection-count').dataset.count || 0"))
    out["heap_mb"] = (page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0") or 0) / 1e6
    session.close()
    return out


def measure_regl(session, tmp, n, sizes, quick):
    """regl-scatterplot at n points: median large-view frame while panning; 13-instance selection."""
    if not BUNDLE.exists():
        subprocess.run(["bash", str(ROOT / "tools" / "explorer_bundle" / "build.sh")], check=True)
    folder = Path(tmp) / "regl"
    folder.mkdir(exist_ok=True)
    shutil.copy(BUNDLE, folder / "regl-scatterplot.js")
    (mw, mh), (sw, sh) = sizes
    (folder / "index.html").write_text(REGL_PAGE % {"n": n, "mw": mw, "mh": mh, "sw": sw, "sh": sh,
                                                    "gw": 4 * sw + 18})
    page, ready = session.open(folder / "index.html", "regl-scatterplot")
    out = {"ready_s": ready, "supported": page.evaluate("window.bench.supported")}
    page.wait_for_timeout(500)
    box = page.locator("#main").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("window.bench.ftimes.length = 0")
    pan_and_zoom(page, cx, cy, quick)
    page.wait_for_timeout(600)
    frames = page.evaluate("window.bench.ftimes.slice()")
    out["frame_ms"], out["frames"] = median(frames), len(frames)
    sel = []
    for offset in range(2 if quick else 3):
        page.wait_for_timeout(300)
        sel.append(page.evaluate(f"window.bench.select(Array.from({{length: Math.floor({n} / 5)}}, "
                                 f"(_, j) => j * 5 + {offset}))"))
    out["select_ms"], out["select_all_ms"] = median(sel), sel
    session.close()
    return out


# ---- rows ----------------------------------------------------------------------------------------
def row(name, value, unit, baseline, baseline_value, lower_is_better=True, bar_key=None):
    ratio = None
    if value and baseline_value:
        ratio = baseline_value / value if lower_is_better else value / baseline_value
    bar = BARS.get(bar_key or "")
    meets = None
    if bar and value is not None:
        meets = value <= bar[1]
    return {"name": name, "value": None if value is None else round(float(value), 3), "unit": unit,
            "baseline": baseline, "baseline_value": None if baseline_value is None else round(float(baseline_value), 3),
            "ratio": None if ratio is None else round(ratio, 3),
            "bar": f"{bar[0]} {bar[1]:g}" if bar else "", "meets": meets}


#: per mode: cells of the large run, the sizes both pages are measured at, IFeaLiD cells of the
#: large run (smoke: the code path only, on tiny explorers)
SIZES = {"smoke": (400, [200], 64), "quick": (20_000, [547, 2000], 1000), "full": (100_000, [547, 5000, 20_000], 1000)}


def run(mode="quick", cells=None, keep=None):
    """Rows {name, value, unit, baseline, baseline_value, ratio, bar, meets} (ratio > 1: ours better)."""
    from playwright.sync_api import sync_playwright
    if chromium_path() is None:
        raise RuntimeError("no Chromium found (apt-get install chromium, or set $CHROMIUM)")
    quick = mode != "full"
    n, small, n_ifealid = SIZES[mode]
    n = cells or n
    small = [s for s in small if s < n]
    load = os.getloadavg()
    print(f"bench_explorer: N = {n:,}, baseline sizes {small}, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} CPUs", flush=True)
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="bench_explorer_"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        old_root = old_package(tmp) if not (tmp / "old").exists() else tmp / "old"
        new_bytes, old_bytes = {}, {}
        new_bytes[n] = build_new(n, tmp / f"new_{n}", n_ifealid=n_ifealid)
        for s in small:  # feature maps of fewer cells: IFeaLiD is not measured here, and it is slow to fabricate
            new_bytes[s] = build_new(s, tmp / f"new_{s}", n_ifealid=64)
        for s in small:
            old_bytes[s] = build_old(s, tmp / f"old_{s}", old_root)
        new, old = {}, {}
        with sync_playwright() as p:
            session = Session(p)
            new[n] = measure_new(session, tmp / f"new_{n}", n, quick, f"this page, {n} cells", True)
            print(f"  this page at {n:,}: {json.dumps(new[n])}", flush=True)
            for s in small:
                new[s] = measure_new(session, tmp / f"new_{s}", s, quick, f"this page, {s} cells", False)
                old[s] = measure_old(session, tmp / f"old_{s}", s, quick, f"{OLD_COMMIT} page, {s} cells")
                print(f"  {s:,} cells: this page {json.dumps(new[s])}\n  {s:,} cells: {OLD_COMMIT} {json.dumps(old[s])}",
                      flush=True)
            page_sizes = view_sizes(p)
            regl = measure_regl(session, tmp, n, page_sizes, quick)
            print(f"  regl-scatterplot at {n:,}: {json.dumps(regl)}", flush=True)
            errors = session.errors
        rows = make_rows(n, small, new, old, regl, new_bytes, old_bytes, load)
        print_table(rows)
        end = os.getloadavg()
        print(f"load average at the end {end[0]:.2f} {end[1]:.2f} {end[2]:.2f}")
        if errors:
            raise RuntimeError("page errors:\n" + "\n".join(errors))
        return rows
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def view_sizes(playwright):
    """The large view's and a small multiple's CSS size in this page at our viewport (the page's
    own layout rule, explorer_maps.js build), so regl-scatterplot draws the same pixels."""
    vw, vh = VIEWPORT["width"], VIEWPORT["height"]
    mw = max(460, min(900, vw - 258 - 470 - 50))
    mh = max(340, min(760, vh - 492))
    sw = (mw - 3 * 6) // 4
    return (mw, mh), (sw, round(sw * 0.72))


def make_rows(n, small, new, old, regl, new_bytes, old_bytes, load):
    big, ref = new[n], max(small) if small else None
    old_ref = f"{OLD_COMMIT} embedding.html, {ref:,} cells" if ref else "none"
    o = old.get(ref, {})
    rows = [
        row(f"page_ready_{n}", big["ready_s"], "s", old_ref, o.get("ready_s"), bar_key="page_ready"),
        row(f"pan_zoom_frame_median_{n}", big["frame_ms"], "ms",
            f"regl-scatterplot, {n:,} points, 13 plots, shared renderer", regl["frame_ms"],
            bar_key="pan_zoom_frame_median"),
        row(f"lasso_selection_update_{n}", big["lasso_ms"], "ms", f"{old_ref} (1 map)", o.get("lasso_ms"),
            bar_key="lasso_selection_update"),
        row(f"lasso_selection_update_first_{n}", big["lasso_all_ms"][0], "ms", f"{old_ref} (1 map), first",
            o["lasso_all_ms"][0] if o else None, bar_key="lasso_selection_update"),
        row(f"select_20pct_update_{n}", big["select_ms"], "ms",
            f"regl-scatterplot select() in 13 plots, {n // 5:,} points", regl["select_ms"],
            bar_key="select_20pct_update"),
        row(f"hover_to_thumbnail_{n}", big["hover_ms"], "ms", old_ref, o.get("hover_ms"),
            bar_key="hover_to_thumbnail"),
        row(f"js_heap_{n}", big["heap_mb"], "MB", old_ref, o.get("heap_mb"), bar_key="js_heap"),
    ]
    for s in small:
        a, b = new[s], old[s]
        label = f"{OLD_COMMIT} embedding.html, {s:,} cells"
        rows += [row(f"page_ready_{s}", a["ready_s"], "s", label, b["ready_s"], bar_key="page_ready"),
                 row(f"lasso_selection_update_{s}", a["lasso_ms"], "ms", label + " (1 map)", b["lasso_ms"],
                     bar_key="lasso_selection_update"),
                 row(f"hover_to_thumbnail_{s}", a["hover_ms"], "ms", label, b["hover_ms"],
                     bar_key="hover_to_thumbnail"),
                 row(f"js_heap_{s}", a["heap_mb"], "MB", label, b["heap_mb"], bar_key="js_heap")]
    # bytes on disk
    total = {s: sum(b.values()) for s, b in new_bytes.items()}
    scaled = {s: sum(v for k, v in b.items() if per_cell_file(k)) for s, b in new_bytes.items()}
    for s in small:
        rows.append(row(f"disk_bytes_per_cell_{s}", total[s] / s, "B/cell",
                        f"{OLD_COMMIT} explorer, {s:,} cells", sum(old_bytes[s].values()) / s))
    rows.append(row(f"disk_bytes_per_cell_{n}", total[n] / n, "B/cell", old_ref,
                    sum(old_bytes[ref].values()) / ref if ref else None))
    if ref:
        rows.append(row(f"per_cell_files_bytes_per_cell_{n}", scaled[n] / n, "B/cell",
                        f"same files at {ref:,} cells (ratio 1 = linear)", scaled[ref] / ref, lower_is_better=False))
    largest = max(new_bytes[n].items(), key=lambda kv: kv[1])
    tiles = [v for k, v in new_bytes[n].items() if k.startswith("tiles/")]
    old_largest = max(old_bytes[ref].items(), key=lambda kv: kv[1]) if ref else (None, None)
    rows.append(row(f"largest_file_{n}", largest[1] / 1e6, "MB", f"{old_ref}: {old_largest[0]}",
                    old_largest[1] / 1e6 if ref else None, bar_key="largest_file"))
    rows[-1]["note"] = largest[0]
    rows.append(row(f"largest_tile_{n}", max(tiles) / 1e6, "MB", f"{old_ref}: its one sprite sheet (in data_cells.js)",
                    old_bytes[ref].get("data_cells.js", 0) / 1e6 if ref else None, bar_key="largest_tile"))
    if ref:
        rows.append(row(f"explorer_total_{n}", total[n] / 1e6, "MB",
                        f"{OLD_COMMIT} explorer at {ref:,} cells, scaled to {n:,} cells",
                        sum(old_bytes[ref].values()) / ref * n / 1e6))
    rows.append(row(f"tap_loads_neighbours_{n}", big["tap_s"], "s", "tap of another cell, files loaded",
                    big["tap_loaded_s"]))
    rows.append(row(f"page_ready_{n}_vs_regl", big["ready_s"], "s",
                    f"regl-scatterplot: 13 plots drawn, {n:,} points", regl["ready_s"], bar_key="page_ready"))
    for r in rows:
        r["load"] = f"{load[0]:.2f}"
    return rows


def fmt(v):
    return "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)


def print_table(rows):
    head = f"{'measure':34s} {'value':>10s} {'unit':6s} {'bar':>7s} {'ok':3s} {'baseline value':>14s} {'ratio':>7s}  baseline"
    print("\n" + head + "\n" + "-" * len(head))
    for r in rows:
        ok = "" if r["meets"] is None else ("yes" if r["meets"] else "NO")
        print(f"{r['name']:34s} {fmt(r['value']):>10s} {r['unit']:6s} {r['bar']:>7s} {ok:3s} "
              f"{fmt(r['baseline_value']):>14s} {fmt(r['ratio']):>7s}  {r['baseline']}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--full", action="store_true", help="100,000 cells, baselines at 547, 5,000, 20,000")
    sizes.add_argument("--smoke", action="store_true", help="400 cells, baseline at 200: the code path only")
    parser.add_argument("--cells", type=int, help="cells of the large run (default 20,000; --full 100,000)")
    parser.add_argument("--keep", help="keep the generated explorers in this folder")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    try:
        rows = run(mode="full" if args.full else "smoke" if args.smoke else "quick", cells=args.cells, keep=args.keep)
    finally:
        print(f"({time.perf_counter() - t0:.0f} s)")
    return 0 if all(r["meets"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
