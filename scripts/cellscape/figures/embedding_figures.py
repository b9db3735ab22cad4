"""Figures of the embedding stage: t-SNE snapshots (Fig. 7), maps with the estimated decision
boundary (Figs. 8, 9, 11), grid mapping (Fig. 10), UMAP of every layer (Fig. 12) and the
per-layer separation curves.

Inputs are embedding tables (``id, x, y, class, predicted, certainty``; class values are
class names or label indices) and arrays; every function returns a matplotlib figure
(the GIF writer writes its file). Points are coloured by true class; misclassified points
use the class's dark shade.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from ..embeddings.boundary import DecisionBoundary
from ..embeddings.gridmap import grid_shape, interpolate
from .common import CLASS_COLOURS, DARK_CLASS_COLOURS, colour_note, compose_channels


def class_codes(values, classes):
    """Class names or label indices -> integer codes in ``classes`` order."""
    values = np.asarray(values)
    if values.dtype.kind in "iu":
        return values.astype(int)
    lookup = {str(c): i for i, c in enumerate(classes)}
    return np.array([lookup[str(v)] for v in values], dtype=int)


def _codes(table, classes):
    return class_codes(table["class"], classes), class_codes(table["predicted"], classes)


def _class_legend(classes, misclassified=True, title="true class"):
    handles = [Line2D([], [], marker="o", ls="", color=CLASS_COLOURS[i], label=c) for i, c in enumerate(classes)]
    if misclassified:
        handles += [Line2D([], [], marker="o", ls="", color=DARK_CLASS_COLOURS[i], label=f"{c}, misclassified")
                    for i, c in enumerate(classes)]
    return handles


def _scatter_classes(ax, xy, true, predicted, sizes=8.0, alpha=0.8):
    """True-class colours; misclassified points in the dark shade, drawn on top."""
    sizes = np.broadcast_to(np.asarray(sizes, dtype=float), (len(xy),))
    wrong = true != predicted
    colours = np.array(CLASS_COLOURS)[true]
    dark = np.array(DARK_CLASS_COLOURS)[true]
    ax.scatter(xy[~wrong, 0], xy[~wrong, 1], s=sizes[~wrong], c=colours[~wrong], alpha=alpha, linewidths=0)
    ax.scatter(xy[wrong, 0], xy[wrong, 1], s=sizes[wrong], c=dark[wrong], alpha=1.0, linewidths=0)


def _draw_boundary(ax, boundary, classes, fill=True, linestyle="-"):
    if fill:
        codes = class_codes(boundary.class_map.ravel(), classes).reshape(boundary.class_map.shape)
        cmap = ListedColormap(CLASS_COLOURS[:len(classes)])
        ax.contourf(boundary.xx, boundary.yy, codes, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap,
                    alpha=0.12)
    if boundary.has_boundary:  # a network that predicts one class everywhere has none
        ax.contour(boundary.xx, boundary.yy, boundary.field, levels=[0.0], colors="k", linewidths=1.0,
                   linestyles=linestyle)


def _boundary_legend(boundary, label="estimated decision boundary", **line):
    """The boundary's legend entry, none where no boundary is drawn (one predicted class)."""
    return [Line2D([], [], label=label, **{"color": "k", **line})] if boundary.has_boundary else []


# --------------------------------------------------------------------------------------------
# Fig. 7: t-SNE as it optimises


