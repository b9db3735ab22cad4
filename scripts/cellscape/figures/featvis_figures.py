"""Feature-image figures (paper Figs. 13-18).

Every function takes arrays and returns a matplotlib figure; the rule scripts load and save.
Feature images are composites of the image set's channels in their configured colours
(``image_channels``: dicts with name and colour); ``channels`` are a layer's channels.
"""
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import hsv_to_rgb

from .common import (channel_tiles, colour_note, compose_channels, hide_axes, hue_image, image_tile,
                     value_map)

def feature_rows_figure(rows, column_titles, title, image_channels, tile=1.3, fontsize=7):
    """A grid of feature images: one row per ``(label, images (B, C, H, W))`` pair, one column
    per image (``column_titles``); for comparing recipes or settings on the same channels."""
    fig, axes = plt.subplots(len(rows), len(column_titles),
                             figsize=(tile * len(column_titles) + 1.6, tile * len(rows) + 0.4),
                             squeeze=False, constrained_layout=True)
    for r, (label, images) in enumerate(rows):
        for c, rgb in enumerate(compose_channels(images, image_channels)):
            ax = axes[r, c]
            ax.imshow(rgb, interpolation="nearest")
            ax.set_xticks([]), ax.set_yticks([])
            if r == 0:
                ax.set_title(column_titles[c], fontsize=fontsize)
            if c == 0:
                ax.set_ylabel(label, fontsize=fontsize)
    fig.suptitle(f"{title}\n{colour_note(image_channels)}", fontsize=fontsize + 1)
    return fig


def feature_evolution_figure(channels, steps, snapshots, objective, layer, image_channels, saturated=None):
    """Fig. 13: rows = channels, columns = optimisation steps, then the last step's image one
    image channel at a time (grey); last column: objective vs steps.

    ``saturated`` (S, B), optional: each snapshot's saturated share, shown under the objective
    and as a second curve."""
    n_channels, n_steps, n_inputs = len(channels), len(steps), len(image_channels)
    fig, axes = plt.subplots(n_channels, n_steps + n_inputs + 1,
                             figsize=(1.55 * (n_steps + n_inputs + 1) + 1.2, 1.75 * n_channels),
                             constrained_layout=True, squeeze=False,
                             gridspec_kw={"width_ratios": [1] * (n_steps + n_inputs) + [1.8]})
    for i, c in enumerate(channels):
        for j, s in enumerate(steps):
            label = f"{objective[j, i]:.3g}"
            if saturated is not None:
                label += f", sat {100 * saturated[j, i]:.0f}%"
            image_tile(axes[i, j], snapshots[j, i], image_channels, (f"step {s}\n" if i == 0 else "") + label,
                       fontsize=7)
        channel_tiles(axes[i, n_steps:n_steps + n_inputs], snapshots[-1, i], image_channels,
                      prefix=f"step {steps[-1]}\n" if i == 0 else "")
        axes[i, 0].set_ylabel(f"{layer} ch {c}", fontsize=8)
        ax = axes[i, -1]
        ax.plot(steps, objective[:, i], "o-", ms=3, label="mean activation")
        ax.set_xscale("symlog", linthresh=16)
        ax.set_ylabel("mean activation", fontsize=7)
        ax.tick_params(labelsize=6)
        if saturated is not None:
            twin = ax.twinx()
            twin.plot(steps, 100 * saturated[:, i], "s--", ms=2, color="tab:red", label="saturated %")
            twin.set_ylim(0, 100)
            twin.tick_params(labelsize=6, colors="tab:red")
            if i == 0:
                twin.set_ylabel("saturated pixels %", fontsize=7, color="tab:red")
        if i == n_channels - 1:
            ax.set_xlabel("optimisation steps", fontsize=7)
    title = (f"{layer}: feature images as the optimisation runs (under each image: the channel's mean activation "
             f"on it" + (", share of saturated pixels (<0.02 or >0.98)" if saturated is not None else "") +
             f"; {colour_note(image_channels)}; then the last step's image channel by channel)")
    fig.suptitle(textwrap.fill(title, int(14 * fig.get_figwidth())), fontsize=9)
    return fig


