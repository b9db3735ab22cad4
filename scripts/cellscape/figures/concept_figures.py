"""Encoded versus used (Fig. 27): how well each layer encodes each measure (held-out R^2 of its
regression concept vectors) beside whether the classifier uses it for each class (TCAV score,
significance against random directions)."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle


def concepts_figure(table, layers, measures, classes, alpha=0.05):
    """Heat maps, measures down and layers across: the probe's R^2, then per class the TCAV
    score (0.5: ignored; above: the class logit rises with the measure, below: falls), each
    cell annotated, the used ones (encoded, Bonferroni p < ``alpha``) in bold with a star, the
    measures a layer does not encode (a fold's held-out R^2 <= 0) hatched."""
    k = 1 + len(classes)
    width = 0.55 * len(layers) + 1.8
    fig, axes = plt.subplots(1, k, figsize=(width * k, 0.5 * len(measures) + 2.4), constrained_layout=True,
                             squeeze=False)
    first = table.drop_duplicates(["layer", "measure"]).set_index(["measure", "layer"])
    r2 = np.array([[first.loc[(m, layer), "probe_r2"] for layer in layers] for m in measures])
    panels = [("encoded: held-out R$^2$ of the measure's ridge probe\n(mean over folds)", r2, "viridis", (0, 1),
               "R$^2$", None, [])]
    for name in classes:
        rows = table[table["class"] == name].set_index(["measure", "layer"])
        score = np.array([[rows.loc[(m, layer), "tcav_score"] for layer in layers] for m in measures])
        used = np.array([[rows.loc[(m, layer), "used"] for layer in layers] for m in measures])
        unencoded = [(i, j) for i, m in enumerate(measures) for j, layer in enumerate(layers)
                     if not rows.loc[(m, layer), "encoded"]]
        panels.append((f"used for {name}: share of its cells whose logit rises\nwith the measure (TCAV score)",
                       score, "RdBu_r", (0, 1), "TCAV score", used, unencoded))
    for ax, (title, values, cmap, (low, high), label, used, hatched) in zip(axes[0], panels):
        image = ax.imshow(np.clip(values, low, high), cmap=cmap, vmin=low, vmax=high, aspect="auto")
        for i, j in hatched:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#888888",
                                   linewidth=0))
        for i in range(len(measures)):
            for j in range(len(layers)):
                significant = used is not None and bool(used[i, j])
                text = f"{values[i, j]:.2f}" + ("*" if significant else "")
                dark = (values[i, j] - low) / (high - low)
                colour = "white" if (cmap == "viridis" and dark < 0.5) or (cmap != "viridis" and abs(dark - 0.5) > 0.35) \
                    else "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color=colour,
                        fontweight="bold" if significant else "normal")
        ax.set_xticks(range(len(layers)), layers, rotation=90, fontsize=7)
        ax.set_yticks(range(len(measures)), measures, fontsize=7)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_title(title, fontsize=8)
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        bar.set_label(label, fontsize=7)
    fig.suptitle(f"Encoded versus used: each measure's direction in each layer (*: encoded and Bonferroni "
                 f"p < {alpha} against random directions; hatched: not encoded)", fontsize=9)
    return fig