def tsne_snapshots_figure(snapshots, labels, classes, layer="dense1"):
    """Seven (or n) panels of ``tsne_with_snapshots`` output, coloured by true class."""
    labels = class_codes(labels, classes)
    picks = snapshots["snapshots"]
    fig, axes = plt.subplots(1, len(picks), figsize=(2.4 * len(picks), 2.9), constrained_layout=True)
    axes = np.atleast_1d(axes)
    exaggerated = snapshots.get("early_exaggeration_iter", 250)
    for ax, index in zip(axes, picks):
        xy = snapshots["frames"][index]
        ax.scatter(xy[:, 0], xy[:, 1], s=2, c=np.array(CLASS_COLOURS)[labels], linewidths=0)
        iteration = int(snapshots["iterations"][index])
        phase = " (exaggerated)" if 0 < iteration <= exaggerated else ""
        ax.set_title(f"iteration {iteration}{phase}", fontsize=8)
        ax.set_xlabel("t-SNE 1", fontsize=7)
        ax.set_ylabel("t-SNE 2", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.legend(handles=_class_legend(classes, misclassified=False), loc="outside lower center",
               ncol=len(classes), title="true class")
    fig.suptitle(f"t-SNE of {layer} as it optimises")
    return fig


def write_tsne_animation(snapshots, labels, classes, path, fps=20, layer="dense1", dpi=80):
    """Animated GIF of every recorded frame (PillowWriter); the axes follow the spread."""
    from matplotlib.animation import FuncAnimation, PillowWriter
    labels = class_codes(labels, classes)
    frames, iterations = snapshots["frames"], snapshots["iterations"]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    points = ax.scatter(frames[0][:, 0], frames[0][:, 1], s=3, c=np.array(CLASS_COLOURS)[labels], linewidths=0)
    ax.legend(handles=_class_legend(classes, misclassified=False), loc="upper right", fontsize=7)
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")

    def show(k):
        xy = frames[k]
        points.set_offsets(xy)
        low, high = xy.min(0), xy.max(0)
        pad = 0.05 * np.maximum(high - low, 1e-9)
        ax.set_xlim(low[0] - pad[0], high[0] + pad[0])
        ax.set_ylim(low[1] - pad[1], high[1] + pad[1])
        ax.set_title(f"t-SNE of {layer}: iteration {int(iterations[k])}")
        return (points,)

    animation = FuncAnimation(fig, show, frames=len(frames), blit=False)
    from ..runtime.io import atomic_path
    with atomic_path(path) as tmp:
        animation.save(tmp, writer=PillowWriter(fps=fps), dpi=dpi)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# Fig. 8: map with decision boundary, point size = certainty / uncertainty


def _sizes(values, smallest=1.0, largest=30.0):
    values = np.asarray(values, dtype=float)
    span = np.ptp(values)
    unit = (values - values.min()) / span if span > 0 else np.full_like(values, 0.5)
    return smallest + (largest - smallest) * unit


def boundary_figure(table, classes, method="t-SNE", layer="dense1", boundary=None):
    """Fig. 8: (a) size ~ certainty, (b) size ~ uncertainty; boundary of the k-NN(k=3) on predictions."""
    xy = table[["x", "y"]].to_numpy(float)
    true, predicted = _codes(table, classes)
    certainty = table["certainty"].to_numpy(float)
    boundary = boundary or DecisionBoundary().fit(xy, predicted)
    fig, axes = plt.subplots(1, 2, figsize=(12, 6), constrained_layout=True)
    for ax, sizes, title in ((axes[0], _sizes(certainty), "(a) point size ~ certainty"),
                             (axes[1], _sizes(1 - certainty), "(b) point size ~ uncertainty")):
        _draw_boundary(ax, boundary, classes)
        _scatter_classes(ax, xy, true, predicted, sizes)
        ax.set_title(title)
        ax.set_xlabel(f"{method} 1")
        ax.set_ylabel(f"{method} 2")
    handles = _class_legend(classes) + _boundary_legend(boundary)
    handles += [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLOURS[i], alpha=0.25, label=f"predicted {c}")
                for i, c in enumerate(classes)]
    fig.legend(handles=handles, loc="outside lower center", ncol=4)
    wrong = int((true != predicted).sum())
    fig.suptitle(f"{method} of {layer}: {len(xy)} cells, {wrong} misclassified (dark); "
                 "region colour = predicted class (k-NN, k=3, Gaussian-smoothed)")
    return fig


# --------------------------------------------------------------------------------------------
# Fig. 9: cell images on the map


def sample_per_class(table, n_per_class=450, random_state=0):
    """At most ``n_per_class`` random rows of each true class (row order kept)."""
    rng = np.random.default_rng(random_state)
    keep = []
    for _, rows in table.groupby("class", sort=True):
        index = rows.index.to_numpy()
        keep.append(index if len(index) <= n_per_class else rng.choice(index, n_per_class, replace=False))
    return table.loc[np.sort(np.concatenate(keep))]


def cutout_rgba(image, channels):
    """(C, H, W) cell -> its composite as RGBA, transparent where every channel is 0 (background)."""
    rgb = compose_channels(image, channels)
    alpha = (np.asarray(image) > 0).any(axis=0).astype(np.float32)
    return np.concatenate([rgb, alpha[..., None]], axis=-1)


