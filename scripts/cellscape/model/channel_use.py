"""Which channels the classifier uses: its test scores with channels replaced by a neutral image.

A channel is taken away by replacing it, in every evaluated cell, with the per-pixel mean of that
channel over the training cells. The network then sees an input of the kind it was trained on
(the channel's average cell: bright where cells usually are, at the usual level) that says
nothing about the cell in front of it. Zeros or a flat image would be unlike every training
cell (a brightfield channel is never flat, a stain never absent): accuracy would drop because
the input is foreign, not only because the channel's information is gone.

Conditions: ``all`` (nothing replaced), ``without`` a channel (it alone replaced) and ``only`` a
channel (every other one replaced). With a single channel, ``only`` is ``all`` and ``without``
shows every cell the same image: one answer for all cells, whose balanced accuracy is
1 / classes (chance).
"""
import numpy as np
import pandas as pd

from ..data.channel_view import ReplacedChannels
from ..runtime.io import read_rows
from .evaluation import predict_proba, test_metrics


def training_mean_image(images, rows, batch_size=256):
    """(C, H, W) float32 per-pixel mean of ``images[rows]``, read in batches (float64 sums)."""
    rows = np.sort(np.asarray(rows))
    if not len(rows):
        raise ValueError("no training cells to take the channels' mean image from")
    total = np.zeros(images.shape[1:], np.float64)
    for start in range(0, len(rows), batch_size):
        total += read_rows(images, rows[start:start + batch_size]).sum(axis=0, dtype=np.float64)
    return (total / len(rows)).astype(np.float32)


def conditions(names):
    """(condition, channel, indices replaced) of every ablation of channels ``names``."""
    everything = list(range(len(names)))
    return ([("all", "all", [])] + [("without", name, [k]) for k, name in enumerate(names)]
            + [("only", name, [j for j in everything if j != k]) for k, name in enumerate(names)])


def score_columns(metrics):
    """{accuracy, balanced_accuracy, accuracy_<class>...} of an ``evaluation.test_metrics`` dict
    (a network's metrics.json too): the columns of the channel-use tables."""
    return {"accuracy": metrics["test_accuracy"], "balanced_accuracy": metrics["balanced_accuracy"],
            **{f"accuracy_{cls}": value for cls, value in metrics["per_class_accuracy"].items()}}


def scores(labels, predicted, classes):
    """:func:`score_columns` of predicted labels (``evaluation.test_metrics`` on every cell given)."""
    table = pd.DataFrame({"label": labels, "predicted_label": predicted})
    return score_columns(test_metrics(table, classes, 0, evaluated="all"))


def channel_use_table(model, images, index, classes, channels, device="cpu", evaluated="test", batch_size=256):
    """One row per condition: condition, channel, kind, replaced (channel names), n_cells and the
    scores on the ``evaluated`` cells ("test", or "all") with the replaced channels at their
    training mean image. ``channels``: dicts with name and kind, in the image set's order."""
    means = training_mean_image(images, index.loc[index["split"] == "train", "row"].to_numpy(), batch_size)
    cells = index if evaluated == "all" else index[index["split"] == "test"]
    rows, labels = cells["row"].to_numpy(), cells["label"].to_numpy()
    names = [c["name"] for c in channels]
    kind = {c["name"]: c["kind"] for c in channels} | {"all": "all"}
    table = []
    for condition, channel, replaced in conditions(names):
        proba = predict_proba(model, ReplacedChannels(images, rows, replaced, means), device, batch_size)
        table.append({"condition": condition, "channel": channel, "kind": kind[channel],
                      "replaced": " ".join(names[k] for k in replaced), "n_cells": len(rows),
                      **scores(labels, proba.argmax(axis=1), classes)})
    return pd.DataFrame(table)
