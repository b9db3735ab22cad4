"""Which channels the classifier uses (the channel ablation figure, Fig. 23)."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .common import CLASS_COLOURS

#: the two bars of each channel: what was done to the channels, how the bar is drawn
BARS = {"without": ("without the channel (replaced by its training mean)", 0.35, "//"),
        "only": ("only the channel (every other one replaced)", 1.0, "")}
#: light channel colours (#ffff00, #bbbbbb) stay readable as text on white with a dark edge
OUTLINE = [patheffects.withStroke(linewidth=0.8, foreground="#555555")]


def channel_use_figure(table, channels, classes):
    """Balanced test accuracy per channel (bars), per-class accuracy (markers), the all-channels
    level and chance (lines). ``table``: ``channel_use_table``'s rows; ``channels``: dicts with
    name and colour in the image set's order."""
    names = [c["name"] for c in channels]
    everything = table[table["condition"] == "all"].iloc[0]
    fig, ax = plt.subplots(figsize=(max(5.5, 1.5 * len(names) + 2.5), 4.6), constrained_layout=True)
    width = 0.38
    x = np.arange(len(names))
    for offset, (condition, (label, alpha, hatch)) in zip((-width / 2, width / 2), BARS.items()):
        rows = table[table["condition"] == condition].set_index("channel").reindex(names)
        for k, channel in enumerate(channels):
            row = rows.loc[channel["name"]]
            ax.bar(x[k] + offset, row["balanced_accuracy"], width, color=channel["colour"], alpha=alpha,
                   hatch=hatch, edgecolor="black", linewidth=0.8)
            ax.text(x[k] + offset, row["balanced_accuracy"] + 0.01, f"acc.\n{row['accuracy']:.2f}", ha="center",
                    va="bottom", fontsize=6.5, color="#333333")
            for c, cls in enumerate(classes):
                ax.plot(x[k] + offset + (c - (len(classes) - 1) / 2) * width / (len(classes) + 1),
                        row[f"accuracy_{cls}"], marker="o", markersize=5, linestyle="none",
                        color=CLASS_COLOURS[c % len(CLASS_COLOURS)], markeredgecolor="white", markeredgewidth=0.6)
    ax.axhline(everything["balanced_accuracy"], color="black", linewidth=1.2)
    ax.axhline(1 / len(classes), color="grey", linestyle=":", linewidth=1.2)
    ax.set_xticks(x, names)
    for tick, channel in zip(ax.get_xticklabels(), channels):
        tick.set_color(channel["colour"])
        tick.set_fontsize(11)
        tick.set_path_effects(OUTLINE)
    ax.set_xlabel("channel")
    ax.set_ylabel("balanced accuracy (test cells)")
    ax.set_ylim(0, 1.1)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.grid(axis="y", alpha=0.3)
    handles = [Patch(facecolor="white", edgecolor="black", hatch=BARS["without"][2], label=BARS["without"][0]),
               Patch(facecolor="grey", edgecolor="black", label=BARS["only"][0]),
               Line2D([], [], color="black", label=f"all channels ({everything['balanced_accuracy']:.2f})"),
               Line2D([], [], color="grey", linestyle=":", label=f"chance (1/{len(classes)})")]
    handles += [Line2D([], [], marker="o", linestyle="none", color=CLASS_COLOURS[c % len(CLASS_COLOURS)],
                       label=f"accuracy on {cls}") for c, cls in enumerate(classes)]
    handles.append(Line2D([], [], linestyle="none", label="acc.: accuracy (every test cell counts once)"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_title(f"Which channels the network uses: accuracy {everything['accuracy']:.2f} with all channels, "
                 f"n = {int(everything['n_cells'])}", fontsize=9)
    return fig
