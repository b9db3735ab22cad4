"""Does the layer story replicate: the CKA matrices of the classifier against itself and the
other networks (Fig. 26)."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

#: how each network is called in the figure
NETWORK_TITLES = {"classifier": "the classifier", "label_free": "the label-free network",
                  "regression": "the regression network (MDA)"}


def network_title(network):
    """``seed<s>``: the classifier's copy trained from seed s; the others by their role."""
    if network.startswith("seed"):
        return f"the classifier's copy from seed {network.removeprefix('seed')}"
    return NETWORK_TITLES.get(network, network)


def cka_figure(panels, reference_layers, cells, estimator="debiased"):
    """One heat map per compared network: CKA of the classifier's layers (rows) with its layers
    (columns), each row's best match ringed. ``panels``: (network, its layers, the matrix,
    the best-match rows of :func:`cellscape.similarity.cka.best_matches` or None); ``estimator``
    names the CKA estimator in the title (debiased values may fall slightly below 0: drawn as 0)."""
    k = len(panels)
    side = 0.32 * len(reference_layers) + 1.6
    widths = [len(layers) + 2 for _, layers, _, _ in panels]  # each panel as wide as its columns need
    width = sum(0.32 * w + 0.6 for w in widths) + 1.2
    fig, axes = plt.subplots(1, k, figsize=(width, side + 0.9), constrained_layout=True, squeeze=False,
                             gridspec_kw={"width_ratios": widths})
    image = None
    for ax, (network, layers, matrix, matches) in zip(axes[0], panels):
        image = ax.imshow(matrix, vmin=0, vmax=1, cmap="viridis", aspect="equal", interpolation="nearest")
        ax.set_xticks(range(len(layers)), layers, rotation=90, fontsize=7)
        ax.set_yticks(range(len(reference_layers)), reference_layers, fontsize=7)
        ax.set_xlabel(f"layer of {network_title(network)}", fontsize=8)
        ax.set_ylabel("layer of the classifier", fontsize=8)
        title = "the classifier with itself" if network == "classifier" else f"the classifier vs {network_title(network)}"
        if matches is not None and network != "classifier":
            rows = [m for m in matches if m["best_b"] is not None]
            kept = sum(m["match"] in ("same", "adjacent") for m in rows)
            title += f"\nbest match the same or an adjacent layer: {kept} of {len(rows)}"
            for i, m in enumerate(matches):
                if m["best_b"] is not None:
                    ax.plot(layers.index(m["best_b"]), i, marker="o", markersize=7, markerfacecolor="none",
                            markeredgecolor="white" if m["cka_best"] < 0.7 else "black", markeredgewidth=1.2)
        ax.set_title(title, fontsize=8)
    colour_bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8, pad=0.02)
    colour_bar.set_label("linear CKA (0: unrelated, 1: the same up to rotation and scale)", fontsize=8)
    if any(matches is not None and network != "classifier" for network, _, _, matches in panels):
        fig.legend(handles=[Line2D([], [], marker="o", linestyle="none", markerfacecolor="none",
                                   markeredgecolor="black", label="each classifier layer's best match")],
                   loc="outside lower right", fontsize=7, frameon=False)
    fig.suptitle(f"Representational similarity of the layers ({estimator} linear CKA on {cells} cells)", fontsize=10)
    return fig
