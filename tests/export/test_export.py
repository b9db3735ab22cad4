"""The export stage: a small fabricated run written to disk, exported by the rule's own script, and
both files read back with flowio and anndata, every value checked against the tables it came from.

Expected values come from the fabricated tables (the dicts below), never from the code under test.
"""
import json
import os
import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import anndata
import flowio
import numpy as np
import pandas as pd
import pytest
import yaml

from cellscape.export.fcs import Channel, write_fcs
from cellscape.export.cells import aligned
from cellscape.runtime.tables import TableError
from cellscape.export.parts import plan_fcs_parts
from cellscape.features import feature_columns
from support.workflow import REPO, plan

SCRIPT = REPO / "scripts" / "export.py"
#: class names (folder names) with a space, a plus sign, brackets and a comma
CLASSES = ["CD4+ T cell", "band neutrophil (mature), CD16+"]
P_BAND = "p_band_neutrophil__mature___CD16+"  # its FCS channel name: only letters, digits, _ . + -
LAYERS = ["conv1", "conv2", "dense1"]
METHODS = ["umap", "tsne"]
SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
FCS_LIMIT = 200  # parameters per FCS file, as docs/formats.md states
#: the image channels as the rule passes them (data.channels' name, kind, colour); the paper's two
PAPER_CHANNELS = [{"name": "cytoplasm", "kind": "fluorescence", "colour": "#ff0000"},
                  {"name": "nucleus", "kind": "fluorescence", "colour": "#00ff00"}]
FOUR_CHANNELS = [{"name": "brightfield", "kind": "brightfield", "colour": "#bbbbbb"}, *PAPER_CHANNELS,
                 {"name": "darkfield", "kind": "darkfield", "colour": "#ff00ff"}]


# ----------------------------------------------------------------------------- a fabricated run

