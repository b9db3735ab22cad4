"""Benchmark: IFeaLiD frame time in headless Chromium (similarity map + draw), conv1 and conv10.

Not a test. Builds the explorer for the default model (random weights: timing does not depend
on the weights) and times, inside the page, one frame = angular similarity of one position to
all others + colour-mapping + upscaled draw, over many pointer positions. Baselines:

* naive JS: the same similarity without precomputed per-position norms, decoding the bytes on
  every frame (what a first implementation would do);
* numpy: ``cellscape.explorer.similarity_map`` per frame in Python (no drawing).

``run(quick=True)`` returns rows for the lead's benchmark table; ratio = baseline / value
(the speed-up of the page's code).

    PYTHONPATH=scripts .venv/bin/python bench/bench_explorer.py [--full]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))  # support.browser, support.demo

from cellscape.explorer import build_explorer, similarity_map  # noqa: E402
from support.browser import chromium, open_page  # noqa: E402
from support.demo import DEFAULT_MODEL, fabricate_inputs  # noqa: E402

LAYERS = ("conv1", "conv10")

# Straightforward version: dequantise from the base64 bytes and recompute both norms per pair.
NAIVE_JS = """
([layer, frames]) => {
  const L = CELLSCAPE.ifealidLayers[layer], bytes = atob(L.maps[0]);
  const n = L.height * L.width, c = L.channels, scale = (L.max - L.min) / 255;
  const sim = new Float32Array(n);
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) {
    const p = (f * 7919) % n;
    for (let i = 0; i < n; i++) {
      let dot = 0, a = 0, b = 0;
      for (let k = 0; k < c; k++) {
        const u = L.min + bytes.charCodeAt(i * c + k) * scale, v = L.min + bytes.charCodeAt(p * c + k) * scale;
        dot += u * v; a += u * u; b += v * v;
      }
      sim[i] = a > 0 && b > 0 ? 1 - Math.acos(Math.max(-1, Math.min(1, dot / Math.sqrt(a * b)))) / (Math.PI / 2) : 0;
    }
  }
  return (performance.now() - t0) / frames;
}
"""

FAST_JS = """
async ([layer, frames]) => {
  ifealid.state.layer = layer;
  await ifealid.select();
  const m = ifealid.state.map, n = m.h * m.w;
  ifealid.frame(0, 0);  // warm up
  const t0 = performance.now();
  for (let f = 0; f < frames; f++) { const p = (f * 7919) % n; ifealid.frame(p % m.w, Math.floor(p / m.w)); }
  return (performance.now() - t0) / frames;
}
"""


def numpy_ms(codes, low, high, frames):
    h, w = codes.shape[:2]
    started = time.perf_counter()
    for f in range(frames):
        p = (f * 7919) % (h * w)
        similarity_map(codes, low, high, p // w, p % w)
    return 1000 * (time.perf_counter() - started) / frames


def run(quick=True):
    torch.set_num_threads(1)
    frames = 20 if quick else 200
    inputs = fabricate_inputs(n_cells=8, model_cfg=DEFAULT_MODEL, methods=("umap",),
                              n_featuremap_cells=1, with_top_cells=False)
    inputs["featvis"] = {}
    rows = []
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        out = Path(tmp) / "explorer"
        build_explorer(out, **inputs)
        page = open_page(browser, out / "ifealid.html")
        for layer in LAYERS:
            fast = page.evaluate(FAST_JS, [layer, frames])
            naive = page.evaluate(NAIVE_JS, [layer, max(3, frames // 4)])
            codes, low, high = inputs["featuremaps"][layer]
            reference = numpy_ms(codes[0], low, high, max(3, frames // 4))
            shape = "x".join(map(str, codes.shape[1:]))
            for baseline, value in (("naive JS, norms recomputed per frame (no draw)", naive),
                                    ("numpy similarity_map per frame (no draw)", reference)):
                rows.append({"name": f"ifealid_frame_{layer}_{shape}", "value": round(fast, 3), "unit": "ms",
                             "baseline": baseline, "baseline_value": round(value, 3),
                             "ratio": round(value / fast, 2) if fast > 0 else None})
        if page.errors:
            raise RuntimeError(f"page errors: {page.errors}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="200 frames per layer instead of 20")
    args = parser.parse_args(argv)
    for row in run(quick=not args.full):
        print(f"{row['name']:28s} {row['value']:8.2f} {row['unit']}  vs {row['baseline_value']:8.2f} "
              f"({row['baseline']})  x{row['ratio']}")


if __name__ == "__main__":
    main()