def feature_layers_figure(features_by_layer, n_channels, image_channels):
    """Fig. 14: one column per conv layer; for each of the first ``n_channels`` channels of the
    layer's order, the feature image above its activation-filtered version."""
    layers = list(features_by_layer)
    rows = 2 * n_channels
    fig, axes = plt.subplots(rows, len(layers), figsize=(1.3 * len(layers) + 0.8, 1.3 * rows + 0.6),
                             constrained_layout=True, squeeze=False)
    for j, layer in enumerate(layers):
        fv = features_by_layer[layer]
        for k in range(n_channels):
            top, bottom = axes[2 * k, j], axes[2 * k + 1, j]
            if k < len(fv["channels"]):
                ratio = f" ({fv['best_cell_ratio'][k]:.1f}x)" if "best_cell_ratio" in fv else ""
                image_tile(top, fv["images"][k], image_channels, f"{layer} ch {fv['channels'][k]}{ratio}" if k else
                           f"{layer}\nch {fv['channels'][k]}{ratio}", fontsize=7)
                image_tile(bottom, fv["filtered"][k], image_channels)
            else:
                top.axis("off")
                bottom.axis("off")
    for k in range(n_channels):
        axes[2 * k, 0].set_ylabel("feature\nimage", fontsize=7)
        axes[2 * k + 1, 0].set_ylabel("filtered", fontsize=7)
    fig.suptitle(f"Feature images of every conv layer, most diverse live channels first; each above its "
                 f"activation-filtered version; (n x): the channel's mean activation on the image over its best "
                 f"test cell's ({colour_note(image_channels)})", fontsize=9)
    return fig


def grid_mosaic(images, grid, image_channels, gap=2, flip_y=False):
    """Composite tiles (N, C, H, W) placed at integer grid cells (N, 2) (gx, gy), white gaps.

    ``flip_y`` puts gy = 0 at the bottom, as in a scatter plot of the embedding.
    """
    grid = np.asarray(grid, dtype=int)
    h, w = images.shape[-2:]
    columns, rows = grid[:, 0].max() + 1, grid[:, 1].max() + 1
    canvas = np.ones((rows * (h + gap) - gap, columns * (w + gap) - gap, 3), dtype=np.float32)
    for image, (gx, gy) in zip(compose_channels(images, image_channels), grid):
        row = rows - 1 - gy if flip_y else gy
        canvas[row * (h + gap):row * (h + gap) + h, gx * (w + gap):gx * (w + gap) + w] = image
    return canvas


