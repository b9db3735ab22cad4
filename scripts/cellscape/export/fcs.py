"""The embedded cells as FCS 3.1 list-mode files (one event per cell), written with ``flowio``.

Channels (``$PnN`` short name, ``$PnS`` long name) hold raw values, 32-bit float (the only data
type ``flowio`` writes): integer codes for class, predicted class and split (the names in ``$PnS``
and in the ``CELLSCAPE_*`` keywords), probabilities, certainty, the regression target and
prediction, the index's per-cell properties, and per layer its DBSCAN cluster and the two
coordinates of each embedding. ``$PnR`` is the channel's maximum rounded up, ``$PnD`` the linear
display range the values span; nothing is rescaled.

FCS defines no missing value and a NaN makes every range, scale or statistic over its channel NaN,
so none is written: a missing value is :data:`MISSING_VALUE` and a 0/1 channel says where
(``mda_missing``); any other non-finite value is an error.

The FCS 3.1 standard sets no maximum for ``$PAR`` and ``flowio`` checks none; gating tools are
built and tested for instrument files (a few dozen to ~200 parameters on spectral cytometers). A
file here keeps to :data:`FCS_MAX_PARAMETERS`: when the layers need more channels they are split
over several files (``cells.fcs``, ``cells_part2.fcs``, ...), each with every per-cell channel,
planned from the configuration alone (:func:`cellscape.export.parts.plan_fcs_parts`) so the rule
knows its outputs.
"""
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..runtime.io import atomic_path
from .cells import SPLITS, channel_columns
from .parts import FCS_FEATURE_BUDGET, FCS_MAX_PARAMETERS

#: what a missing value is written as (the ``*_missing`` channel marks the cell)
MISSING_VALUE = -1.0
#: float32 holds every integer up to 2**24 exactly
FLOAT32_EXACT_INTEGERS = 2 ** 24
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.+-]")


@dataclass
class Channel:
    name: str           # $PnN: short, no spaces or commas
    long_name: str      # $PnS: what a gating tool shows beside the name
    values: np.ndarray  # float64, one per cell
    missing_ok: bool = False  # NaN becomes MISSING_VALUE instead of an error


def fcs_name(text):
    """A ``$PnN``-safe name: letters, digits and ``_ . + -`` (commas are reserved by $SPILLOVER)."""
    return _NAME_CHARS.sub("_", str(text))








def _codes_text(names):
    return ", ".join(f"{i}={name}" for i, name in enumerate(names))


def _integer_objects(objects):
    """The source files' object numbers as integers when every one is a plain decimal integer
    exactly representable in float32 (IFC exports: ``123`` of ``123_Ch2.ome.tif``), else None."""
    objects = [str(i) for i in objects]
    if not all(re.fullmatch(r"0|[1-9][0-9]*", i) for i in objects):
        return None
    values = np.array([int(i) for i in objects], dtype=np.int64)
    return values if values.max(initial=0) < FLOAT32_EXACT_INTEGERS else None


def cell_channels(cells):
    """The per-cell channels (every FCS file has them), in display order."""
    obs, classes = cells.obs, cells.classes
    n = len(obs)
    rows = obs["row"].to_numpy(dtype=np.int64)
    if n >= FLOAT32_EXACT_INTEGERS or rows.max(initial=0) >= FLOAT32_EXACT_INTEGERS:
        raise ValueError(f"{n} cells / row {rows.max()}: beyond the integers float32 holds exactly")
    channels = [Channel("cell_index", "position in activations/selection.csv and the .h5ad", np.arange(n, dtype=float)),
                Channel("row", "row of data/index.csv and data/images.npy", rows.astype(float))]
    objects = _integer_objects(obs["object"]) if "object" in obs else None
    if objects is not None:  # with the class channel it names the cell: id = <class name>/<object>
        channels.append(Channel("object", "object number in the source file (id: class/object)",
                                objects.astype(float)))
    channels += [
        Channel("class", f"class: {_codes_text(classes)}", obs["label"].to_numpy(dtype=float)),
        Channel("predicted", f"predicted class: {_codes_text(classes)}", obs["predicted_label"].to_numpy(dtype=float)),
    ]
    channels += [Channel(fcs_name(f"p_{c}"), f"probability {c}", obs[f"p_{c}"].to_numpy(dtype=float)) for c in classes]
    channels += [Channel("certainty", "certainty (largest probability)", obs["certainty"].to_numpy(dtype=float)),
                 Channel("split", f"split: {_codes_text(SPLITS)}", obs["split"].cat.codes.to_numpy(dtype=float))]
    if cells.mda:
        target = cells.mda_target or "target"
        channels += [
            Channel("mda_target", f"regression target {target}, measured", obs["mda_target"].to_numpy(dtype=float),
                    missing_ok=True),
            Channel("mda_predicted", f"regression target {target}, predicted",
                    obs["mda_predicted"].to_numpy(dtype=float), missing_ok=True),
            Channel("mda_error", "regression error (predicted - measured)", obs["mda_error"].to_numpy(dtype=float),
                    missing_ok=True),
            Channel("mda_missing", f"1 = no regression target or prediction ({MISSING_VALUE:g} there)",
                    obs["mda_missing"].to_numpy(dtype=float)),
        ]
        channels += [Channel(fcs_name(c), f"{c[len('measured_'):]} measured on the image (mda/targets.csv)",
                             obs[c].to_numpy(dtype=float), missing_ok=True) for c in cells.measured_columns]
    channels += [Channel(fcs_name(column), f"1 = in the selection saved as {path}", obs[column].to_numpy(dtype=float))
                 for column, path in cells.selection_columns.items()]
    channels += [Channel(fcs_name(column), f"{words} (data/features.csv)", obs[column].to_numpy(dtype=float),
                         missing_ok=True) for column, words in list(cells.feature_columns.items())[:FCS_FEATURE_BUDGET]]
    measured = channel_columns(cells.channels)
    for column in cells.index_columns:
        values = obs[column]
        if not pd.api.types.is_numeric_dtype(values):  # bool counts as numeric (0/1)
            continue  # text (source path, event type): in the .h5ad only
        if column in measured:
            channel, words = measured[column]
            long_name = f"{channel['name']} ({channel['kind']} image channel) {words} (data/index.csv)"
        else:
            long_name = f"{column} (data/index.csv)"
        channels.append(Channel(fcs_name(column), long_name, values.to_numpy(dtype=float), missing_ok=True))
    return channels


