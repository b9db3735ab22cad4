"""Figures of the attribution stage (Fig. 19): the maps of the methods that pass their checks
first, with verdicts and faithfulness, and the checks themselves."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..attribution.methods import gradcam_layer
from ..attribution.verdict import RANDOMISATION_BELOW, label
from .common import colour_note, hide_axes, image_tile, value_map

#: Grad-CAM layers drawn beside the pixel methods (the table lists every layer)
MAX_GRADCAM_SHOWN = 3


def shown_methods(methods, verdicts):
    """The methods Fig. 19 draws, in ``methods``' order (passing first): every pixel method and
    Grad-CAM at up to ``MAX_GRADCAM_SHOWN`` layers: those that pass, the most faithful first, else
    the deepest."""
    pixel = [m for m in methods if gradcam_layer(m) is None]
    cams = [m for m in methods if gradcam_layer(m) is not None]
    passing = [m for m in cams if verdicts[m]["passes"]]
    faithful = sorted(passing, key=lambda m: -verdicts[m]["scores"].get("faithfulness_abc", 0))
    chosen = set(faithful[:MAX_GRADCAM_SHOWN] or cams[-1:])
    return [m for m in methods if m in pixel or m in chosen]


def _title(method, verdict):
    scores = verdict["scores"]
    failed = [c.replace("_", " ") for c, ok in verdict["checks"].items() if not ok]
    head = "PASSES" if verdict["passes"] else "fails " + ", ".join(failed)
    abc = scores.get("faithfulness_abc")
    drops = (f"\ntop 10% out: p -{scores['drop_top_10']:.2f}\n(random 10%: -{scores['drop_random_10']:.2f})"
             if "drop_top_10" in scores else "")
    return f"{label(method)}\n{head}" + (f"\nABC {abc:.3f}" if abc is not None else "") + drops


def attribution_figure(images, labels, maps_by_method, verdicts, channels):
    """Fig. 19: per cell (row) the image (composite of ``channels``) and each method's map (columns
    in the given order: passing first), titled with the verdict and the pixel-flipping result;
    each map scaled to its 99th percentile."""
    methods = list(maps_by_method)
    fig, axes = plt.subplots(len(images), len(methods) + 1, figsize=(1.9 * (len(methods) + 1) + 0.8,
                                                                     1.9 * len(images) + 1.2),
                             constrained_layout=True, squeeze=False)
    for i, (image, cell_label) in enumerate(zip(images, labels)):
        image_tile(axes[i, 0], image, channels, cell_label, fontsize=7)
        for j, method in enumerate(methods):
            values = maps_by_method[method][i]
            im = value_map(axes[i, j + 1], values / max(np.percentile(values, 99), 1e-12), cmap="inferno", vmax=1.0)
            if i == 0:
                v = verdicts[method]
                axes[i, j + 1].set_title(_title(method, v), fontsize=6.5, color="black" if v["passes"] else "#a00000")
    fig.colorbar(im, ax=axes[:, -1], label="importance / 99th percentile", shrink=0.5)
    fig.suptitle("Pixel attribution of the predicted class: methods that pass the checks first "
                 f"(randomisation, faithfulness; ABC: area between the pixel-flipping curves)\n"
                 f"{colour_note(channels)} in the cell images", fontsize=9)
    return fig


def _table(ax, quality, verdicts):
    """Every method's scores and verdict as a table."""
    def value(method, check, score):
        row = quality[(quality["method"] == method) & (quality["check"] == check) & (quality["score"] == score)]
        return f"{row['mean'].iloc[0]:.2f}" if len(row) and np.isfinite(row["mean"].iloc[0]) else "-"

    columns = [("cascading_randomisation", "spearman_abs", "cascade\nrho |map|"),
               ("cascading_randomisation", "spearman_signed", "cascade\nrho"),
               ("cascading_randomisation", "ssim", "cascade\nSSIM"),
               ("independent_randomisation", "spearman_abs", "independent\nrho |map|"),
               ("label_randomisation", "spearman_abs", "labels\nrho |map|"),
               ("faithfulness", "area_between_curves", "flipping\nABC"),
               ("localisation", "share_in_cell", "share in\ncell"),
               ("localisation", "share_in_nucleus", "share in\nnucleus")]
    methods = list(verdicts)
    text = [[value(m, c, s) for c, s, _ in columns] + ["passes" if verdicts[m]["passes"] else "fails"]
            for m in methods]
    hide_axes(ax)
    table = ax.table(cellText=text, rowLabels=[label(m) for m in methods],
                     colLabels=[name for _, _, name in columns] + ["verdict"], cellLoc="center",
                     bbox=[0.1, 0.0, 0.9, 1.0])
    table.auto_set_font_size(False)
    table.set_fontsize(6.5)
    for (r, c), cell in table.get_celld().items():
        if r > 0 and c == len(columns):
            cell.set_facecolor("#d9f2d9" if verdicts[methods[r - 1]]["passes"] else "#f7d4d4")
    ax.set_title("every method's checks (mean over cells; rank corr. rho and SSIM inside the cell, lower = depends "
                 "more on the weights)", fontsize=8)


