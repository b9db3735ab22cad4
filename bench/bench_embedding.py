"""Benchmark: streamed reduction + UMAP vs umap-learn on the full matrix, t-SNE backends,
sparse vs dense grid assignment, and the fixed cost of an embedding job.

Not a test. Every timed step runs in its own fresh subprocess (``python -c``) that prints
its wall time and its own peak resident memory (``VmHWM`` of ``/proc/self/status``), so
the measurements do not leak into each other.

(a) conv1 of simulated cells (the trained default model if ``results/model/weights.pt`` exists,
    else a He-initialised paper model): the workflow's ``dump_and_reduce`` (float16 dump to
    disk, reduced to 50 dimensions while dumping with the single-pass projection PCA, or
    afterwards with the multi-pass randomized PCA) + ``UMAPEmbedder`` in another process; the
    pipeline's time is the sum, its peak memory the larger of the two. Baseline = the same
    forward pass collected into a float32 matrix in memory + ``umap.UMAP`` on it (its own
    neighbour search and numba compilation, as one would run it). Trustworthiness (k=15) of
    every map against the full features (exact distances).
(b) t-SNE: openTSNE vs sklearn Barnes-Hut, both single-threaded, on n x 50.
(c) grid assignment: ``lapmod`` vs scipy's dense ``linear_sum_assignment``: time, cost ratio.
(d) fixed cost of an embedding job: fresh process, import + UMAP of 300 x 50 with a warm
    numba cache (``NUMBA_CACHE_DIR``), measured after one warm-up run.

``run("quick")``: 1,500 rows for (a), 2,000 points for (b) and (c) (< 5 min); ``run("full")``:
5,625 everywhere; ``run("smoke")``: 64 and 300 (the code path only).

    PYTHONPATH=scripts .venv/bin/python bench/bench_embedding.py [--full]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))

_CHILD_HEADER = f"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {str(SCRIPTS)!r})
import numpy as np
def _peak_gb():  # VmHWM, not ru_maxrss: a child inherits its parent's high-water mark across fork and exec
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024 ** 2
_started = time.perf_counter()
"""
_CHILD_FOOTER = """
_result = dict(seconds=time.perf_counter() - _started, peak_gb=_peak_gb())
_result.update(globals().get("extra", {}))
print("RESULT " + json.dumps(_result))
"""