def fabricate_run(root, n_images=40, n_selected=15, ids=None, seed=0, layers=LAYERS, methods=METHODS, k=6,
                  channels=PAPER_CHANNELS):
    """Write a small run's files under ``root`` as the workflow would; return the raw tables."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    label = rng.integers(0, 2, n_images)
    # as ingestion writes them: <class>/<object>, object numbers restarting in each class folder
    objects = [str(np.sum(label[:i] == label[i]) * 7) for i in range(n_images)]
    ids = ids or [f"{CLASSES[k]}/{o}" for k, o in zip(label, objects)]
    split = rng.choice(["train", "val", "test"], n_images)
    p1 = rng.uniform(0.02, 0.98, n_images)
    prob = np.column_stack([1 - p1, p1])
    predicted = prob.argmax(axis=1)
    predictions = pd.DataFrame({
        "row": np.arange(n_images), "id": ids, "split": split, "class": [CLASSES[i] for i in label], "label": label,
        "predicted": [CLASSES[i] for i in predicted], "predicted_label": predicted, "certainty": prob.max(axis=1),
        f"p_{CLASSES[0]}": prob[:, 0], f"p_{CLASSES[1]}": prob[:, 1]})
    index = pd.DataFrame({
        "row": np.arange(n_images), "id": ids, "class": predictions["class"], "label": label, "split": split,
        "source": [f"raw/{CLASSES[k]}/{o}_Ch2.ome.tif" for k, o in zip(label, objects)], "object": objects,
        # what ingestion measures per image channel, then the simulator's properties
        **{f"{measure}_{c['name']}": rng.uniform(1, 5000, n_images).round(3)
           for measure in ("intensity", "max", "mean") for c in channels},
        "event_type": "cell", "cell_diameter_px": rng.uniform(18, 40, n_images).round(4),
        "offset_x": rng.normal(0, 3, n_images).round(4)})
    # the cell features (data/features.csv: every kept cell, here in another order) with a truth column
    features = pd.DataFrame({"row": np.arange(n_images), "id": ids,
                             **{c.name: rng.uniform(0, 100, n_images).round(3) for c in feature_columns(channels)},
                             "truth_cell_area": rng.uniform(200, 900, n_images)}).iloc[rng.permutation(n_images)]
    # the embedded cells: a shuffled subset (dump order is not row order)
    chosen = rng.permutation(n_images)[:n_selected]
    selection = predictions.iloc[chosen].reset_index(drop=True)
    sel_ids = selection["id"].tolist()
    tables = {"predictions": predictions, "index": index, "features": features, "selection": selection, "embeddings": {},
              "clusters": {}, "reduced": {}}
    for layer in layers:
        for method in methods:
            xy = rng.normal(0, 10, (n_selected, 2))
            emb = pd.DataFrame({"id": sel_ids, "x": xy[:, 0], "y": xy[:, 1], "class": selection["class"],
                                "predicted": selection["predicted"], "certainty": selection["certainty"]})
            emb = emb.iloc[rng.permutation(n_selected)]  # rows in another order than the selection
            tables["embeddings"][(layer, method)] = emb
            (root / "embeddings" / layer).mkdir(parents=True, exist_ok=True)
            emb.to_csv(root / "embeddings" / layer / f"{method}.csv", index=False)
        clusters = pd.DataFrame({"id": sel_ids, "cluster": rng.integers(-1, 3, n_selected), "embedding": "umap"})
        tables["clusters"][layer] = clusters
        clusters.iloc[::-1].to_csv(root / "embeddings" / layer / "clusters.csv", index=False)
        reduced = rng.normal(size=(n_selected, k)).astype(np.float32)
        tables["reduced"][layer] = reduced
        (root / "activations" / layer).mkdir(parents=True, exist_ok=True)
        np.save(root / "activations" / layer / "reduced.npy", reduced)
    # regression stage: two cells without a measurable target (one of them embedded), no prediction for them
    target = rng.uniform(0.1, 0.9, n_images)
    target[chosen[0]] = np.nan
    target[np.setdiff1d(np.arange(n_images), chosen)[0]] = np.nan
    cell_area = rng.integers(200, 900, n_images).astype(float)
    cell_area[np.isnan(target)] = 0.0  # no cell object: no target
    targets = pd.DataFrame({"row": np.arange(n_images), "id": ids, "split": split, "class": predictions["class"],
                            "label": label, "nucleus_area_ratio": target, "cell_area": cell_area,
                            "nucleus_area": (cell_area * 0.4).round(),
                            "nucleus_intensity": rng.uniform(50, 300, n_images),
                            "target": target, "truth": rng.uniform(0.1, 0.9, n_images)})
    measured = targets[np.isfinite(target)]
    mda_pred = measured[["row", "id", "split", "class", "target"]].copy()
    mda_pred["predicted"] = mda_pred["target"] + rng.normal(0, 0.05, len(mda_pred))
    mda_pred["error"] = mda_pred["predicted"] - mda_pred["target"]
    tables.update(mda_targets=targets, mda_predictions=mda_pred)
    for name, table in (("model/predictions.csv", predictions), ("data/index.csv", index), ("data/features.csv", features),
                        ("activations/selection.csv", selection), ("mda/targets.csv", targets),
                        ("mda/predictions.csv", mda_pred)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(root / name, index=False)
    (root / "data" / "classes.json").write_text(json.dumps(CLASSES))
    return tables


#: the run's configuration as the rule passes it: null and a ragged list, which h5ad cannot hold natively
CONFIG = {"results": "results/test", "classes": CLASSES, "data": {"directory": None},
          "model": {"conv_stages": [[8, 8], [16, 16, 16]], "dense": [32]}}


def run_export_script(root, out, layers=LAYERS, methods=METHODS, mda=True, parts=None, max_parameters=FCS_LIMIT,
                      selections=None, channels=PAPER_CHANNELS):
    """Run scripts/export.py as Snakemake would, with a stand-in ``snakemake`` object."""
    root, out = Path(root), Path(out)
    parts = parts or [list(layers)]
    fcs = [str(out / "cells.fcs")] + [str(out / f"cells_part{k}.fcs") for k in range(2, len(parts) + 1)]
    inputs = dict(
        selection=str(root / "activations/selection.csv"), predictions=str(root / "model/predictions.csv"),
        index=str(root / "data/index.csv"), features=str(root / "data/features.csv"),
        classes=str(root / "data/classes.json"),
        embeddings=[str(root / f"embeddings/{layer}/{m}.csv") for layer in layers for m in methods],
        clusters=[str(root / f"embeddings/{layer}/clusters.csv") for layer in layers],
        reduced=[str(root / f"activations/{layer}/reduced.npy") for layer in layers],
        selections=[str(path) for path in (selections or {}).values()])
    if mda:
        inputs.update(mda_targets=str(root / "mda/targets.csv"), mda_predictions=str(root / "mda/predictions.csv"))
    params = SimpleNamespace(layers=list(layers), methods=list(methods), classes=CLASSES, channels=channels, mda=mda,
                             mda_target="nucleus_area_ratio" if mda else "", fcs_parts=parts,
                             fcs_max_parameters=max_parameters, x_layer="dense1",
                             layer_shapes={"conv1": [8, 78, 78], "conv2": [8, 78, 78], "dense1": [32, 1, 1]},
                             config=CONFIG, selection_names=list(selections or {}))
    output = SimpleNamespace(fcs=fcs, h5ad=str(out / "cells.h5ad"))
    fake = SimpleNamespace(input=SimpleNamespace(**inputs), output=output, params=params, log=[], threads=1,
                           resources={}, wildcards=SimpleNamespace())
    # the script's rulerun.start sets thread variables (NUMBA_NUM_THREADS...) for its own process:
    # restore them, or numba later refuses a thread count that differs from the one it launched with
    saved = dict(os.environ)
    try:
        runpy.run_path(str(SCRIPT), init_globals={"snakemake": fake}, run_name="__main__")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return fcs, out / "cells.h5ad"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    tables = fabricate_run(root)
    fcs, h5ad = run_export_script(root, root / "export")
    return tables, fcs, h5ad


def read_fcs(path):
    """(events as a DataFrame named by $PnN, the TEXT keywords, {name: $PnS})."""
    data = flowio.FlowData(str(path))
    names = [data.text[f"p{n}n"] for n in range(1, data.channel_count + 1)]
    long_names = {data.text[f"p{n}n"]: data.text.get(f"p{n}s", "") for n in range(1, data.channel_count + 1)}
    events = pd.DataFrame(data.as_array(preprocess=False), columns=names)
    return events, data.text, long_names


def f32(values):
    return np.asarray(values, dtype=np.float32).astype(np.float64)


# ----------------------------------------------------------------------------- FCS

def test_fcs_has_every_embedded_cell_once_in_selection_order(exported):
    tables, fcs, _ = exported
    events, text, _ = read_fcs(fcs[0])
    selection = tables["selection"]
    assert int(text["tot"]) == len(events) == 15
    assert events["cell_index"].tolist() == list(range(15))
    assert events["row"].astype(int).tolist() == selection["row"].tolist()
    ids = [f"{CLASSES[int(k)]}/{int(o)}" for k, o in zip(events["class"], events["object"])]
    assert ids == selection["id"].tolist()  # class and object name the cell
    assert events["row"].is_unique


def test_fcs_channels_are_named_for_gating(exported):
    _, fcs, _ = exported
    events, _, long_names = read_fcs(fcs[0])
    expected = (["cell_index", "row", "object", "class", "predicted", "p_CD4+_T_cell", P_BAND, "certainty", "split",
                 "mda_target", "mda_predicted", "mda_error", "mda_missing", "measured_nucleus_area_ratio",
                 "measured_cell_area", "measured_nucleus_area", "measured_nucleus_intensity"]
                + [c.name for c in feature_columns(PAPER_CHANNELS)]  # the cell features of data/features.csv
                + ["intensity_cytoplasm", "intensity_nucleus", "max_cytoplasm", "max_nucleus", "mean_cytoplasm",
                 "mean_nucleus", "cell_diameter_px", "offset_x"]
                + [name for layer in LAYERS for name in
                   (f"cluster_{layer}", f"{layer}_umap_1", f"{layer}_umap_2", f"{layer}_tsne_1", f"{layer}_tsne_2")])
    assert list(events.columns) == expected
    assert long_names["class"] == "class: 0=CD4+ T cell, 1=band neutrophil (mature), CD16+"
    assert long_names["predicted"] == "predicted class: 0=CD4+ T cell, 1=band neutrophil (mature), CD16+"
    assert long_names[P_BAND] == "probability band neutrophil (mature), CD16+"
    assert long_names["split"] == "split: 0=train, 1=val, 2=test"
    assert long_names["cell_index"] == "position in activations/selection.csv and the .h5ad"  # / is the delimiter
    assert long_names["dense1_umap_2"] == "dense1 UMAP 2"
    assert long_names["mda_target"] == "regression target nucleus_area_ratio, measured"
    assert long_names["measured_cell_area"] == "cell_area measured on the image (mda/targets.csv)"
    assert long_names["intensity_nucleus"] == "nucleus (fluorescence image channel) integrated intensity (data/index.csv)"
    assert long_names["offset_x"] == "offset_x (data/index.csv)"


def test_fcs_values_equal_the_tables_they_came_from(exported):
    tables, fcs, _ = exported
    events, _, _ = read_fcs(fcs[0])
    by_id = events.assign(id=[f"{CLASSES[int(k)]}/{int(o)}" for k, o in zip(events["class"], events["object"])]).set_index("id")
    pred = tables["predictions"].set_index("id")
    ids = tables["selection"]["id"]
    assert np.array_equal(by_id.loc[ids, "class"], pred.loc[ids, "label"])
    assert np.array_equal(by_id.loc[ids, "predicted"], pred.loc[ids, "predicted_label"])
    assert np.array_equal(by_id.loc[ids, "split"], pred.loc[ids, "split"].map(SPLIT_CODE))
    for column, source in (("p_CD4+_T_cell", "p_CD4+ T cell"), (P_BAND, f"p_{CLASSES[1]}"), ("certainty", "certainty")):
        assert np.array_equal(by_id.loc[ids, column], f32(pred.loc[ids, source])), column
    index = tables["index"].set_index("id")
    for column in ("cell_diameter_px", "offset_x"):
        assert np.array_equal(by_id.loc[ids, column], f32(index.loc[ids, column])), column
    for (layer, method), table in tables["embeddings"].items():
        t = table.set_index("id")
        assert np.array_equal(by_id.loc[ids, f"{layer}_{method}_1"], f32(t.loc[ids, "x"])), (layer, method)
        assert np.array_equal(by_id.loc[ids, f"{layer}_{method}_2"], f32(t.loc[ids, "y"])), (layer, method)
    for layer, table in tables["clusters"].items():
        assert np.array_equal(by_id.loc[ids, f"cluster_{layer}"], table.set_index("id").loc[ids, "cluster"]), layer


def test_fcs_writes_missing_regression_values_as_minus_one_with_a_flag(exported):
    tables, fcs, _ = exported
    events, text, _ = read_fcs(fcs[0])
    assert np.isfinite(events.to_numpy()).all()  # no NaN in the file
    assert text["cellscape_missing_value"] == "-1"
    by_id = events.assign(id=[f"{CLASSES[int(k)]}/{int(o)}" for k, o in zip(events["class"], events["object"])]).set_index("id")
    targets = tables["mda_targets"].set_index("id")
    mda = tables["mda_predictions"].set_index("id")
    ids = tables["selection"]["id"]
    has = ids.isin(mda.index).to_numpy()
    assert (~has).sum() == 1  # the fabricated run has one embedded cell without a target
    assert by_id.loc[ids, "mda_missing"].tolist() == (~has).astype(float).tolist()
    assert np.array_equal(by_id.loc[ids[has], "mda_target"], f32(targets.loc[ids[has], "target"]))
    assert np.array_equal(by_id.loc[ids[has], "mda_predicted"], f32(mda.loc[ids[has], "predicted"]))
    assert by_id.loc[ids[~has], ["mda_target", "mda_predicted", "mda_error"]].to_numpy().tolist() == [[-1, -1, -1]]
    assert np.array_equal(by_id.loc[ids, "measured_cell_area"], targets.loc[ids, "cell_area"])
    assert np.array_equal(by_id.loc[ids, "measured_nucleus_intensity"], f32(targets.loc[ids, "nucleus_intensity"]))
    assert by_id.loc[ids[~has], "measured_nucleus_area_ratio"].tolist() == [-1]  # NaN in targets.csv


def test_fcs_keywords_round_trip_class_names_and_layers(exported):
    _, fcs, _ = exported
    _, text, _ = read_fcs(fcs[0])
    assert json.loads(text["cellscape_classes"]) == ["CD4+ T cell", "band neutrophil (mature), CD16+"]
    assert json.loads(text["cellscape_splits"]) == ["train", "val", "test"]
    assert json.loads(text["cellscape_layers"]) == LAYERS
    assert json.loads(text["cellscape_methods"]) == METHODS
    assert text["cellscape_part"] == "1 of 1"
    assert text["cellscape_id_channel"] == "object"
    assert text["fil"] == "cells.fcs"


def test_fcs_is_fcs31_list_mode_little_endian_float_read_without_flowio(exported):
    """The bytes themselves, parsed by hand from the FCS 3.1 layout (HEADER offsets, TEXT, DATA)."""
    tables, fcs, _ = exported
    raw = Path(fcs[0]).read_bytes()
    assert raw[:10] == b"FCS3.1    "
    text_start, text_end, data_start, data_end = (int(raw[10 + 8 * i:18 + 8 * i]) for i in range(4))
    text = raw[text_start:text_end + 1].decode()
    delimiter = text[0]
    parts = re.split(f"(?<!{re.escape(delimiter)}){re.escape(delimiter)}(?!{re.escape(delimiter)})", text[1:-1])
    keywords = {k.upper(): v.replace(delimiter * 2, delimiter) for k, v in zip(parts[::2], parts[1::2])}
    assert keywords["$DATATYPE"] == "F" and keywords["$MODE"] == "L" and keywords["$BYTEORD"] == "1,2,3,4"
    n_par, n_tot = int(keywords["$PAR"]), int(keywords["$TOT"])
    assert (n_tot, data_end - data_start + 1) == (15, 4 * n_par * n_tot)
    values = np.frombuffer(raw[data_start:data_end + 1], dtype="<f4").reshape(n_tot, n_par)
    names = [keywords[f"$P{n}N"] for n in range(1, n_par + 1)]
    assert values[:, names.index("row")].astype(int).tolist() == tables["selection"]["row"].tolist()
    assert keywords[f"$P{names.index(P_BAND) + 1}S"] == "probability band neutrophil (mature), CD16+"
    # $PnR: the maximum rounded up (at least 1); $PnD: the linear range the values span
    umap = names.index("conv1_umap_1")
    column = values[:, umap]
    assert keywords[f"$P{umap + 1}R"] == str(max(1, int(np.ceil(column.max()))))
    assert keywords[f"$P{umap + 1}D"] == f"Linear,{min(0, int(np.floor(column.min())))},{keywords[f'$P{umap + 1}R']}"


def test_a_nan_outside_the_missing_channels_is_an_error_naming_the_channel(tmp_path):
    channels = [Channel("conv1_umap_1", "conv1 UMAP 1", np.array([0.5, np.nan, 1.0]))]
    with pytest.raises(ValueError, match=r"conv1_umap_1.*'b'"):
        write_fcs(tmp_path / "x.fcs", channels, {}, np.array(["a", "b", "c"], dtype=object))
    assert not (tmp_path / "x.fcs").exists()


def test_object_names_that_are_not_integers_round_trip_through_the_row_channel(tmp_path):
    ids = [f"cell-{i:02d}" for i in range(30)]  # and objects 0, 7, ...: integers, but not the ids
    tables = fabricate_run(tmp_path, n_images=30, n_selected=12, ids=ids, seed=3)
    fcs, h5ad = run_export_script(tmp_path, tmp_path / "export", mda=False)
    events, text, _ = read_fcs(fcs[0])
    assert "object" in events  # the objects still are integers
    assert not any(name.startswith("mda_") for name in events)
    index = tables["index"].set_index("row")
    assert index.loc[events["row"].astype(int), "id"].tolist() == tables["selection"]["id"].tolist()
    adata = anndata.read_h5ad(h5ad)
    assert adata.obs_names.tolist() == tables["selection"]["id"].tolist()
    assert "mda_target" not in adata.obs


# ----------------------------------------------------------------------------- many layers

def test_many_layers_are_split_over_fcs_files_within_the_parameter_limit():
    layers = [f"conv{i}" for i in range(1, 41)] + ["dense1", "dense2"]
    parts = plan_fcs_parts(layers, ["umap", "tsne", "pca", "mda"])
    assert [layer for part in parts for layer in part] == layers  # every layer once, in order
    assert len(parts) > 1
    for part in parts:  # 64 channels kept for the per-cell values; 9 per layer (cluster + 4 maps x 2)
        assert 64 + 9 * len(part) <= FCS_LIMIT
    assert plan_fcs_parts(layers[:12], ["umap", "tsne", "pca", "mda"]) == [layers[:12]]  # the paper's network


def test_a_many_layer_export_writes_every_layer_once_within_the_limit(tmp_path):
    layers = [f"conv{i}" for i in range(1, 31)] + ["dense1"]
    tables = fabricate_run(tmp_path, n_images=20, n_selected=8, layers=layers, k=3, seed=5)
    parts = plan_fcs_parts(layers, METHODS)
    fcs, _ = run_export_script(tmp_path, tmp_path / "export", layers=layers, parts=parts)
    assert [Path(p).name for p in fcs] == ["cells.fcs", "cells_part2.fcs"]
    seen = []
    for number, path in enumerate(fcs, start=1):
        events, text, _ = read_fcs(path)
        assert int(text["par"]) <= FCS_LIMIT
        assert text["cellscape_part"] == f"{number} of 2"
        assert json.loads(text["cellscape_part_files"]) == ["cells.fcs", "cells_part2.fcs"]
        assert events["row"].astype(int).tolist() == tables["selection"]["row"].tolist()  # every file: every cell
        assert {"class", "predicted", "p_CD4+_T_cell", "split"} <= set(events)
        file_layers = json.loads(text["cellscape_layers"])
        assert [c for c in events if c.endswith("_umap_1")] == [f"{layer}_umap_1" for layer in file_layers]
        seen += file_layers
    assert seen == layers


def test_the_workflow_plans_split_fcs_outputs_for_a_deep_network(tmp_path):
    override = tmp_path / "deep.yaml"
    override.write_text(yaml.safe_dump({"model": {"conv_stages": [[8] * 12, [8] * 12], "dense": [16]},
                                        "embeddings": {"methods": ["umap", "tsne", "pca", "mda"]}}))
    jobs = plan(tmp_path, REPO / "configs" / "tiny.yaml", override, targets=["results/tiny/export/cells_part2.fcs"])
    export = [job for job in jobs if job.rule == "export"]
    assert len(export) == 1 and "results/tiny/export/cells_part2.fcs" in export[0].output, export


# ----------------------------------------------------------------------------- AnnData

def test_h5ad_obs_holds_every_cell_once_with_its_values(exported):
    tables, _, h5ad = exported
    adata = anndata.read_h5ad(h5ad)
    ids = tables["selection"]["id"].tolist()
    assert adata.obs_names.tolist() == ids and adata.obs_names.is_unique
    obs = adata.obs
    pred = tables["predictions"].set_index("id").loc[ids]
    assert list(obs["class"].cat.categories) == CLASSES
    assert list(obs["predicted"].cat.categories) == CLASSES
    assert obs["class"].astype(str).tolist() == pred["class"].tolist()
    assert obs["predicted"].astype(str).tolist() == pred["predicted"].tolist()
    assert obs["split"].astype(str).tolist() == pred["split"].tolist()
    assert obs["row"].tolist() == pred["row"].tolist()
    for column in ("certainty", "p_CD4+ T cell", "p_band neutrophil (mature), CD16+"):
        assert np.array_equal(obs[column].to_numpy(), pred[column].to_numpy()), column
    for layer, table in tables["clusters"].items():
        assert obs[f"cluster_{layer}"].astype(int).tolist() == table.set_index("id").loc[ids, "cluster"].tolist()
    index = tables["index"].set_index("id").loc[ids]
    assert obs["source"].tolist() == index["source"].tolist()
    assert np.array_equal(obs["offset_x"].to_numpy(), index["offset_x"].to_numpy())
    targets = tables["mda_targets"].set_index("id").loc[ids]
    np.testing.assert_array_equal(obs["mda_target"].to_numpy(), targets["target"].to_numpy())  # NaN where missing
    mda = tables["mda_predictions"].set_index("id").reindex(ids)
    np.testing.assert_array_equal(obs["mda_predicted"].to_numpy(), mda["predicted"].to_numpy())
    np.testing.assert_array_equal(obs["measured_cell_area"].to_numpy(), targets["cell_area"].to_numpy())
    assert "measured_truth" not in obs and "measured_target" not in obs


def test_h5ad_obsm_holds_every_embedding_and_the_reduced_features(exported):
    tables, _, h5ad = exported
    adata = anndata.read_h5ad(h5ad)
    ids = tables["selection"]["id"].tolist()
    assert set(adata.obsm) == {f"X_{layer}_{m}" for layer in LAYERS for m in METHODS + ["pca"]}
    for (layer, method), table in tables["embeddings"].items():
        expected = table.set_index("id").loc[ids, ["x", "y"]].to_numpy()
        assert np.array_equal(adata.obsm[f"X_{layer}_{method}"], expected), (layer, method)
    for layer, reduced in tables["reduced"].items():
        assert np.array_equal(adata.obsm[f"X_{layer}_pca"], reduced), layer
    assert np.array_equal(adata.X, tables["reduced"]["dense1"])
    assert adata.var_names.tolist() == [f"dense1_pc{k}" for k in range(1, 7)]


def test_h5ad_uns_holds_config_class_names_and_layer_shapes(exported):
    _, _, h5ad = exported
    uns = anndata.read_h5ad(h5ad).uns
    assert list(uns["classes"]) == ["CD4+ T cell", "band neutrophil (mature), CD16+"]
    assert list(uns["layers"]) == LAYERS and list(uns["methods"]) == METHODS
    assert uns["x_layer"] == "dense1" and uns["mda_target"] == "nucleus_area_ratio"
    assert {k: list(v) for k, v in uns["layer_shapes"].items()} == {"conv1": [8, 78, 78], "conv2": [8, 78, 78],
                                                                      "dense1": [32, 1, 1]}
    assert json.loads(uns["config"]) == CONFIG  # null and ragged lists survive as JSON


def test_h5ad_text_is_plain_hdf5_strings(exported):
    """Readers without anndata's newer nullable-string encoding can read every text column."""
    import h5py
    _, _, h5ad = exported
    with h5py.File(h5ad) as f:
        kinds = {name: f["obs"][name].attrs.get("encoding-type") for name in f["obs"]}
    assert "nullable-string-array" not in kinds.values(), kinds