def attribution_sanity_figure(randomisation, faithfulness, quality, verdicts, shown, cascade_maps, stages, cell_label):
    """Fig. 19 (checks): cascading model randomisation (absolute Spearman inside the cell per stage,
    mean and range over cells), the pixel-flipping curves against random order, every method's
    scores and verdict, and one cell's maps at each cascade stage."""
    randomisation, faithfulness, quality = (pd.DataFrame(t) for t in (randomisation, faithfulness, quality))
    n_stages = len(stages)
    fig = plt.figure(figsize=(max(13.0, 1.0 * n_stages + 2), 4.1 + 0.25 * len(verdicts) + 1.1 * len(shown)),
                     constrained_layout=True)
    top, middle, bottom = fig.subfigures(3, 1, height_ratios=[3.2, 0.9 + 0.25 * len(verdicts), 1.1 * len(shown)])
    ax_cascade, ax_flip = top.subplots(1, 2, width_ratios=[1.6, 1])
    cascade = randomisation[randomisation["mode"] == "cascading"]
    x = np.arange(n_stages)
    for k, method in enumerate(shown):
        rho = cascade[cascade["method"] == method].pivot(index="stage", columns="id", values="spearman_abs")
        rho = rho.reindex(range(n_stages)).to_numpy()
        style = "-" if verdicts[method]["passes"] else "--"
        ax_cascade.plot(x, rho.mean(axis=1), "o" + style, color=f"C{k}", ms=3,
                        label=f"{label(method)} ({'passes' if verdicts[method]['passes'] else 'fails'})")
        ax_cascade.fill_between(x, rho.min(axis=1), rho.max(axis=1), color=f"C{k}", alpha=0.12)
    ax_cascade.axhline(RANDOMISATION_BELOW, color="gray", lw=0.8, ls=":")
    ax_cascade.text(0.3, RANDOMISATION_BELOW + 0.02, f"rule: mean over the stages < {RANDOMISATION_BELOW}",
                    ha="left", fontsize=7, color="gray")
    ax_cascade.set_xticks(x, ["trained"] + [f"+{name}" for name in stages[1:]], rotation=45, fontsize=7)
    ax_cascade.set_ylabel("Spearman of |maps| inside the\ncell, with the trained maps")
    ax_cascade.set_xlabel("layers re-initialised, cumulatively from the top")
    ax_cascade.set_ylim(-0.35, 1.05)
    ax_cascade.legend(fontsize=6.5, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax_cascade.set_title("Cascading model randomisation (Adebayo et al. 2018): solid = passes", fontsize=9)
    curves = faithfulness.groupby(["method", "fraction"], sort=False)["probability"].mean()
    random = curves.loc["random"]
    ax_flip.plot(random.index * 100, random.to_numpy(), "k:", lw=2, label="random order")
    for k, method in enumerate(shown):
        c = curves.loc[method]
        ax_flip.plot(c.index * 100, c.to_numpy(), "-" if verdicts[method]["passes"] else "--", color=f"C{k}",
                     label=f"{label(method)} (ABC {verdicts[method]['scores'].get('faithfulness_abc', np.nan):.3f})")
    ax_flip.set_xlabel("cell pixels removed, most attributed first (%)")
    ax_flip.set_ylabel("predicted class's probability\n(mean over cells)")
    ax_flip.set_ylim(0, 1.02)
    ax_flip.legend(fontsize=6.5, loc="lower left")
    ax_flip.set_title(f"Faithfulness: pixel flipping ({faithfulness['id'].nunique()} test cells)", fontsize=9)
    _table(middle.subplots(1, 1), quality, verdicts)
    axes = bottom.subplots(len(shown), n_stages, squeeze=False)
    for i, method in enumerate(shown):
        for s in range(n_stages):
            values = cascade_maps[method][s]
            value_map(axes[i, s], values / max(np.percentile(values, 99), 1e-12), cmap="inferno", vmax=1.0)
            if i == 0:
                axes[i, s].set_title("trained" if s == 0 else f"+{stages[s]}", fontsize=6)
        axes[i, 0].set_ylabel(label(method).replace(" ", "\n", 1), fontsize=6.5)
    bottom.suptitle(f"maps of {cell_label} at each cascade stage (each scaled to its 99th percentile)", fontsize=8)
    return fig
