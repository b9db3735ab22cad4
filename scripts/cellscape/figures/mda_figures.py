"""Figures of the MDA comparison (docs/mda.md; not paper figures, numbered 20-22).

- :func:`regression_maps_figure`: rows = embedding methods, columns = layers of the regression
  net, points coloured by a continuous value (the target, or the prediction error with a
  diverging scale centred on 0) with one shared colour bar.
- :func:`scores_figure`: geodesic distance correlation, k-NN target error, trustworthiness
  and fitting time per layer, one line per method.
- :func:`classifier_mda_figure`: the classifier's layers, MDA maps above UMAP maps, coloured
  by class.

Inputs are tables (pandas), never paths: the rule script reads the files.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import Normalize, TwoSlopeNorm
from matplotlib.lines import Line2D

from .common import CLASS_COLOURS, hide_axes

METHOD_LABELS = {"mda": "MDA", "umap": "UMAP", "tsne": "t-SNE", "pca": "PCA"}
METHOD_STYLES = {"mda": ("#d62728", "o"), "umap": ("#1f77b4", "s"), "tsne": ("#2ca02c", "^"),
                 "pca": ("#7f7f7f", "D")}
SCORE_PANELS = (("geodesic_correlation", "geodesic correlation, map Euclidean\n(higher = global geometry kept)"),
                ("geodesic_correlation_knn", "geodesic correlation, map k-NN geodesic\n(the MDA paper's form)"),
                ("knn_rmse", "k-NN RMSE of the target from the map\n(lower = map ordered by the target)"),
                ("trustworthiness", "trustworthiness (k = 5)\n(higher = map neighbours are real)"),
                ("seconds", "fitting time (s)"))


def _method_label(method):
    return METHOD_LABELS.get(method, method)


def _point_size(n):
    return float(np.clip(2000 / max(n, 1), 1.5, 12))


def _value_norm(values, diverging):
    """Colour scale robust to outliers: 1st-99th percentile, symmetric about 0 when diverging."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return Normalize(0, 1)
    if diverging:
        half = float(np.percentile(np.abs(values), 99)) or 1.0
        return TwoSlopeNorm(vcenter=0.0, vmin=-half, vmax=half)
    low, high = np.percentile(values, [1, 99])
    return Normalize(low, high if high > low else low + 1)


def regression_maps_figure(embeddings, layers, methods, column="target", colour_label="target",
                           diverging=False, title=None, panel_size=1.9):
    """Grid of maps: ``embeddings[(layer, method)]`` is a table with ``x``, ``y`` and ``column``.

    Every panel shares one colour scale (so colours compare across layers and methods).
    Returns the matplotlib figure.
    """
    if not layers or not methods:
        raise ValueError("need at least one layer and one method")
    norm = _value_norm(np.concatenate([embeddings[(layer, method)][column].to_numpy(dtype=np.float64)
                                       for layer in layers for method in methods]), diverging)
    cmap = "RdBu_r" if diverging else "viridis"
    fig, axes = plt.subplots(len(methods), len(layers), figsize=(panel_size * len(layers) + 1.2,
                                                                  panel_size * len(methods) + 0.8),
                             squeeze=False, constrained_layout=True)
    drawn = None
    for i, method in enumerate(methods):
        for j, layer in enumerate(layers):
            ax, table = axes[i, j], embeddings[(layer, method)]
            order = np.argsort(np.abs(table[column].to_numpy())) if diverging else np.arange(len(table))
            drawn = ax.scatter(table["x"].to_numpy()[order], table["y"].to_numpy()[order],
                               c=table[column].to_numpy()[order], cmap=cmap, norm=norm,
                               s=_point_size(len(table)), linewidths=0, rasterized=True)
            hide_axes(ax)
            if i == 0:
                ax.set_title(layer, fontsize=10)
            if j == 0:
                ax.set_ylabel(_method_label(method), fontsize=10)
    fig.colorbar(drawn, ax=axes, label=colour_label, shrink=0.8, aspect=30, extend="both")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def scores_figure(metrics, layers, test_error=None):
    """Line plots of each score per layer, one line per method (``metrics``: the metrics table).

    ``test_error`` (the test_error.json dict) adds, on the k-NN panel, the network's own test
    RMSE and the target's standard deviation (the RMSE of always predicting the mean).
    """
    methods = list(dict.fromkeys(metrics["method"]))
    x = np.arange(len(layers))
    fig, axes = plt.subplots(1, len(SCORE_PANELS), figsize=(4.2 * len(SCORE_PANELS), 3.8), constrained_layout=True)
    for ax, (column, label) in zip(axes, SCORE_PANELS):
        for method in methods:
            rows = metrics[metrics["method"] == method].set_index("layer").reindex(layers)
            colour, marker = METHOD_STYLES.get(method, (None, "o"))
            ax.plot(x, rows[column].to_numpy(dtype=np.float64), marker=marker, color=colour, ms=4,
                    label=_method_label(method))
        if column == "knn_rmse" and test_error:
            ax.axhline(test_error["rmse"], color="black", ls="--", lw=1, label="network test RMSE")
            ax.axhline(test_error["target_std"], color="black", ls=":", lw=1, label="target SD (predict mean)")
        if column == "seconds":
            ax.set_yscale("log")
        ax.set_xticks(x, layers, rotation=60, fontsize=8)
        ax.set_xlabel("layer of the regression network")
        ax.set_ylabel(label, fontsize=9)
        ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            if text not in labels:
                handles.append(handle)
                labels.append(text)
    fig.legend(handles, labels, loc="outside right center", fontsize=9, title="map")
    return fig


def classifier_mda_figure(mda_maps, umap_maps, layers, classes, guide="class labels", panel_size=1.9):
    """Two rows per layer column: the classifier's MDA map above its UMAP map, coloured by true class.

    ``mda_maps[layer]`` / ``umap_maps[layer]``: tables with ``x``, ``y``, ``class``.
    """
    if not layers:
        raise ValueError("need at least one layer")
    colours = {c: CLASS_COLOURS[k % len(CLASS_COLOURS)] for k, c in enumerate(classes)}
    rows = ((f"MDA\n(guided by {guide})", mda_maps), ("UMAP", umap_maps))
    fig, axes = plt.subplots(2, len(layers), figsize=(panel_size * len(layers) + 1.6, panel_size * 2 + 0.8),
                             squeeze=False, constrained_layout=True)
    for i, (row_label, maps) in enumerate(rows):
        for j, layer in enumerate(layers):
            ax, table = axes[i, j], maps[layer]
            order = np.random.default_rng(0).permutation(len(table))  # no class drawn on top of the other
            ax.scatter(table["x"].to_numpy()[order], table["y"].to_numpy()[order],
                       c=[colours.get(c, "#999999") for c in table["class"].to_numpy()[order]],
                       s=_point_size(len(table)), linewidths=0, rasterized=True)
            hide_axes(ax)
            if i == 0:
                ax.set_title(layer, fontsize=10)
            if j == 0:
                ax.set_ylabel(row_label, fontsize=10)
    handles = [Line2D([], [], ls="", marker="o", color=colours[c], label=c) for c in classes]
    fig.legend(handles=handles, loc="outside right center", title="true class", fontsize=9)
    return fig
