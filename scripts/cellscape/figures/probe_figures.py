"""What each layer knows (Fig. 25): a layers x features heat map of the probes' selectivity (trained
minus untrained network) beside their raw score, features grouped by the channel they measure."""
import matplotlib.pyplot as plt
import numpy as np

#: readable names of the features' suffixes (cellscape.features registers them)
READABLE = {"area": "area", "perimeter": "perimeter", "circularity": "circularity", "aspect_ratio": "aspect ratio",
            "solidity": "solidity", "integrated_intensity": "integrated intensity", "mean_intensity": "mean intensity",
            "max_intensity": "max intensity", "glcm_contrast": "GLCM contrast", "glcm_entropy": "GLCM entropy",
            "to_cell_ratio": "nucleus-to-cell ratio", "lobes": "lobe count", "granularity": "granularity",
            "cell_diameter": "cell diameter", "brightness_cytoplasm": "cytoplasm brightness",
            "brightness_nucleus": "nucleus brightness", "nucleus_lobes": "nucleus lobe count",
            "nucleus_area": "nucleus area", "cell_area": "cell area", "nucleus_to_cell_ratio": "nucleus-to-cell ratio"}


def feature_label(feature, group, kind):
    """``nucleus_glcm_contrast`` in group ``nucleus`` -> ``GLCM contrast``; counts say their metric."""
    prefix = "truth_" if group == "truth" else f"{group}_"
    suffix = feature[len(prefix):] if feature.startswith(prefix) else feature
    return READABLE.get(suffix, suffix.replace("_", " ")) + (" (bal. acc.)" if kind == "count" else "")


def _grid(table, layers, features, column):
    lookup = table.set_index(["feature", "layer"])[column]
    return np.array([[lookup.get((f, layer), np.nan) for layer in layers] for f in features], dtype=float)


def probe_figure(table, layers, title):
    """Two heat maps, rows = features (grouped by channel, in the table's order), columns = layers
    (forward order, the input pixels first): the selectivity (a dot where its interval excludes 0)
    and the trained network's score."""
    order = table.drop_duplicates("feature")[["feature", "group", "kind"]].reset_index(drop=True)
    features = order["feature"].tolist()
    selectivity = _grid(table, layers, features, "selectivity")
    significant = _grid(table, layers, features, "selectivity_low") > 0
    score = _grid(table, layers, features, "score")
    height = 1.6 + 0.2 * len(features)
    fig, axes = plt.subplots(1, 2, figsize=(4.5 + 0.5 * len(layers), height), sharey=True)
    limit = float(np.clip(np.nanmax(np.abs(selectivity)), 0.1, 1.0)) if np.isfinite(selectivity).any() else 1.0
    panels = ((axes[0], selectivity, "RdBu_r", -limit, limit,
               "selectivity: trained - untrained network\n(R\u00b2 or balanced accuracy)",
               "Selectivity (dot: 95% interval above 0)"),
              (axes[1], np.clip(score, 0, 1), "viridis", 0, 1,
               "trained network's score\n(R\u00b2, below 0 shown as 0; or balanced accuracy)", "Probe score"))
    for ax, values, cmap, vmin, vmax, bar_label, panel_title in panels:
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                          interpolation="nearest")
        ax.set_xticks(range(len(layers)), layers, rotation=60, ha="right", fontsize=8)
        ax.set_xlabel("layer (input pixels first)")
        ax.set_title(panel_title, fontsize=10)
        bar = fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
        bar.set_label(bar_label, fontsize=8)
        ax.set_facecolor("#dddddd")  # features that could not be probed (constant): grey
        _group_lines(ax, order["group"].tolist())
    ys, xs = np.nonzero(significant)
    axes[0].scatter(xs, ys, s=6, c="black", marker="o", linewidths=0)
    axes[0].set_yticks(range(len(features)),
                       [feature_label(f, g, k) for f, g, k in order.itertuples(index=False)], fontsize=8)
    _group_names(axes[0], order["group"].tolist())
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _group_lines(ax, groups):
    """A white line between the channels' blocks of rows."""
    for k in range(1, len(groups)):
        if groups[k] != groups[k - 1]:
            ax.axhline(k - 0.5, color="white", linewidth=2.5)


def _group_names(ax, groups):
    """The channel of each block of rows, left of the feature names."""
    start = 0
    for k in range(1, len(groups) + 1):
        if k == len(groups) or groups[k] != groups[start]:
            name = "simulator truth" if groups[start] == "truth" else groups[start]
            ax.annotate(name, xy=(0, (start + k - 1) / 2), xycoords=("axes fraction", "data"),
                        xytext=(-128, 0), textcoords="offset points", ha="right", va="center", fontsize=9,
                        fontweight="bold", rotation=90, annotation_clip=False)
            start = k
