"""Figures of the data stage: the preprocessing of one cell (Fig. 2), quality control and intensity per class."""
import textwrap

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
import numpy as np
import pandas as pd

from ..data.preprocess import (QC_CHECKS, QC_PROBLEMS, border_median, central_channel, clean_channels,
                               fit_to_size, keep_central_object, normalise_per_image, subtract_background)
from .common import CLASS_COLOURS, colour_frame, colour_note, compose_channels, hide_axes


def preprocessing_figure(raw, data_cfg, image_size, cell_label, channels, min_object_px=8):
    """Paper Fig. 2 for any channels: a row per channel (raw counts; cleaned by its kind and
    normalised), and the composite (``channels``' colours) before and after cleaning."""
    sized = fit_to_size(raw, image_size, data_cfg["fit"])
    kinds = data_cfg["channels"]
    unfiltered = normalise_per_image(background_removed(sized, kinds))
    filtered = clean_channels(sized, kinds)
    if data_cfg["keep_central_object"]:
        filtered = keep_central_object(filtered, min_object_px, central_channel(kinds, data_cfg.get("central_channel")))
    filtered = normalise_per_image(filtered)
    rows = max(len(channels), 2)
    fig = plt.figure(figsize=(10.5, 1.2 + 2.3 * rows), constrained_layout=True)
    grid = fig.add_gridspec(rows, 3, width_ratios=[1, 1, 1.15])
    for k, (channel, kind) in enumerate(zip(channels, kinds)):
        ax = fig.add_subplot(grid[k, 0])
        fig.colorbar(ax.imshow(sized[k], cmap="gray"), ax=ax, shrink=0.8)
        masked = " (instrument's mask)" if kind.get("mask") == "instrument" else ""
        ax.set_title(f"{channel['name']}: raw counts{masked}", fontsize=9)
        hide_axes(ax)
        ax = fig.add_subplot(grid[k, 1])
        fig.colorbar(ax.imshow(filtered[k], cmap="gray", vmin=0, vmax=1), ax=ax, shrink=0.8)
        ax.set_title(f"{channel['name']}: {cleaning(kind)}", fontsize=9)
        hide_axes(ax)
        colour_frame(ax, channel["colour"])
    for image, where, title in ((unfiltered, grid[:rows // 2, 2], "composite, background removed only"),
                                (filtered, grid[rows // 2:, 2], "composite, cleaned and normalised")):
        ax = fig.add_subplot(where)
        ax.imshow(compose_channels(image, channels), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        hide_axes(ax)
    fig.suptitle(f"Preprocessing of one cell ({cell_label}); {colour_note(channels)}")
    return fig


def cleaning(channel):
    """How :func:`clean_channels` cleans a channel of this kind, as a panel title."""
    if channel.get("mask") == "instrument":  # a .cif's own mask: pixels outside it read as background
        what = "deviation from the background" if channel["kind"] == "brightfield" else "background removed"
        return f"{what}\ninside the instrument's mask, normalised"
    if channel["kind"] == "brightfield":
        return "deviation from the bright\nbackground inside the cell (no threshold), normalised"
    return f"background removed, <{channel['threshold']:.0%}\nof max removed, normalised"


def background_removed(sized, channels):
    """Each channel's signal before it is cleaned: above the border's level (dark background) or
    the absolute deviation from it (brightfield, whose cell may be darker than the background)."""
    out = subtract_background(sized)
    for i, c in enumerate(channels):
        if c["kind"] == "brightfield":
            out[i] = np.abs(sized[i] - border_median(sized[i]))
    return out


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


def qc_figure(qc, classes, evidence=None, qc_warnings=None):
    """Events removed per problem and class, raw and kept events per class, and (when qc.csv has
    them) each channel's integrated intensity per class of the kept cells: whether absolute
    intensity carries the classes, which ``normalise: per_image`` scales away. ``evidence``
    (normalisation.json) adds the normalisation used and its warnings as the figure's title;
    ``qc_warnings`` (qc_summary.json's: a check that removed much of a class or classes at
    different rates, duplicates, objects without a class) are written in red above the panels."""
    counts = rejection_counts(qc, classes)
    intensities = [c for c in qc.columns if c.startswith("intensity_")]
    intensity_rows = -(-len(intensities) // 4)
    fig = plt.figure(figsize=(12, 4.5 + 3.5 * intensity_rows), constrained_layout=True)
    grid = fig.add_gridspec(2 if intensities else 1, 4, height_ratios=[1, intensity_rows] if intensities else None)
    ax, ax2 = fig.add_subplot(grid[0, :3]), fig.add_subplot(grid[0, 3])
    y = np.arange(len(counts))
    height = 0.8 / len(classes)
    for i, cls in enumerate(classes):
        ax.barh(y + i * height, counts[cls].to_numpy(), height, label=cls, color=CLASS_COLOURS[i])
    flagged = [any(f"'{problem}'" in text for text in (qc_warnings or [])) for problem in counts.index]
    ax.set_yticks(y + height * (len(classes) - 1) / 2,
                  [f"(!) {problem}" if flag else problem for problem, flag in zip(counts.index, flagged)])
    for label, flag in zip(ax.get_yticklabels(), flagged):  # a problem the warnings name: red
        if flag:
            label.set_color("firebrick")
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
    if intensities:  # one panel per channel, up to four a row
        per_row = min(len(intensities), 4)
        rows = -(-len(intensities) // per_row)
        panels = grid[1, :].subgridspec(rows, per_row)
        for k, column in enumerate(intensities):
            intensity_panel(fig.add_subplot(panels[k // per_row, k % per_row]), qc, column, classes)
    title = [normalisation_line(evidence)] if evidence is not None else []
    title += [textwrap.fill(f"warning: {text}", 130, subsequent_indent="    ") for text in (qc_warnings or [])]
    if title:
        alarm = bool(qc_warnings) or bool(evidence is not None and evidence["warnings"])
        fig.suptitle("\n".join(title), fontsize=10, color="firebrick" if alarm else "black")
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
