"""Benchmark: streamed reduction + UMAP vs umap-learn on the full matrix, t-SNE backends,
sparse vs dense grid assignment, and the fixed cost of an embedding job.

Not a test. Every timed step runs in its own fresh subprocess (``python -c``) that prints
its wall time and its own peak resident memory (``resource.getrusage(RUSAGE_SELF)``), so
the measurements do not leak into each other.

(a) conv1-sized features (``results/activations/conv1/features.npy`` if present, else a
    synthetic low-rank, ReLU'd float16 matrix of 194,688 columns written to a temp dir):
    ours = ``reduce_streamed`` (randomized PCA to 50, file read in row blocks) in one process
    + ``UMAPEmbedder`` on the 50 columns in another; the pipeline's time is the sum, its peak
    memory the larger of the two. Baseline = ``np.load`` as float32 + ``umap.UMAP`` (its own
    neighbour search and numba compilation, as one would run it). Trustworthiness (k=15) of
    both maps against the full features (exact distances). The activation dump is the same
    for both and is not counted.
(b) t-SNE: openTSNE vs sklearn Barnes-Hut, both single-threaded, on n x 50.
(c) grid assignment: ``lapmod`` vs scipy's dense ``linear_sum_assignment``: time, cost ratio.
(d) fixed cost of an embedding job: fresh process, import + UMAP of 300 x 50 with a warm
    numba cache (``NUMBA_CACHE_DIR``), measured after one warm-up run.

``run(quick=True)``: 1,500 rows for (a), 2,000 points for (b) and (c) (< 5 min);
``quick=False``: 5,625 everywhere.

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
N_FEATURES = 194_688  # conv1: 32 x 78 x 78

_CHILD_HEADER = f"""
import json, resource, sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {str(SCRIPTS)!r})
import numpy as np
_started = time.perf_counter()
"""
_CHILD_FOOTER = """
_result = dict(seconds=time.perf_counter() - _started,
               peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2)
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


def write_features(path, n, seed=0, batch=250):
    """Synthetic conv1-like activations: 30 latent factors, ReLU, float16, written in batches."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    basis = torch.randn(30, N_FEATURES, generator=generator) / np.sqrt(30)
    labels = np.arange(n) % 2
    shift = torch.zeros(30)
    shift[:3] = 1.5
    from cellscape.io import NpyRowWriter
    writer = NpyRowWriter(path, (N_FEATURES,), np.float16)
    for start in range(0, n, batch):
        rows = min(batch, n - start)
        latent = torch.randn(rows, 30, generator=generator) * torch.linspace(3, 0.5, 30)
        latent += torch.from_numpy(labels[start:start + rows, None].astype(np.float32)) * shift
        block = torch.relu(latent @ basis + 0.3 * torch.randn(rows, N_FEATURES, generator=generator))
        writer.append(block.numpy().astype(np.float16))
    writer.close()


def _row(name, value, unit, baseline, baseline_value, higher_is_better=False):
    ratio = (value / baseline_value if higher_is_better else baseline_value / value) if value and baseline_value else None
    return dict(name=name, value=float(value), unit=unit, baseline=baseline, baseline_value=float(baseline_value),
                ratio=None if ratio is None else float(ratio))


def bench_reduction_umap(n, workdir, random_state=0):
    features = Path(workdir) / "features.npy"
    real = ROOT / "results" / "activations" / "conv1" / "features.npy"
    if real.exists():
        source = np.load(real, mmap_mode="r")
        n = min(n, len(source))
        from cellscape.io import NpyRowWriter
        writer = NpyRowWriter(features, source.shape[1:], source.dtype)
        for start in range(0, n, 256):
            writer.append(source[start:min(n, start + 256)])
        writer.close()
        label = f"real conv1 {n}x{source.shape[1]}"
    else:
        write_features(features, n, seed=random_state)
        label = f"synthetic {n}x{N_FEATURES}"
    reduced, ours_map, base_map = (Path(workdir) / name for name in ("reduced.npy", "ours.npy", "base.npy"))
    cache = {"NUMBA_CACHE_DIR": str(Path(workdir) / "numba")}
    reduce_step = run_child(f"""