# ----------------------------------------------------------------------------- checked joins

def test_a_missing_embedding_row_is_an_error_naming_the_table_and_id(tmp_path):
    fabricate_run(tmp_path)
    path = tmp_path / "embeddings" / "conv2" / "tsne.csv"
    table = pd.read_csv(path, dtype={"id": str})
    lost = table["id"].iloc[3]
    table.drop(index=3).to_csv(path, index=False)
    with pytest.raises(TableError, match=rf"embeddings/conv2/tsne\.csv lacks 1 of .*'{re.escape(lost)}'"):
        run_export_script(tmp_path, tmp_path / "export")
    assert not (tmp_path / "export" / "cells.fcs").exists()


def test_a_duplicated_cluster_id_is_an_error_naming_the_table_and_id(tmp_path):
    fabricate_run(tmp_path)
    path = tmp_path / "embeddings" / "dense1" / "clusters.csv"
    table = pd.read_csv(path, dtype={"id": str})
    twice = table["id"].iloc[5]
    pd.concat([table, table.iloc[[5]]]).to_csv(path, index=False)
    with pytest.raises(TableError, match=rf"embeddings/dense1/clusters\.csv.*more than once.*'{re.escape(twice)}'"):
        run_export_script(tmp_path, tmp_path / "export")


def test_an_embedded_cell_missing_from_the_predictions_is_an_error(tmp_path):
    tables = fabricate_run(tmp_path)
    lost = tables["selection"]["id"].iloc[0]
    pred = tables["predictions"]
    pred[pred["id"] != lost].to_csv(tmp_path / "model" / "predictions.csv", index=False)
    with pytest.raises(TableError, match=rf"model/predictions\.csv lacks 1 of .*'{re.escape(lost)}'"):
        run_export_script(tmp_path, tmp_path / "export")