def feature_grid_figure(channels, images, filtered, embedding, grid, layer, image_channels):
    """Fig. 15: all feature images of a layer on a grid that follows a UMAP of their own
    feature tensors at that layer; left unfiltered, right filtered (same arrangement)."""
    h, w = images.shape[-2:]
    rows = int(np.max(grid[:, 1])) + 1
    fig = plt.figure(figsize=(15, 6.3), constrained_layout=True)
    ax_map, ax_raw, ax_filt = fig.subplots(1, 3, gridspec_kw={"width_ratios": [0.8, 1, 1]})
    mean_colour = compose_channels(images, image_channels).mean(axis=(1, 2))
    ax_map.scatter(embedding[:, 0], embedding[:, 1], s=25, c=mean_colour / max(mean_colour.max(), 1e-6),
                   edgecolors="black", linewidths=0.4)
    for c, (x, y) in zip(channels, embedding):
        ax_map.annotate(str(c), (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
    ax_map.set_xlabel("UMAP 1")
    ax_map.set_ylabel("UMAP 2")
    ax_map.set_title(f"UMAP of the feature images' {layer} tensors\n(label: channel; colour: the image's "
                     f"mean colour)", fontsize=9)
    for ax, tiles, title in ((ax_raw, images, "feature images"), (ax_filt, filtered, "activation-filtered")):
        ax.imshow(grid_mosaic(tiles, grid, image_channels, flip_y=True), interpolation="nearest")
        hide_axes(ax)
        ax.set_title(title, fontsize=9)
        for c, (gx, gy) in zip(channels, grid):
            ax.text(gx * (w + 2) + 2, (rows - 1 - gy) * (h + 2) + 2, str(c), color="white", fontsize=5,
                    va="top", bbox={"facecolor": "black", "alpha": 0.5, "pad": 0.5, "lw": 0})
    fig.suptitle(f"All {len(channels)} {layer} feature images arranged by similarity (UMAP mapped to a grid "
                 f"by linear assignment; grid oriented as the UMAP)\n{colour_note(image_channels)}", fontsize=10)
    return fig


def neuron_examples_figure(layer, channels, images, filtered, example_images, example_labels, example_maps,
                           top_images, top_labels, top_maps, image_channels):
    """Fig. 16: per channel (row) the feature image, each of its image channels alone (grey),
    filtered, its maps on two example cells, the two cells that activate it most and their maps.

    ``example_images`` (2, C, H, W), ``example_maps`` (K, 2, h, w), ``top_images``
    (K, 2, C, H, W), ``top_maps`` (K, 2, h, w), ``top_labels`` K lists of two strings.
    """
    k, first = len(channels), 2 + len(image_channels)  # first: the column of the first map
    columns = (["feature image"] + [c["name"] for c in image_channels] +
               ["filtered", f"map on\n{example_labels[0]}", f"map on\n{example_labels[1]}",
                "top cell 1", "its map", "top cell 2", "its map"])
    fig, axes = plt.subplots(k + 1, len(columns), figsize=(1.45 * len(columns) + 0.9, 1.45 * (k + 1) + 0.4),
                             constrained_layout=True, squeeze=False)
    for ax in axes[0]:
        ax.axis("off")
    for j, (image, label) in enumerate(zip(example_images, example_labels)):
        image_tile(axes[0, first + j], image, image_channels, f"example cell\n{label}")
        axes[0, first + j].axis("on")
    im = None
    for i, c in enumerate(channels):
        # one scale per row: weak channels stay visible; the row's maximum is in its label
        vmax = max(float(np.max(example_maps[i])), float(np.max(top_maps[i])), 1e-12)
        image_tile(axes[i + 1, 0], images[i], image_channels)
        channel_tiles(axes[i + 1, 1:first - 1], images[i], image_channels)
        image_tile(axes[i + 1, first - 1], filtered[i], image_channels)
        axes[i + 1, 0].set_ylabel(f"{layer} ch {c}\nmax {vmax:.3g}", fontsize=8)
        for j in range(2):
            im = value_map(axes[i + 1, first + j], example_maps[i, j] / vmax, vmax=1.0)
            image_tile(axes[i + 1, first + 2 + 2 * j], top_images[i, j], image_channels, top_labels[i][j], fontsize=6)
            value_map(axes[i + 1, first + 3 + 2 * j], top_maps[i, j] / vmax, vmax=1.0)
    for j, title in enumerate(columns):
        top_cell = j in (first + 2, first + 4)
        axes[1, j].set_title(f"{title}\n{axes[1, j].get_title()}" if top_cell else title, fontsize=7)
    fig.colorbar(im, ax=axes[1:, -1], label=f"{layer} activation / row maximum", shrink=0.5)
    fig.suptitle(f"{layer} channels: feature images (and each image channel alone), activation maps on two "
                 f"example cells, and the test cells that activate them most ({colour_note(image_channels)})",
                 fontsize=9)
    return fig


def group_hues(n):
    return np.linspace(0, 1, n, endpoint=False)


def neuron_groups_figure(layer, cell_image, cell_label, spatial, images, weights, error, image_channels):
    """Fig. 17: NMF neuron groups of one cell's layer tensor: combined map (one hue per
    group), then per group its feature image, spatial map and channel weights."""
    k = len(spatial)
    hues = group_hues(k)
    fig = plt.figure(figsize=(max(8.0, 1.8 * k + 1), 8.4), constrained_layout=True)
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.1, 2.6])
    ax_cell, ax_all, ax_legend = top.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    image_tile(ax_cell, cell_image, image_channels, f"cell {cell_label}", fontsize=8)
    ax_all.imshow(hue_image(spatial, hues), interpolation="nearest")
    hide_axes(ax_all)
    ax_all.set_title(f"{k} groups combined\n(one hue per group)", fontsize=8)
    colours = hsv_to_rgb(np.stack([hues, np.ones(k), np.ones(k)], axis=1))
    ax_legend.bar(np.arange(k), spatial.reshape(k, -1).sum(axis=1), color=colours, edgecolor="black")
    ax_legend.set_xticks(np.arange(k), [f"G{g + 1}" for g in range(k)], fontsize=7)
    ax_legend.set_ylabel("total activation", fontsize=8)
    ax_legend.set_title(f"NMF of {layer} (positions x channels), rel. error {error:.2f}", fontsize=8)
    axes = bottom.subplots(3, k, squeeze=False)
    for g in range(k):
        image_tile(axes[0, g], images[g], image_channels, f"G{g + 1} feature image", fontsize=7)
        axes[1, g].imshow(hue_image(spatial[g:g + 1], hues[g:g + 1]), interpolation="nearest")
        hide_axes(axes[1, g])
        axes[1, g].set_title(f"G{g + 1} where it fires", fontsize=7)
        ax = axes[2, g]
        ax.bar(np.arange(weights.shape[1]), weights[g], color=colours[g], width=1.0)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=6)
        ax.set_xlabel(f"{layer} channel", fontsize=7)
        if g == 0:
            ax.set_ylabel("channel weight", fontsize=7)
    bottom.suptitle(f"per group: feature image (objective: the group's channel weights as a direction, "
                    f"{colour_note(image_channels)}), spatial activation, channel weights", fontsize=8)
    fig.suptitle(f"Neuron groups of {layer} for one cell", fontsize=10)
    return fig