def cell_image_map_figure(table, images, classes, channels, method="UMAP", layer="dense1", image_size=None,
                          boundary=None):
    """Fig. 9: each cell drawn as its background-free composite (``channels``' colours) at its
    map position.

    ``images``: (n, C, S, S) in table row order. The estimated boundary is dashed;
    misclassified cells are circled in the colour of the class they were mistaken for.
    """
    xy = table[["x", "y"]].to_numpy(float)
    true, predicted = _codes(table, classes)
    boundary = boundary or DecisionBoundary().fit(xy, predicted)
    span = np.ptp(xy, axis=0).max()
    size = image_size or span / (1.2 * np.sqrt(len(xy)))
    fig, ax = plt.subplots(figsize=(11, 11), constrained_layout=True)
    ax.set_facecolor("black")
    for (x, y), image in zip(xy, images):
        ax.imshow(cutout_rgba(image, channels), extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2),
                  interpolation="bilinear", zorder=2)
    _draw_boundary(ax, boundary, classes, fill=False, linestyle="--")
    for c in ax.collections:
        c.set_color("white")
        c.set_zorder(3)
    handles = _boundary_legend(boundary, color="white", ls="--")
    low, high = xy.min(0) - size, xy.max(0) + size
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    for t in range(len(classes)):
        for p in range(len(classes)):
            wrong = (true == t) & (predicted == p)
            if t == p or not wrong.any():
                continue
            for x, y in xy[wrong]:
                ax.add_patch(Circle((x, y), 0.45 * size, fill=False, edgecolor=CLASS_COLOURS[p], linewidth=1.5,
                                    zorder=4))
            handles.append(Line2D([], [], marker="o", ls="", markerfacecolor="none", markeredgecolor=CLASS_COLOURS[p],
                                  label=f"{classes[t]} predicted as {classes[p]} ({int(wrong.sum())})"))
    ax.set_xlabel(f"{method} 1")
    ax.set_ylabel(f"{method} 2")
    counts = ", ".join(f"{int((true == i).sum())} {c}" for i, c in enumerate(classes))
    ax.set_title(f"{method} of {layer} ({counts}); {colour_note(channels)}")
    ax.legend(handles=handles, loc="upper right", facecolor="0.2", labelcolor="white")
    return fig


# --------------------------------------------------------------------------------------------
# Figs. 10-11: grid mapping