def test_aligned_rejects_extra_ids_and_keeps_the_embedded_order():
    base = ["b", "a", "c"]
    table = pd.DataFrame({"id": ["a", "b", "c", "z"], "v": [1, 2, 3, 4]})
    with pytest.raises(TableError, match=r"t\.csv holds 1 cells that the embedded cells .*lack.*'z'"):
        aligned(base, table, "t.csv", "exact")
    assert aligned(base, table, "t.csv", "covers")["v"].tolist() == [2, 1, 3]
    partial = aligned(base, table.iloc[[0, 3]], "t.csv", "partial")
    assert partial["_present"].tolist() == [False, True, False]
    with pytest.raises(TableError, match=r"selection\.csv.*more than once.*'a'"):
        aligned(["a", "a"], table, "t.csv", "covers")


def test_a_regression_prediction_missing_for_a_measured_cell_is_an_error(tmp_path):
    tables = fabricate_run(tmp_path)
    mda = tables["mda_predictions"]
    lost = next(i for i in tables["selection"]["id"] if i in set(mda["id"]))
    mda[mda["id"] != lost].to_csv(tmp_path / "mda" / "predictions.csv", index=False)
    with pytest.raises(TableError, match=rf"mda/predictions\.csv.*measured target.*'{re.escape(lost)}'"):
        run_export_script(tmp_path, tmp_path / "export")