def run_child(code, env=None, threads=1):
    """Run ``code`` in a fresh interpreter; returns its RESULT dict (seconds, peak_gb, extra)."""
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
                   "NUMBA_NUM_THREADS": str(threads), **(env or {})}
    completed = subprocess.run([sys.executable, "-c", _CHILD_HEADER + code + _CHILD_FOOTER], env=environment,
                               capture_output=True, text=True)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child failed:\n{completed.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def _row(name, value, unit, baseline, baseline_value, higher_is_better=False):
    ratio = (value / baseline_value if higher_is_better else baseline_value / value) if value and baseline_value else None
    return dict(name=name, value=float(value), unit=unit, baseline=baseline, baseline_value=float(baseline_value),
                ratio=None if ratio is None else float(ratio))


def write_cells(path, n, seed=0):
    """n simulated cells (half lymphocytes), background removed at 20%, channels to [0, 1]."""
    from cellscape.data.preprocess import normalise_per_image, subtract_background, threshold_channels
    from cellscape.data.simulate import resolve_params, simulate_event
    params, rng = resolve_params(), np.random.default_rng(seed)
    images = np.empty((n, 2, 78, 78), dtype=np.float32)
    for i in range(n):
        raw, _ = simulate_event(rng, ("lymphocyte", "neutrophil")[i % 2], params)
        images[i] = normalise_per_image(threshold_channels(subtract_background(raw.astype(np.float32)), 0.2))
    np.save(path, images)


_MODEL_CODE = f"""
import torch
from cellscape.model.network import build_model
PAPER = {{"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}}
WEIGHTS = {str(ROOT / "results" / "model" / "weights.pt")!r}
torch.manual_seed(0)
model = build_model(PAPER, 78, 2)
try:
    model.load_state_dict(torch.load(WEIGHTS, weights_only=True))
except Exception:  # no default run yet (or another architecture): a He-initialised paper model
    pass
model.eval()
images = np.load(IMAGES, mmap_mode="r")
"""


def bench_reduction_umap(n, workdir, random_state=0, threads=2, numba_cache=None):
    """conv1 of n simulated cells: the workflow's dump (+ reduction while dumping) + UMAP on 50
    dimensions, against the straightforward pipeline: the same forward pass collected into a
    float32 matrix in memory and umap-learn on it. Both run with ``threads`` threads."""
    work = Path(workdir)
    images = work / "images.npy"
    write_cells(images, n, seed=random_state)
    label = f"conv1 of {n} simulated cells x 194688"
    cache = {"NUMBA_CACHE_DIR": str(numba_cache or work / "numba")}
    head = _MODEL_CODE.replace("IMAGES", repr(str(images)))
    rows, maps = [], {}
    for reduction in ("projection_pca", "rpca"):
        reduced, maps[reduction] = work / f"reduced_{reduction}.npy", work / f"ours_{reduction}.npy"
        dump = run_child(head + f"""
torch.set_num_threads({threads})
from cellscape.activations.dump import dump_and_reduce
np.save({str(reduced)!r}, dump_and_reduce(model, images, np.arange(len(images)), "conv1",
        {str(work / "features.npy")!r}, {reduction!r}, k=50, seed={random_state}))
""", threads=threads)
        embed_code = f"""
from cellscape.embedding_methods import make_embedder
np.save({str(maps[reduction])!r}, make_embedder("umap", None, {random_state}).fit_transform(np.load({str(reduced)!r})))
"""
        run_child(embed_code, env=cache, threads=threads)  # warm the numba cache, as a workflow run would
        embed = run_child(embed_code, env=cache, threads=threads)
        rows.append((reduction, dump, embed))
    base_map = work / "base.npy"
    baseline = run_child(head + f"""
torch.set_num_threads({threads})
from cellscape.model.hooks import layer_batches
X = np.empty((len(images), 194688), dtype=np.float32)
start = 0
for outputs in layer_batches(model, images, ["conv1"], reduce="flatten"):
    batch = outputs["conv1"]
    X[start:start + len(batch)] = batch
    start += len(batch)
forward_seconds = time.perf_counter() - _started
import umap
Y = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state={random_state}).fit_transform(X)
seconds, peak = time.perf_counter() - _started, _peak_gb()
np.save({str(base_map)!r}, Y)
from sklearn.manifold import trustworthiness
T = torch.from_numpy(X); sq = (T * T).sum(1)
D = (sq[:, None] + sq[None, :] - 2 * T @ T.T).clamp_min(0).sqrt().numpy().astype(np.float64)
np.fill_diagonal(D, 0)
trust = {{name: trustworthiness(D, np.load(path), n_neighbors=15, metric="precomputed")
         for name, path in {{"base": {str(base_map)!r}, "projection_pca": {str(maps["projection_pca"])!r},
                             "rpca": {str(maps["rpca"])!r}}}.items()}}
extra = dict(base_seconds=seconds, base_peak=peak, forward_seconds=forward_seconds, trust=trust)
""", threads=threads)
    out = []
    for reduction, dump, embed in rows:
        seconds = dump["seconds"] + embed["seconds"]
        peak = max(dump["peak_gb"], embed["peak_gb"])
        what = f"dump+{reduction}+umap"
        out += [
            _row(f"{what} seconds [{label}]", seconds, "s", "forward into float32 + umap-learn",
                 baseline["base_seconds"]),
            _row(f"{what} peak memory [{label}]", peak, "GB", "forward into float32 + umap-learn",
                 baseline["base_peak"]),
            _row(f"{what} trustworthiness k=15 [{label}]", baseline["trust"][reduction], "[0,1]",
                 "umap-learn on full float32", baseline["trust"]["base"], higher_is_better=True),
            _row(f"  of which dump+{reduction} seconds [{label}]", dump["seconds"], "s",
                 "the baseline's forward pass into float32", baseline["forward_seconds"]),
        ]
    return out


def bench_tsne(n, random_state=0):
    data = f"""
rng = np.random.default_rng({random_state})
X = rng.normal(size=({n}, 50)); X[: {n} // 2, :5] += 2.0
"""
    ours = run_child(data + f"""
import openTSNE
_started = time.perf_counter()
openTSNE.TSNE(perplexity=30, n_jobs=1, random_state={random_state}).fit(X)
""")
    sklearn = run_child(data + f"""
from sklearn.manifold import TSNE
_started = time.perf_counter()
TSNE(perplexity=30, n_jobs=1, random_state={random_state}).fit_transform(X)
""")
    return [_row(f"tsne seconds openTSNE [{n}x50]", ours["seconds"], "s", "sklearn TSNE (Barnes-Hut)",
                 sklearn["seconds"])]


def bench_gridmap(n, random_state=0):
    code = f"""
from cellscape.embeddings.gridmap import grid_positions
rng = np.random.default_rng({random_state})
centres = rng.normal(size=(6, 2)) * 20
Y = np.vstack([rng.normal(size=({n} // 6 + 1, 2)) * rng.uniform(1, 4) + c for c in centres])[:{n}]
_started = time.perf_counter()
G, cost = grid_positions(Y, method=METHOD, solver="scipy")
extra = dict(cost=cost)
"""
    sparse = run_child(code.replace("METHOD", '"lapmod"'))
    dense = run_child(code.replace("METHOD", '"dense"'))
    return [_row(f"gridmap seconds lapmod [{n} clustered points]", sparse["seconds"], "s",
                 "scipy linear_sum_assignment (dense)", dense["seconds"]),
            _row(f"gridmap cost lapmod / optimum [{n}]", sparse["cost"], "sq. grid units", "scipy optimum",
                 dense["cost"])]


def bench_fixed_cost(workdir, random_state=0, numba_cache=None):
    """``numba_cache``: a cache that may be warm already (smoke mode: the test session's), so the
    "cold" side is cold only without it."""
    code = f"""
from cellscape.embedding_methods import make_embedder
X = np.random.default_rng({random_state}).normal(size=(300, 50))
make_embedder("umap", None, {random_state}).fit_transform(X)
"""
    cache = {"NUMBA_CACHE_DIR": str(numba_cache or Path(workdir) / "numba")}
    cold = run_child(code, env=cache)
    warm = run_child(code, env=cache)
    return [_row("embedding job fixed cost, warm numba cache (import + UMAP 300x50)", warm["seconds"], "s",
                 "same, first run" + (" (shared cache)" if numba_cache else ", cold cache"), cold["seconds"])]


#: (cells dumped and embedded, points of t-SNE and grid mapping) per mode
SIZES = {"smoke": (64, 300), "quick": (1500, 2000), "full": (5625, 5625)}


def run(mode="quick", random_state=0):
    """Rows {name, value, unit, baseline, baseline_value, ratio} (ratio > 1 = ours better)."""
    cells, points = SIZES[mode]
    # smoke: numba compiles once per test session (its NUMBA_CACHE_DIR), not in every benchmark
    shared = os.environ.get("NUMBA_CACHE_DIR") if mode == "smoke" else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_embedding_") as workdir:
        rows += bench_fixed_cost(workdir, random_state, shared)
        rows += bench_reduction_umap(cells, workdir, random_state, numba_cache=shared)
    rows += bench_gridmap(points, random_state)
    rows += bench_tsne(points, random_state)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="5,625 rows/points instead of the quick sizes")
    args = parser.parse_args()
    sys.path.insert(0, str(SCRIPTS))
    for row in run(mode="full" if args.full else "quick"):
        ratio = "" if row["ratio"] is None else f"  ratio {row['ratio']:.2f}"
        print(f"{row['name']}: {row['value']:.4g} {row['unit']} vs {row['baseline']} {row['baseline_value']:.4g}{ratio}")
