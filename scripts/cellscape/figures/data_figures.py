"""Figures of the data stage: the preprocessing of one cell (Fig. 2), quality control and intensity per class."""
import textwrap

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
import numpy as np
import pandas as pd

from ..data.preprocess import (QC_CHECKS, QC_PROBLEMS, central_channel, clean_channels, fit_to_size,
                               keep_central_object, normalise_per_image, subtract_background)
from .common import CLASS_COLOURS, false_colour, hide_axes

CHANNEL_NAMES = ("cytoplasm", "nucleus")


def preprocessing_figure(raw, data_cfg, image_size, cell_label, min_object_px=8):
    """Paper Fig. 2: both channels before/after normalisation, false colour unfiltered vs filtered."""
    sized = fit_to_size(raw, image_size, data_cfg["fit"])
    channels = data_cfg["channels"]
    unfiltered = normalise_per_image(subtract_background(sized))
    filtered = clean_channels(sized, channels)
    if data_cfg["keep_central_object"]:
        filtered = keep_central_object(filtered, min_object_px, central_channel(channels, data_cfg.get("central_channel")))
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


def rejection_counts(qc, classes):
    """Events removed per problem (qc.csv's ``problem``: an unreadable file's kind, or what the
    first failed check means) and class: unreadable problems first (most frequent first), then
    every check in order, also when it removed nothing."""
    removed = qc[~qc["kept"].astype(bool)]
    if "problem" in qc:
        problems = removed["problem"].fillna("").astype(str)
    else:  # a qc.csv written before the problem column: the first failed check's name
        problems = removed["reason"].fillna("").astype(str).str.split(":").str[0]
    counts = removed.assign(problem=problems).groupby(["problem", "class"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=classes, fill_value=0)
    checks = [QC_PROBLEMS[c] for c in QC_CHECKS] if "problem" in qc else [c for c in qc.columns if c.startswith("qc_")]
    unreadable = counts.drop(index=[c for c in checks if c in counts.index])
    unreadable = unreadable.loc[unreadable.sum(axis=1).sort_values(ascending=False, kind="stable").index]
    return pd.concat([unreadable, counts.reindex(index=checks, fill_value=0)])


def qc_figure(qc, classes, evidence=None):
    """Events removed per problem and class, raw and kept events per class, and (when qc.csv has
    them) each channel's integrated intensity per class of the kept cells: whether absolute
    intensity carries the classes, which ``normalise: per_image`` scales away. ``evidence``
    (normalisation.json) adds the normalisation used and its warnings as the figure's title."""
    counts = rejection_counts(qc, classes)
    intensities = [c for c in qc.columns if c.startswith("intensity_")]
    fig = plt.figure(figsize=(12, 8 if intensities else 4.5), constrained_layout=True)
    grid = fig.add_gridspec(2 if intensities else 1, 4)
    ax, ax2 = fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3])
    y = np.arange(len(counts))
    height = 0.8 / len(classes)
    for i, cls in enumerate(classes):
        ax.barh(y + i * height, counts[cls].to_numpy(), height, label=cls, color=CLASS_COLOURS[i])
    ax.set_yticks(y + height * (len(classes) - 1) / 2, counts.index)
    ax.invert_yaxis()
    ax.set_xlabel("events removed (unreadable, or the first failed check)")
    ax.legend(title="class")
    n_removed = int((~qc["kept"].astype(bool)).sum())
    ax.set_title(f"Quality control: {n_removed} of {len(qc)} events removed (qc.csv: problem, reason)")
    kept = qc[qc["kept"].astype(bool)].groupby("class").size().reindex(classes, fill_value=0)
    total = qc.groupby("class").size().reindex(classes, fill_value=0)
    ax2.bar(classes, total, color="lightgray", label="raw events")
    ax2.bar(classes, kept, color=CLASS_COLOURS[:len(classes)], label="kept")
    ax2.set_ylabel("events")
    ax2.tick_params(axis="x", labelrotation=20 if len(classes) > 2 else 0)
    ax2.legend(loc="lower center", framealpha=0.9)
    for k, column in enumerate(intensities):
        intensity_panel(fig.add_subplot(grid[1, 2 * k:2 * k + 2]), qc, column, classes)
    if evidence is not None:
        warnings = evidence["warnings"]
        fig.suptitle(normalisation_line(evidence), fontsize=10, color="firebrick" if warnings else "black")
    return fig


def normalisation_line(evidence, shown=2):
    """The normalisation used and why, then what it removed that separated the classes."""
    warnings = evidence["warnings"]
    lines = [f"normalisation: {evidence['used']}" if warnings else
             f"normalisation: {evidence['used']} ({evidence['reason']})"]
    lines += [f"warning: {text}" for text in warnings[:shown]]
    if len(warnings) > shown:
        lines.append(f"... and {len(warnings) - shown} more (data/normalisation.json)")
    return "\n".join(textwrap.fill(line, 130, subsequent_indent="    ") for line in lines)


def leading_digit(value):
    return int(round(value / 10 ** np.floor(np.log10(value)), 6))


def short_count(value, _=None):
    """1e6 -> '1M', 2e5 -> '200k': tick labels that do not overlap on a log axis."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:g}{unit}"
    return f"{value:g}"


def intensity_panel(ax, qc, column, classes):
    """Histograms (log scale, each class's own area 1) of one channel's integrated intensity."""
    kept = qc[qc["kept"].astype(bool)]
    values = kept[column].to_numpy(dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    if not len(positive):
        ax.set_title(f"{column}: no kept cell with signal")
        return
    bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 31)
    for i, cls in enumerate(classes):
        v = kept.loc[kept["class"] == cls, column].to_numpy(dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        if len(v):
            ax.hist(v, bins=bins, density=True, histtype="step", linewidth=1.8, color=CLASS_COLOURS[i],
                    label=f"{cls} (median {np.median(v):.3g}, n = {len(v)})")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(short_count))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: short_count(v) if leading_digit(v) in (2, 5) else ""))
    ax.set_yticks([])
    channel = column.removeprefix("intensity_")
    ax.set_xlabel("integrated intensity (counts above background)")
    ax.set_title(f"{channel} intensity per class of the kept cells, before normalisation", fontsize=10)
    ax.legend(fontsize=8)
