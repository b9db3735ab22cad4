"""One table of the embedded cells, assembled from the run's files with checked joins.

The embedded cells are the rows of ``activations/selection.csv`` (the cells every
``embeddings/{layer}/{method}.csv`` and ``activations/{layer}/reduced.npy`` hold, in that order);
every other table is joined to them on the cell id by the project's one checked join,
:func:`cellscape.runtime.tables.join_on_id`.
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..runtime.tables import TableError, join_to_ids

#: split names in code order (the FCS ``split`` channel holds the position)
SPLITS = ("train", "val", "test")
#: index.csv columns that the predictions already carry or that name the row
INDEX_KEYS = ("id", "row", "class", "label", "split")
#: mda/targets.csv columns that are not measurements (``truth`` repeats index.csv's simulator value)
TARGET_KEYS = ("row", "id", "split", "class", "label", "target", "truth")
#: what ingestion measures per image channel (index.csv ``<measure>_<channel name>``), in words
CHANNEL_MEASURES = {"intensity": "integrated intensity", "max": "maximum after background removal",
                    "mean": "mean inside the cell"}


@dataclass
class CellTable:
    """The embedded cells: ``obs`` (one row per cell, selection order, ``id`` column), the 2-D maps
    ``embeddings[(layer, method)]`` (n, 2), the reduced features ``features[layer]`` (n, k)."""
    obs: pd.DataFrame
    embeddings: dict
    features: dict
    classes: list
    layers: list
    methods: list
    mda: bool = False
    mda_target: str = ""  # what the regression net learns (config mda.target)
    index_columns: list = field(default_factory=list)  # the extra columns taken from index.csv
    channels: list = field(default_factory=list)  # the image channels [{name, kind, colour}]
    measured_columns: list = field(default_factory=list)  # measured_<m> columns from mda/targets.csv
    selection_columns: dict = field(default_factory=dict)  # selection_<name> -> the explorer's saved CSV
    feature_columns: dict = field(default_factory=dict)  # cell features (data/features.csv) -> what each measures

    def __len__(self):
        return len(self.obs)


#: how the error messages call the embedded cells
EMBEDDED = "the embedded cells (activations/selection.csv)"


def aligned(ids, table, name, how):
    """``table``'s rows in the order of the embedded cells ``ids``; ``how`` as in
    :func:`~cellscape.runtime.tables.join_on_id`. With ``partial`` the result's ``_present``
    column says which cells ``table`` holds."""
    joined = join_to_ids(ids, table, EMBEDDED, name, how=how)
    joined["_present"] = joined["id"].isin(table["id"].astype(str)).to_numpy()
    return joined


def _as_object_strings(values):
    """Strings as an object-dtype Series (RangeIndex): pandas 3 infers its ``str`` dtype from
    arrays, which anndata 0.12.6 does not write (docs/formats.md, export/)."""
    return pd.Series([str(v) for v in values], dtype=object)


def _check_classes(table, name, classes, name_column, code_column):
    """``code_column`` is the position of ``name_column`` in ``classes`` on every row."""
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = sorted(set(table[name_column].astype(str)) - set(lookup))
    if unknown:
        raise TableError(f"{name}: {name_column} {unknown} not among the classes {list(classes)} (data/classes.json)")
    expected = table[name_column].astype(str).map(lookup).to_numpy()
    wrong = table.loc[expected != table[code_column].to_numpy(), "id"].tolist()
    if wrong:
        raise TableError(f"{name}: {code_column} disagrees with {name_column} and the class order for ids {wrong[:5]}")
    return expected


def channel_columns(channels):
    """{index.csv column: (channel, what it measures)} of every image channel, in channel order."""
    return {f"{measure}_{c['name']}": (c, words) for measure, words in CHANNEL_MEASURES.items() for c in channels}


def assemble_cells(selection, predictions, index, embeddings, clusters, reduced, classes, methods,
                   mda_targets=None, mda_predictions=None, mda_target="target", selections=None, channels=None,
                   features=None):
    """The :class:`CellTable` of the embedded cells.

    ``embeddings``: {(layer, method): table with id, x, y}; ``clusters``: {layer: table with id,
    cluster}; ``reduced``: {layer: (n, k) array in selection order}; ``mda_targets`` and
    ``mda_predictions`` (mda/targets.csv, mda/predictions.csv) when the regression stage ran, with
    ``mda_target`` naming its target; the other measurements of targets.csv become ``measured_<name>``.
    ``selections``: ``{name: (path, table with id)}``, selections saved from the explorer; each
    becomes a boolean ``selection_<name>`` column (a gate in FCS, an ``obs`` column in AnnData).
    ``channels``: the image channels (``[{name, kind, colour}]``); index.csv must hold each one's
    ``intensity_``, ``max_`` and ``mean_<name>`` (ingestion writes them), so none is lost silently.
    ``features``: (data/features.csv as a table, {column: what it measures}): the cell features of
    the described columns join the cells under their own names (the simulator's truth is in
    index.csv already).
    A table that misses, repeats or adds cells is a :class:`TableError` naming it and the ids.
    """
    classes = [str(c) for c in classes]
    layers = list(dict.fromkeys([layer for layer, _ in embeddings] + list(clusters) + list(reduced)))
    ids = selection["id"].astype(str).tolist()
    n = len(ids)
    pred = aligned(ids, predictions, "model/predictions.csv", "covers")
    label = _check_classes(pred, "model/predictions.csv", classes, "class", "label")
    predicted = _check_classes(pred, "model/predictions.csv", classes, "predicted", "predicted_label")
    unknown_split = sorted(set(pred["split"].astype(str)) - set(SPLITS))
    if unknown_split:
        raise TableError(f"model/predictions.csv: split {unknown_split} is not one of {SPLITS}")
    idx = aligned(ids, index, "data/index.csv", "covers")
    if not np.array_equal(idx["row"].to_numpy(), pred["row"].to_numpy()):
        bad = idx.loc[idx["row"].to_numpy() != pred["row"].to_numpy(), "id"].tolist()
        raise TableError(f"data/index.csv and model/predictions.csv give different rows for ids {bad[:5]}")

    obs = pd.DataFrame({"id": _as_object_strings(ids), "row": idx["row"].to_numpy(dtype=np.int64)})
    obs["split"] = pd.Categorical.from_codes(pred["split"].astype(str).map(SPLITS.index).to_numpy(),
                                             categories=pd.Index(SPLITS, dtype=object))
    obs["class"] = pd.Categorical.from_codes(label, categories=pd.Index(classes, dtype=object))
    obs["label"] = label.astype(np.int64)
    obs["predicted"] = pd.Categorical.from_codes(predicted, categories=pd.Index(classes, dtype=object))
    obs["predicted_label"] = predicted.astype(np.int64)
    obs["certainty"] = pred["certainty"].to_numpy(dtype=np.float64)
    for c in classes:
        obs[f"p_{c}"] = pred[f"p_{c}"].to_numpy(dtype=np.float64)

    for layer, table in clusters.items():
        joined = aligned(ids, table, f"embeddings/{layer}/clusters.csv", "exact")
        obs[f"cluster_{layer}"] = joined["cluster"].to_numpy(dtype=np.int64)

    mda = mda_targets is not None
    if mda:
        if mda_predictions is None:
            raise ValueError("mda_targets without mda_predictions")
        targets = aligned(ids, mda_targets, "mda/targets.csv", "covers")
        regression = aligned(ids, mda_predictions, "mda/predictions.csv", "partial")
        has_target = np.isfinite(targets["target"].to_numpy(dtype=np.float64))
        lacking = [i for i, ok, present in zip(ids, has_target, regression["_present"]) if ok and not present]
        if lacking:  # the regression net predicts every cell that has a measured target (rule mda_train)
            raise TableError(f"mda/predictions.csv: {len(lacking)} embedded cells with a measured target are "
                            f"missing: {lacking[:5]}")
        obs["mda_target"] = targets["target"].to_numpy(dtype=np.float64)
        obs["mda_predicted"] = regression["predicted"].to_numpy(dtype=np.float64)
        obs["mda_error"] = regression["error"].to_numpy(dtype=np.float64)
        obs["mda_missing"] = ~regression["_present"].to_numpy(dtype=bool)
        measured = [c for c in mda_targets.columns
                    if c not in TARGET_KEYS and pd.api.types.is_numeric_dtype(mda_targets[c])]
        for column in measured:
            obs[f"measured_{column}"] = targets[column].to_numpy(dtype=np.float64)
    else:
        measured = []

    missing = [c for c in channel_columns(channels or []) if c not in index.columns]
    if missing:
        raise TableError(f"data/index.csv lacks {missing}, the measurements of the image channels "
                         f"{[c['name'] for c in channels]} (data.channels): was it written by an older ingestion?")
    extra = [c for c in index.columns if c not in INDEX_KEYS]
    clash = sorted(set(extra) & set(obs.columns))
    if clash:
        raise TableError(f"data/index.csv: columns {clash} clash with the exported columns")
    for column in extra:
        values = idx[column]
        obs[column] = (values.to_numpy() if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
                       else _as_object_strings(values.fillna("")))

    described = {}
    if features is not None:
        table, described = features
        joined = aligned(ids, table[["id", *described]].copy(), "data/features.csv", "covers")
        clash = sorted(set(described) & set(obs.columns))
        if clash:
            raise TableError(f"data/features.csv: columns {clash} clash with the exported columns")
        obs = pd.concat([obs, pd.DataFrame({column: joined[column].to_numpy(dtype=np.float64)
                                            for column in described})], axis=1)  # at once: one block

    maps = {}
    for (layer, method), table in embeddings.items():
        joined = aligned(ids, table, f"embeddings/{layer}/{method}.csv", "exact")
        maps[(layer, method)] = joined[["x", "y"]].to_numpy(dtype=np.float64)
    features = {}
    for layer, array in reduced.items():
        array = np.asarray(array)
        if array.ndim != 2 or len(array) != n:
            raise TableError(f"activations/{layer}/reduced.npy: shape {array.shape}, expected one row per embedded "
                            f"cell ({n}, activations/selection.csv order)")
        features[layer] = np.asarray(array, dtype=np.float32)
    chosen = {}
    for name, (path, table) in (selections or {}).items():
        column = f"selection_{name}"
        obs[column] = selected_cells(ids, table, path)
        chosen[column] = str(path)
    return CellTable(obs=obs, embeddings=maps, features=features, classes=classes, layers=layers,
                     methods=list(methods), mda=mda, mda_target=mda_target if mda else "", index_columns=extra,
                     channels=[{k: c[k] for k in ("name", "kind", "colour")} for c in channels or []],
                     measured_columns=[f"measured_{c}" for c in measured], selection_columns=chosen,
                     feature_columns=dict(described))


def selected_cells(ids, table, path):
    """Which of the embedded cells ``ids`` a saved selection (a table with ``id``) holds, as bools.

    Every id of the selection must be an embedded cell and appear once: a selection saved from
    another run's explorer is an error naming the file and the ids, never a silently smaller gate.
    """
    if "id" not in table.columns:
        raise TableError(f"{path}: a selection needs an 'id' column (has {list(table.columns)})")
    wanted = table["id"].astype(str)
    repeated = sorted(wanted[wanted.duplicated()].unique())
    if repeated:
        raise TableError(f"{path}: ids listed more than once: {repeated[:5]}")
    unknown = sorted(set(wanted) - set(ids))
    if unknown:
        raise TableError(f"{path}: {len(unknown)} ids are not cells of this run's explorer "
                         f"(activations/selection.csv), e.g. {unknown[:5]}")
    return np.isin(np.asarray(ids, dtype=object), wanted.to_numpy(dtype=object))
