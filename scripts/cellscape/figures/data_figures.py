"""Figures of the data stage: the preprocessing of one cell (Fig. 2) and quality control."""
import matplotlib.pyplot as plt
import numpy as np

from ..data.preprocess import (fit_to_size, keep_central_object, normalise_per_image, subtract_background,
                          threshold_channels)
from .common import CLASS_COLOURS, false_colour, hide_axes

CHANNEL_NAMES = ("cytoplasm", "nucleus")


def preprocessing_figure(raw, data_cfg, image_size, cell_label, min_object_px=8):
    """Paper Fig. 2: both channels before/after normalisation, false colour unfiltered vs filtered."""
    sized = fit_to_size(raw, image_size, data_cfg["fit"])
    clean = subtract_background(sized)
    unfiltered = normalise_per_image(clean)
    filtered = threshold_channels(clean, data_cfg["threshold"])
    if data_cfg["keep_central_object"]:
        filtered = keep_central_object(filtered, min_object_px)
    filtered = normalise_per_image(filtered)
    fig, axes = plt.subplots(2, 3, figsize=(10, 6.6), constrained_layout=True)
    cmaps = ("Reds_r", "Greens_r")
    for k in range(2):
        im = axes[k, 0].imshow(sized[k], cmap="gray")
        axes[k, 0].set_title(f"{CHANNEL_NAMES[k]}: raw counts")
        fig.colorbar(im, ax=axes[k, 0], shrink=0.8)
        im = axes[k, 1].imshow(filtered[k], cmap=cmaps[k][:-2], vmin=0, vmax=1)
        axes[k, 1].set_title(f"{CHANNEL_NAMES[k]}: filtered, normalised")
        fig.colorbar(im, ax=axes[k, 1], shrink=0.8)
    axes[0, 2].imshow(false_colour(unfiltered))
    axes[0, 2].set_title("false colour, unfiltered")
    axes[1, 2].imshow(false_colour(filtered))
    axes[1, 2].set_title(f"false colour, filtered (<{data_cfg['threshold']:.0%} of max removed)")
    for ax in axes.ravel():
        hide_axes(ax)
    fig.suptitle(f"Preprocessing of one cell ({cell_label}); red = cytoplasm, green = nucleus")
    return fig


def qc_figure(qc, classes):
    """Events removed by each quality check (first failed check), per class, and kept totals."""
    reasons = qc["reason"].fillna("").astype(str).str.split(":").str[0]
    removed = qc.assign(reason=reasons)[~qc["kept"].astype(bool)]
    checks = [c for c in qc.columns if c.startswith("qc_")]
    counts = removed.groupby(["reason", "class"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=checks, columns=classes, fill_value=0)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True,
                                  gridspec_kw={"width_ratios": [3, 1]})
    y = np.arange(len(checks))
    height = 0.8 / len(classes)
    for i, cls in enumerate(classes):
        ax.barh(y + i * height, counts[cls].to_numpy(), height, label=cls, color=CLASS_COLOURS[i])
    ax.set_yticks(y + height * (len(classes) - 1) / 2, [c.removeprefix("qc_").replace("_", " ") for c in checks])
    ax.invert_yaxis()
    ax.set_xlabel("events removed (first failed check)")
    ax.legend(title="class")
    ax.set_title(f"Quality control: {len(removed)} of {len(qc)} events removed")
    kept = qc[qc["kept"].astype(bool)].groupby("class").size().reindex(classes, fill_value=0)
    total = qc.groupby("class").size().reindex(classes, fill_value=0)
    ax2.bar(classes, total, color="lightgray", label="raw events")
    ax2.bar(classes, kept, color=CLASS_COLOURS[:len(classes)], label="kept")
    ax2.set_ylabel("events")
    ax2.legend(loc="lower center", framealpha=0.9)
    return fig
