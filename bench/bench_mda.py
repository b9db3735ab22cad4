"""Benchmark: MDA vs plain umap-learn UMAP on the same features.

Not a test. Input: 5,625 x 50 synthetic features with a continuous target (a swiss roll
rotated into 50-D plus noise, target = the roll parameter: a curved manifold that
distance-based maps can fold), or real features + target given to ``run``. Both methods are
timed in the same process with the same seed (so both run UMAP single-threaded) after a
warm-up fit of each (on >= 4,096 points when the input is that large), so numba compilation (including pynndescent's, which
only kicks in from 4,096 points) is not counted. Scores: seconds, geodesic-distance
correlation, cross-validated k-NN RMSE of the target, trustworthiness.

``run("quick")`` uses 1,500 points (UMAP's exact-neighbour path, ~10 s); ``run("full")``
the full 5,625; ``run("smoke")`` 300 (the code path only). ``--figure PATH`` also draws MDA / UMAP / t-SNE / PCA of a 2,000-point
S-curve coloured by its parameter.

    PYTHONPATH=scripts .venv/bin/python bench/bench_mda.py [--full] [--figure PATH]
"""
import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from cellscape.mda.scores import embedding_scores  # noqa: E402
from cellscape.mda.estimator import MDA  # noqa: E402

warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")


def embed_in_high_dim(points, dim=50, noise=0.05, seed=0):
    """Rotate low-dimensional manifold points into ``dim`` dimensions and add noise."""
    rng = np.random.default_rng(seed)
    rotation = np.linalg.qr(rng.normal(size=(dim, dim)))[0]
    padded = np.hstack([points, np.zeros((len(points), dim - points.shape[1]))])
    return padded @ rotation + noise * rng.normal(size=(len(points), dim))


def synthetic_features(n, seed=0):
    from sklearn.datasets import make_swiss_roll
    points, t = make_swiss_roll(n, random_state=seed)
    return embed_in_high_dim(points / 5, seed=seed), t


def _warm_up(n_samples, n_features):
    """Compile the numba code paths the timed fits will use (NN-descent only from 4,096 points)."""
    import umap
    rng = np.random.default_rng(123)
    for n in (300, 4200) if n_samples >= 4096 else (300,):
        X = rng.normal(size=(n, n_features))
        umap.UMAP(random_state=0, n_epochs=5).fit(X)
        MDA(random_state=0).fit(X, rng.normal(size=n))


def _timed(fit):
    started = time.perf_counter()
    embedding = fit()
    return embedding, time.perf_counter() - started


#: synthetic points per mode
POINTS = {"smoke": 300, "quick": 1500, "full": 5625}


def run(mode="quick", features=None, target=None, random_state=0):
    """Rows {name, value, unit, baseline, baseline_value, ratio}: MDA (value) vs UMAP (baseline)."""
    import umap
    if features is None:
        features, target = synthetic_features(POINTS[mode], seed=random_state)
    X = np.asarray(features, dtype=np.float64)
    target = np.asarray(target)
    _warm_up(len(X), min(X.shape[1], 100))
    mda_map, mda_seconds = _timed(lambda: MDA(random_state=random_state).fit_transform(X, target))
    umap_map, umap_seconds = _timed(lambda: umap.UMAP(random_state=random_state).fit_transform(X))
    numeric_target = target if target.dtype.kind in "fiub" else None
    mda_scores = embedding_scores(X, mda_map, numeric_target, random_state=random_state)
    umap_scores = embedding_scores(X, umap_map, numeric_target, random_state=random_state)
    label = f"{len(X)}x{X.shape[1]}"
    _, lfda_seconds = _timed(lambda: MDA(projection="lfda", random_state=random_state).fit_transform(X, target))
    rows = [dict(name=f"mda_fit_seconds[{label}]", value=mda_seconds, unit="s",
                 baseline="umap_fit_seconds", baseline_value=umap_seconds),
            dict(name=f"mda_fit_seconds[{label}]", value=mda_seconds, unit="s",
                 baseline="mda_lfda_fit_seconds", baseline_value=lfda_seconds)]
    units = {"geodesic_correlation": "pearson r", "geodesic_correlation_knn": "pearson r",
             "trustworthiness": "[0,1]", "knn_rmse": "target units", "knn_r2": "R^2"}
    for key, unit in units.items():
        if key in mda_scores:
            rows.append(dict(name=f"mda_{key}[{label}]", value=mda_scores[key], unit=unit,
                             baseline=f"umap_{key}", baseline_value=umap_scores[key]))
    for row in rows:
        row["ratio"] = row["value"] / row["baseline_value"] if row["baseline_value"] else float("nan")
    return rows


def comparison_figure(path, n=2000, seed=0):
    """MDA / UMAP / t-SNE / PCA of a noisy S-curve in 50-D, coloured by the curve parameter."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import umap
    from sklearn.datasets import make_s_curve
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    points, t = make_s_curve(n, random_state=seed)
    X = embed_in_high_dim(points, seed=seed)
    maps = {"MDA": MDA(random_state=seed).fit_transform(X, t),
            "UMAP": umap.UMAP(random_state=seed).fit_transform(X),
            "t-SNE": TSNE(random_state=seed, init="pca").fit_transform(X),
            "PCA": PCA(2, random_state=seed).fit_transform(X)}
    fig, axes = plt.subplots(1, 4, figsize=(18, 4.6), constrained_layout=True)
    scores = {}
    for ax, (name, Y) in zip(axes, maps.items()):
        s = scores[name] = embedding_scores(X, Y, t, random_state=seed)
        points_drawn = ax.scatter(Y[:, 0], Y[:, 1], c=t, s=3, cmap="viridis", rasterized=True)
        ax.set_title(f"{name}\ngeodesic r = {s['geodesic_correlation']:.2f}, k-NN RMSE = {s['knn_rmse']:.3f}, "
                     f"trust. = {s['trustworthiness']:.3f}", fontsize=9)
        ax.set_xlabel(f"{name} 1")
        ax.set_ylabel(f"{name} 2")
    fig.colorbar(points_drawn, ax=axes, label="target: S-curve parameter t", shrink=0.9)
    fig.suptitle(f"S-curve ({n} points) rotated into 50-D with noise")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return scores


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="5,625 points instead of 1,500")
    parser.add_argument("--figure", type=Path, help="also write the S-curve comparison PNG here")
    args = parser.parse_args()
    print(f"{'name':42s} {'value':>10s} {'baseline':>26s} {'baseline_value':>14s} {'ratio':>7s}  unit")
    for row in run(mode="full" if args.full else "quick"):
        print(f"{row['name']:42s} {row['value']:10.4f} {row['baseline']:>26s} {row['baseline_value']:14.4f} "
              f"{row['ratio']:7.3f}  {row['unit']}")
    if args.figure:
        for name, s in comparison_figure(args.figure).items():
            print(name, {k: round(v, 3) for k, v in s.items()})
        print(f"figure: {args.figure}")


if __name__ == "__main__":
    main()