def test_reduced_features_of_another_length_are_an_error(tmp_path):
    fabricate_run(tmp_path)
    np.save(tmp_path / "activations" / "conv1" / "reduced.npy", np.zeros((14, 6), np.float32))
    with pytest.raises(TableError, match=r"activations/conv1/reduced\.npy.*\(14, 6\)"):
        run_export_script(tmp_path, tmp_path / "export")


# ----------------------------------------------------------------------------- explorer selections

def test_a_selection_saved_in_the_explorer_becomes_an_fcs_gate_and_an_obs_column(tmp_path):
    tables = fabricate_run(tmp_path)
    ids = tables["selection"]["id"].tolist()
    chosen = [ids[7], ids[2], ids[11]]
    saved = tmp_path / "selection.csv"
    pd.DataFrame({"id": chosen}).to_csv(saved, index=False)  # quoted where an id holds a comma, as the page does
    fcs, h5ad = run_export_script(tmp_path, tmp_path / "export", selections={"odd_cells": saved})
    events, _, long_names = read_fcs(fcs[0])
    expected = [1.0 if i in chosen else 0.0 for i in ids]
    assert events["selection_odd_cells"].tolist() == expected
    assert str(saved) in long_names["selection_odd_cells"]
    obs = anndata.read_h5ad(h5ad).obs
    assert obs["selection_odd_cells"].tolist() == [bool(v) for v in expected]