def layer_channels(cells, layer):
    """One layer's channels: its DBSCAN cluster, then both coordinates of each method's map."""
    channels = []
    if f"cluster_{layer}" in cells.obs:
        channels.append(Channel(fcs_name(f"cluster_{layer}"), f"{layer} DBSCAN cluster (-1 = noise)",
                                cells.obs[f"cluster_{layer}"].to_numpy(dtype=float)))
    for method in cells.methods:
        xy = cells.embeddings[(layer, method)]
        for axis in (0, 1):
            channels.append(Channel(fcs_name(f"{layer}_{method}_{axis + 1}"), f"{layer} {method.upper()} {axis + 1}",
                                    xy[:, axis]))
    return channels


def _finite(channel, ids):
    values = np.asarray(channel.values, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any() and not (channel.missing_ok and np.isnan(values[bad]).all()):
        raise ValueError(f"FCS channel {channel.name}: non-finite values for ids {list(np.asarray(ids)[bad][:5])}")
    return np.where(bad, MISSING_VALUE, values), int(bad.sum())


def _keywords(channels, matrix, extra):
    """$PnS, $PnR (maximum rounded up, at least 1) and $PnD (linear display range) per channel."""
    keywords = {}
    for n, (channel, column) in enumerate(zip(channels, matrix.T), start=1):
        high = max(1, math.ceil(float(column.max(initial=0))))
        low = min(0, math.floor(float(column.min(initial=0))))
        keywords[f"$P{n}R"] = str(high)
        keywords[f"$P{n}D"] = f"Linear,{low},{high}"
    keywords.update(extra)
    return keywords


def write_fcs(path, channels, keywords, ids):
    """One FCS 3.1 file of ``channels`` (events = cells) with extra TEXT ``keywords``; returns
    {channel: number of missing values written as MISSING_VALUE}."""
    from array import array

    import flowio

    names = [c.name for c in channels]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"FCS channel names must be unique: {repeated}")
    columns, filled = [], {}
    for channel in channels:
        values, count = _finite(channel, ids)
        columns.append(values)
        if count:
            filled[channel.name] = count
    matrix = np.column_stack(columns).astype("<f4") if columns else np.zeros((len(ids), 0), "<f4")
    data = array("f")
    data.frombytes(matrix.tobytes())  # row-major: event by event, as list mode stores it
    if sys.byteorder != "little":  # flowio writes $BYTEORD 1,2,3,4 (little endian)
        data.byteswap()
    text = _keywords(channels, matrix, keywords)
    text["$FIL"] = Path(path).name
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        flowio.create_fcs(handle, data, names, opt_channel_names=[c.long_name for c in channels],
                          metadata_dict=text)
    return filled


def write_fcs_parts(cells, paths, parts, max_parameters=FCS_MAX_PARAMETERS):
    """Write one FCS file per entry of ``parts`` (lists of layers, ``parts.plan_fcs_parts``) to
    ``paths``; every file has the per-cell channels. Returns [(path, parameters, filled)]."""
    if len(paths) != len(parts):
        raise ValueError(f"{len(paths)} FCS paths for {len(parts)} parts")
    ids = cells.obs["id"].to_numpy()
    per_cell = cell_channels(cells)
    names = [Path(p).name for p in paths]
    written = []
    for number, (path, layers) in enumerate(zip(paths, parts), start=1):
        channels = per_cell + [c for layer in layers for c in layer_channels(cells, layer)]
        if len(channels) > max_parameters:
            raise ValueError(f"{Path(path).name}: {len(channels)} parameters exceed the limit of {max_parameters} "
                             f"({len(per_cell)} per-cell channels; plan the files with parts.plan_fcs_parts)")
        keywords = {
            "$CYT": "cellscape (CNN feature-space export)",
            "CELLSCAPE_CLASSES": json.dumps(cells.classes),
            "CELLSCAPE_SPLITS": json.dumps(list(SPLITS)),
            "CELLSCAPE_LAYERS": json.dumps(list(layers)),
            "CELLSCAPE_METHODS": json.dumps(cells.methods),
            # the image channels in the images' order: [{name, kind, colour}] (columns <measure>_<name>)
            "CELLSCAPE_IMAGE_CHANNELS": json.dumps(cells.channels),
            "CELLSCAPE_PART": f"{number} of {len(parts)}",
            "CELLSCAPE_PART_FILES": json.dumps(names),
            "CELLSCAPE_MISSING_VALUE": f"{MISSING_VALUE:g}",
            # the cell id (data/index.csv) is <class name>/<object>: channels class and object
            "CELLSCAPE_ID_CHANNEL": "object" if any(c.name == "object" for c in per_cell) else "none",
        }
        filled = write_fcs(path, channels, keywords, ids)
        written.append((path, len(channels), filled))
    return written