import torch; torch.set_num_threads(1)
from cellscape.reduce import reduce_streamed
np.save({str(reduced)!r}, reduce_streamed({str(features)!r}, "rpca", k=50, seed={random_state}, progress=False))
""")
    embed_code = f"""
from cellscape.embed import make_embedder
np.save({str(ours_map)!r}, make_embedder("umap", None, {random_state}).fit_transform(np.load({str(reduced)!r})))
"""
    run_child(embed_code, env=cache)  # warm the numba cache once, as a workflow run would
    embed_step = run_child(embed_code, env=cache)
    baseline = run_child(f"""
import umap
X = np.load({str(features)!r}).astype(np.float32)
Y = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state={random_state}).fit_transform(X)
seconds, peak = time.perf_counter() - _started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
np.save({str(base_map)!r}, Y)
import torch; torch.set_num_threads(1)
from sklearn.manifold import trustworthiness
T = torch.from_numpy(X); sq = (T * T).sum(1)
D = (sq[:, None] + sq[None, :] - 2 * T @ T.T).clamp_min(0).sqrt().numpy().astype(np.float64)
np.fill_diagonal(D, 0)
extra = dict(base_seconds=seconds, base_peak=peak,
             base_trust=trustworthiness(D, Y, n_neighbors=15, metric="precomputed"),
             ours_trust=trustworthiness(D, np.load({str(ours_map)!r}), n_neighbors=15, metric="precomputed"))
""")
    ours_seconds = reduce_step["seconds"] + embed_step["seconds"]
    ours_peak = max(reduce_step["peak_gb"], embed_step["peak_gb"])
    return [
        _row(f"reduce+umap seconds [{label}]", ours_seconds, "s", "umap-learn on full float32",
             baseline["base_seconds"]),
        _row(f"reduce+umap peak memory [{label}]", ours_peak, "GB", "umap-learn on full float32",
             baseline["base_peak"]),
        _row(f"reduce+umap trustworthiness k=15 [{label}]", baseline["ours_trust"], "[0,1]",
             "umap-learn on full float32", baseline["base_trust"], higher_is_better=True),
        dict(name=f"  of which reduction seconds / peak GB [{label}]", value=reduce_step["seconds"], unit="s",
             baseline="peak GB", baseline_value=reduce_step["peak_gb"], ratio=None),
    ]


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
from cellscape.gridmap import grid_positions
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


def bench_fixed_cost(workdir, random_state=0):
    code = f"""
from cellscape.embed import make_embedder
X = np.random.default_rng({random_state}).normal(size=(300, 50))
make_embedder("umap", None, {random_state}).fit_transform(X)
"""
    cache = {"NUMBA_CACHE_DIR": str(Path(workdir) / "numba")}
    cold = run_child(code, env=cache)
    warm = run_child(code, env=cache)
    return [_row("embedding job fixed cost, warm numba cache (import + UMAP 300x50)", warm["seconds"], "s",
                 "same, cold cache", cold["seconds"])]


def run(quick=True, random_state=0):
    """Rows {name, value, unit, baseline, baseline_value, ratio} (ratio > 1 = ours better)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_embedding_") as workdir:
        rows += bench_fixed_cost(workdir, random_state)
        rows += bench_reduction_umap(1500 if quick else 5625, workdir, random_state)
    rows += bench_gridmap(2000 if quick else 5625, random_state)
    rows += bench_tsne(2000 if quick else 5625, random_state)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="5,625 rows/points instead of the quick sizes")
    args = parser.parse_args()
    sys.path.insert(0, str(SCRIPTS))
    for row in run(quick=not args.full):
        ratio = "" if row["ratio"] is None else f"  ratio {row['ratio']:.2f}"
        print(f"{row['name']}: {row['value']:.4g} {row['unit']} vs {row['baseline']} {row['baseline_value']:.4g}{ratio}")