def test_a_selection_naming_cells_this_run_lacks_is_an_error_naming_the_file(tmp_path):
    fabricate_run(tmp_path)
    saved = tmp_path / "other_run.csv"
    saved.write_text("id\nlymphocyte/does-not-exist\n")
    with pytest.raises(TableError, match=r"other_run\.csv: 1 ids are not cells.*does-not-exist"):
        run_export_script(tmp_path, tmp_path / "export", selections={"x": saved})
    assert not (tmp_path / "export" / "cells.fcs").exists()


# ----------------------------------------------------------------------------- image channels

def test_every_image_channels_measurements_and_description_reach_both_files(tmp_path):
    """Four channels (configs/four_channels.yaml): each one's intensity, maximum and mean are FCS
    parameters and obs columns with the index's values, and both files say which channels there are."""
    tables = fabricate_run(tmp_path, n_images=20, n_selected=9, seed=3, channels=FOUR_CHANNELS)
    fcs, h5ad = run_export_script(tmp_path, tmp_path / "export", channels=FOUR_CHANNELS)
    events, text, long_names = read_fcs(fcs[0])
    adata = anndata.read_h5ad(h5ad)
    ids = tables["selection"]["id"].tolist()
    index = tables["index"].set_index("id").loc[ids]
    names = [c["name"] for c in FOUR_CHANNELS]
    columns = [f"{m}_{n}" for m in ("intensity", "max", "mean") for n in names]
    assert [c for c in events if c.startswith(("intensity_", "max_", "mean_"))] == columns
    for column in columns:
        np.testing.assert_array_equal(events[column].to_numpy(), f32(index[column]), err_msg=column)
        np.testing.assert_array_equal(adata.obs[column].to_numpy(), index[column].to_numpy(), err_msg=column)
    assert long_names["mean_darkfield"] == "darkfield (darkfield image channel) mean inside the cell (data/index.csv)"
    assert long_names["max_brightfield"] == \
        "brightfield (brightfield image channel) maximum after background removal (data/index.csv)"
    assert json.loads(text["cellscape_image_channels"]) == FOUR_CHANNELS
    recorded = adata.uns["image_channels"]
    assert [dict(zip(("name", "kind", "colour"), row)) for row in
            zip(*(list(recorded[k]) for k in ("name", "kind", "colour")))] == FOUR_CHANNELS