def grid_stages_figure(table, G, classes, stages=(0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1), method="t-SNE",
                       layer="dense1"):
    """Fig. 10: the map moving onto its grid, one panel per fraction in ``stages``."""
    xy = table[["x", "y"]].to_numpy(float)
    true, predicted = _codes(table, classes)
    n = len(xy)
    size = max(1.0, 4000 / n)
    fig, axes = plt.subplots(1, len(stages), figsize=(2.6 * len(stages), 3.5), constrained_layout=True)
    for ax, t in zip(np.atleast_1d(axes), stages):
        _scatter_classes(ax, interpolate(xy, G, t), true, predicted, size)
        ax.set_title(f"{t:.0%} grid", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xlabel("grid x", fontsize=7)
        ax.set_ylabel("grid y", fontsize=7)
        ax.tick_params(labelsize=6)
    fig.legend(handles=_class_legend(classes), loc="outside lower center", ncol=2 * len(classes), fontsize=8)
    columns, rows = grid_shape(n)
    fig.suptitle(f"{method} of {layer} mapped to a {columns} x {rows} grid (Jonker-Volgenant assignment)")
    return fig


def grid_map_figure(table, G, classes, method="t-SNE", layer="dense1", boundary=None):
    """Fig. 11: every cell on its grid square; misclassified marked; boundary estimated on the grid (dashed)."""
    true, predicted = _codes(table, classes)
    G = np.asarray(G, dtype=float)
    boundary = boundary or DecisionBoundary(smoothing=0.03).fit(G, predicted)
    fig, ax = plt.subplots(figsize=(9, 9.6), constrained_layout=True)
    _draw_boundary(ax, boundary, classes, linestyle="--")
    ax.scatter(G[:, 0], G[:, 1], marker="s", s=(300 / np.sqrt(len(G))) ** 2 * 0.9,
               c=np.array(CLASS_COLOURS)[true], linewidths=0)
    wrong = true != predicted
    ax.scatter(G[wrong, 0], G[wrong, 1], marker="x", s=(300 / np.sqrt(len(G))) ** 2 * 0.6,
               c=np.array(DARK_CLASS_COLOURS)[true[wrong]], linewidths=1.2)
    ax.set_aspect("equal")
    ax.set_xlabel("grid x")
    ax.set_ylabel("grid y")
    handles = [plt.Rectangle((0, 0), 1, 1, color=CLASS_COLOURS[i], label=c) for i, c in enumerate(classes)]
    handles += [Line2D([], [], marker="x", ls="", color="k", label=f"misclassified ({int(wrong.sum())})")]
    handles += _boundary_legend(boundary, "decision boundary (estimated on the grid)", ls="--")
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
    ax.set_title(f"{method} of {layer}, fully grid-mapped")
    return fig


# --------------------------------------------------------------------------------------------
# Fig. 12: every layer


def layers_figure(tables, classes, methods=("umap",), columns=4, method_names=None):
    """Fig. 12: one panel per layer; ``tables`` is {layer: table} or {method: {layer: table}}.

    Every method in ``methods`` gets its own block of rows (so an MDA block can be added),
    layers in dict order. One shared colour key.
    """
    if tables and not isinstance(next(iter(tables.values())), dict):
        tables = {methods[0]: tables}
    method_names = method_names or {"umap": "UMAP", "tsne": "t-SNE", "pca": "PCA", "mda": "MDA"}
    layers = list(next(iter(tables.values())).keys())
    block_rows = int(np.ceil(len(layers) / columns))
    fig, axes = plt.subplots(block_rows * len(methods), columns, figsize=(3.0 * columns, 3.0 * block_rows * len(methods)),
                             constrained_layout=True, squeeze=False)
    for m, method in enumerate(methods):
        for i in range(block_rows * columns):
            ax = axes[m * block_rows + i // columns, i % columns]
            if i >= len(layers) or layers[i] not in tables.get(method, {}):
                ax.axis("off")
                continue
            table = tables[method][layers[i]]
            true, predicted = _codes(table, classes)
            xy = table[["x", "y"]].to_numpy(float)
            _scatter_classes(ax, xy, true, predicted, max(0.5, 1500 / len(xy)))
            name = method_names.get(method, method)
            ax.set_title(f"{layers[i]} ({name})", fontsize=10)
            ax.set_xlabel(f"{name} 1", fontsize=7)
            ax.set_ylabel(f"{name} 2", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.legend(handles=_class_legend(classes), loc="outside lower center", ncol=2 * len(classes))
    fig.suptitle("Embeddings of every layer (same seed); dark = misclassified")
    return fig


# --------------------------------------------------------------------------------------------
# separation curves


SEPARATION_METRICS = {"knn_accuracy": "k-NN accuracy (5-fold CV, k=5)", "silhouette": "silhouette",
                      "trustworthiness": "trustworthiness (k=15)"}


def separation_figure(scores, layers=None, title="Class separation by layer", legend_title="space",
                      shared_legend=False):
    """Metrics vs layer: ``scores`` has columns layer, space (features / umap / tsne ..., or any
    label of the lines) and the metrics. ``shared_legend``: one legend under the panels (long labels)."""
    layers = layers or list(dict.fromkeys(scores["layer"]))
    metrics = [m for m in SEPARATION_METRICS if m in scores.columns]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), constrained_layout=True, squeeze=False)
    x = np.arange(len(layers))
    spaces = list(dict.fromkeys(scores["space"]))
    colour = {space: f"C{i}" for i, space in enumerate(spaces)}  # the same colour in every panel
    for ax, metric in zip(axes[0], metrics):
        for space, rows in scores.groupby("space", sort=False):
            values = rows.set_index("layer").reindex(layers)[metric].to_numpy(float)
            if np.all(np.isnan(values)):
                continue
            ax.plot(x, values, marker="o", label=space, color=colour[space])
        ax.set_xticks(x, layers, rotation=45, ha="right")
        ax.set_xlabel("layer")
        ax.set_ylabel(SEPARATION_METRICS[metric])
        ax.grid(alpha=0.3)
        if not shared_legend:
            ax.legend(title=legend_title)
    if shared_legend:
        fig.legend(*axes[0, 0].get_legend_handles_labels(), title=legend_title, loc="outside lower center")
    fig.suptitle(title)
    return fig
