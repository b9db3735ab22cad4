"""Figures of the attribution stage: paper Fig. 19 style attribution maps and the sanity check."""
import matplotlib.pyplot as plt
import numpy as np

from .common import colour_note, image_tile, value_map


def attribution_figure(images, labels, maps_by_method, channels):
    """Fig. 19: per cell (row) the image (composite of ``channels``) and each method's importance
    map (|attribution| summed over channels), scaled to the map's 99th percentile."""
    methods = list(maps_by_method)
    fig, axes = plt.subplots(len(images), len(methods) + 1, figsize=(2.2 * (len(methods) + 1) + 0.8,
                                                                     2.1 * len(images) + 0.5),
                             constrained_layout=True, squeeze=False)
    for i, (image, label) in enumerate(zip(images, labels)):
        image_tile(axes[i, 0], image, channels, label, fontsize=7)
        for j, method in enumerate(methods):
            values = maps_by_method[method][i]
            im = value_map(axes[i, j + 1], values / max(np.percentile(values, 99), 1e-12), cmap="inferno", vmax=1.0)
            if i == 0:
                axes[i, j + 1].set_title(method.replace("_", " "), fontsize=8)
    fig.colorbar(im, ax=axes[:, -1], label="importance / 99th percentile", shrink=0.5)
    fig.suptitle(f"Pixel attribution of the predicted class ({colour_note(channels)} in the cell images)", fontsize=9)
    return fig


def attribution_sanity_figure(layers, spearman_by_method, spearman_cell_by_method, maps_by_method, cell_label):
    """Fig. 19 (sanity): Spearman correlation of the maps with the trained model's as layers are
    randomised from the top (mean and range over cells; solid: whole image, dashed: inside the
    cell only), and one cell's maps at each stage."""
    methods = list(spearman_by_method)
    stages = len(layers)
    fig = plt.figure(figsize=(max(10.0, 1.05 * stages + 1), 3.2 + 1.3 * len(methods)), constrained_layout=True)
    top, bottom = fig.subfigures(2, 1, height_ratios=[2.2, 1.3 * len(methods)])
    ax = top.subplots(1, 1)
    x = np.arange(stages)
    for k, method in enumerate(methods):
        colour = f"C{k}"
        for rho, style, where in ((spearman_by_method[method], "o-", "whole image"),
                                  (spearman_cell_by_method[method], "s--", "inside the cell")):
            rho = np.asarray(rho)
            ax.plot(x, rho.mean(axis=1), style, color=colour, label=f"{method.replace('_', ' ')}, {where}")
            ax.fill_between(x, rho.min(axis=1), rho.max(axis=1), color=colour, alpha=0.15)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_xticks(x, ["trained"] + [f"+{name}" for name in layers[1:]], rotation=45, fontsize=7)
    ax.set_ylabel("Spearman rank corr.\nwith trained maps")
    ax.set_xlabel("layers re-initialised, cumulatively from the top")
    ax.set_ylim(-0.3, 1.05)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("Cascading model randomisation (Adebayo et al. 2018): maps that depend on the learned "
                 "weights lose their correlation", fontsize=9)
    axes = bottom.subplots(len(methods), stages, squeeze=False)
    for i, method in enumerate(methods):
        for s in range(stages):
            values = maps_by_method[method][s]
            value_map(axes[i, s], values / max(np.percentile(values, 99), 1e-12), cmap="inferno", vmax=1.0)
            if i == 0:
                axes[i, s].set_title("trained" if s == 0 else f"+{layers[s]}", fontsize=6)
        axes[i, 0].set_ylabel(method.replace("_", "\n"), fontsize=7)
    bottom.suptitle(f"maps of {cell_label} at each stage (each scaled to its 99th percentile)", fontsize=8)
    return fig