def test_every_cell_feature_reaches_both_files_with_what_it_measures(tmp_path):
    tables = fabricate_run(tmp_path, n_images=20, n_selected=9, seed=4, channels=FOUR_CHANNELS)
    fcs, h5ad = run_export_script(tmp_path, tmp_path / "export", channels=FOUR_CHANNELS)
    events, _, long_names = read_fcs(fcs[0])
    adata = anndata.read_h5ad(h5ad)
    features = tables["features"].set_index("id").loc[tables["selection"]["id"]]
    names = [c.name for c in feature_columns(FOUR_CHANNELS)]
    assert "darkfield_granularity" in names and "nucleus_lobes" in names
    for name in names:
        np.testing.assert_array_equal(events[name].to_numpy(), f32(features[name]), err_msg=name)
        np.testing.assert_array_equal(adata.obs[name].to_numpy(), features[name].to_numpy(), err_msg=name)
    assert long_names["cell_area"].startswith("cell area (px): ") and long_names["cell_area"].endswith(
        "(data/features.csv)")
    assert "truth_cell_area" not in events and "truth_cell_area" not in adata.obs  # the truth is index.csv's


def test_a_file_holds_the_first_64_cell_features_and_the_h5ad_every_one(tmp_path):
    twelve = [{"name": f"stain{k}", "kind": "fluorescence", "colour": "#ff0000"} for k in range(12)]
    fabricate_run(tmp_path, n_images=12, n_selected=6, seed=6, channels=twelve)
    fcs, h5ad = run_export_script(tmp_path, tmp_path / "export", channels=twelve)
    events, _, long_names = read_fcs(fcs[0])
    names = [c.name for c in feature_columns(twelve)]  # 5 of the cell, then 10 per channel
    in_file = [name for name in events if long_names[name].endswith("(data/features.csv)")]
    assert in_file == names[:64] and len(names) == 125
    assert set(names) <= set(anndata.read_h5ad(h5ad).obs.columns)