def cluster_colours(cluster_ids):
    """{cluster: RGB}: tab20 by cluster number, noise black."""
    cmap = plt.get_cmap("tab20")
    return {int(c): (0.0, 0.0, 0.0) if c < 0 else cmap(int(c) % 20)[:3] for c in cluster_ids}


def cluster_features_figure(panels, image_channels):
    """Fig. 18: per layer (row) the embedding coloured by DBSCAN cluster (noise black) and a
    feature image per drawn cluster.

    ``panels``: list of dicts with layer, basis (embedding name), xy (n, 2), labels (n,),
    clusters (K,), sizes (K,), images (K, C, H, W), objective (K,).
    """
    n_images = max([len(p["clusters"]) for p in panels] + [1])
    per_row = min(n_images, 6)
    image_rows = [max(1, -(-len(p["clusters"]) // per_row)) for p in panels]
    fig = plt.figure(figsize=(4.2 + 1.55 * per_row, sum(1.75 * r + 0.6 for r in image_rows) + 0.4),
                     constrained_layout=True)
    rows = fig.subfigures(len(panels), 1, height_ratios=image_rows, squeeze=False)[:, 0]
    for sub, p, n_rows in zip(rows, panels, image_rows):
        grid = sub.add_gridspec(n_rows, per_row + 1, width_ratios=[2.6] + [1] * per_row)
        ax = sub.add_subplot(grid[:, 0])
        colours = cluster_colours(np.unique(p["labels"]))
        noise = p["labels"] < 0
        ax.scatter(p["xy"][noise, 0], p["xy"][noise, 1], s=3, c="black", label="noise", rasterized=True)
        for c in sorted(set(p["labels"][~noise].tolist())):
            member = p["labels"] == c
            ax.scatter(p["xy"][member, 0], p["xy"][member, 1], s=3, color=colours[c], rasterized=True)
            centre = np.median(p["xy"][member], axis=0)
            ax.text(centre[0], centre[1], str(c), fontsize=7, weight="bold", ha="center",
                    bbox={"facecolor": "white", "alpha": 0.7, "pad": 0.5, "lw": 0})
        ax.set_xlabel(f"{p['basis']} 1", fontsize=8)
        ax.set_ylabel(f"{p['basis']} 2", fontsize=8)
        ax.tick_params(labelsize=6)
        n_clusters = len(set(p["labels"][~noise].tolist()))
        ax.set_title(f"{p['layer']}: {n_clusters} DBSCAN clusters, {noise.sum()} noise (black)", fontsize=8)
        ax.legend(loc="best", fontsize=6, markerscale=2)
        for k, c in enumerate(p["clusters"]):
            tile = sub.add_subplot(grid[k // per_row, 1 + k % per_row])
            image_tile(tile, p["images"][k], image_channels, f"cluster {c} (n={p['sizes'][k]})", fontsize=7)
            for spine in tile.spines.values():
                spine.set_edgecolor(colours[int(c)])
                spine.set_linewidth(3)
        if not len(p["clusters"]):
            blank = sub.add_subplot(grid[0, 1:])
            blank.axis("off")
            blank.text(0.02, 0.5, "no cluster with a direction to draw\n(DBSCAN found no cluster, or none "
                       "raises a channel above the set's median)", fontsize=8, va="center")
    fig.suptitle("Feature images of clusters: each maximises the channels active above the whole set "
                 f"(w = ReLU((median_cluster - median_all) / sd_all), unit length)\n{colour_note(image_channels)}", fontsize=9)
    return fig