def test_an_index_without_a_channels_measurements_is_an_error_naming_them(tmp_path):
    fabricate_run(tmp_path, n_images=20, n_selected=9, seed=3)  # measures cytoplasm and nucleus only
    with pytest.raises(TableError, match=r"lacks \['intensity_brightfield', 'intensity_darkfield'"):
        run_export_script(tmp_path, tmp_path / "export", channels=FOUR_CHANNELS)


def test_the_per_cell_budget_grows_with_the_image_channels_so_twelve_fit():
    from cellscape.export.parts import FCS_PER_CELL_BUDGET, per_cell_budget
    assert per_cell_budget(1) == per_cell_budget(2) == FCS_PER_CELL_BUDGET
    assert per_cell_budget(12) == FCS_PER_CELL_BUDGET + 3 * 10
    twelve = [{"name": f"stain{k}", "kind": "fluorescence"} for k in range(11)] + [{"name": "nucleus", "kind": "fluorescence"}]
    n_features = len(feature_columns(twelve))  # 5 of the cell, 10 per channel, 2 of the nucleus
    assert n_features == 5 + 10 * 12 + 2
    budget = per_cell_budget(12, n_features)
    assert budget == FCS_PER_CELL_BUDGET + 3 * 10 + 64  # the features a file holds are capped
    layers = [f"conv{i}" for i in range(1, 13)]
    for part in plan_fcs_parts(layers, ["umap", "tsne", "pca", "mda"], FCS_LIMIT, budget):
        assert budget + 9 * len(part) <= FCS_LIMIT
