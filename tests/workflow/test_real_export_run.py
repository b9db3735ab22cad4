"""A new user's first run on a real export, written with a config file only: three class folders
whose object numbers collide, 40 px frames, per-channel TIFFs, and about a hundred events, as a
first export often is. The whole DAG must run untouched with the default ``activations.split:
test``: the stages after training see about 20 cells, fewer than the default perplexity,
trustworthiness and DBSCAN settings assume, and fit them to the cells they have (the values used
are recorded beside the scores)."""
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from cellscape.runtime.tables import read_cell_table
from support.ifc_export import CLASSES, IMAGE_SIZE, write_export
from support.workflow import plan, snakemake

TINY_MODEL = {  # smaller than configs/tiny.yaml: the DAG, not the accuracy, is under test; three conv
    # layers, so the per-layer settings that name conv4 (featvis grid and evolution layers) fall back
    "model": {"conv_stages": [[8], [16, 16]], "dense": [32]},
    "training": {"epochs": 2, "batch_size": 32, "patience": 2, "lr": 0.003, "schedule": "constant", "nesterov": False,
                 "ema_epochs": 0},
    "activations": {"reduced_dim": 10},
    "featvis": {"steps": 8, "chunk_size": 16, "evolution_steps": [0, 4, 8]},
}


@pytest.mark.slow
def test_a_first_export_with_object_numbers_repeated_across_class_folders_runs_the_whole_dag(tmp_path):
    export = tmp_path / "export"
    write_export(export, 34)  # 102 events in three classes, numbered 0-33 in each folder
    config = tmp_path / "myexport.yaml"
    config.write_text(yaml.safe_dump({
        "results": "results/myexport", "classes": list(CLASSES), "image_size": IMAGE_SIZE,
        # the paper's normalisation, whose warning must reach the user (auto would choose dataset)
        "data": {"source": "directory", "directory": str(export), "normalise": "per_image",
                 "channel_files": {"cytoplasm": "Ch2", "nucleus": "Ch4"}},
        **TINY_MODEL}))
    r = snakemake(tmp_path, "--cores", "8", "--configfile", str(config), timeout=3600)  # shared CI machines
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    assert plan(tmp_path, config) == []  # every target there and up to date

    results = tmp_path / "results" / "myexport"
    index = read_cell_table(results / "data" / "index.csv")  # checks the ids are unique
    assert set(index["class"]) == set(CLASSES) and len(index) >= 0.9 * 102
    assert (index.groupby("object")["class"].nunique() == 3).sum() >= 25  # the same numbers in every folder
    assert (index["id"] == index["class"] + "/" + index["object"]).all()
    predictions = read_cell_table(results / "model" / "predictions.csv")
    assert predictions["id"].tolist() == index["id"].tolist()
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    assert set(metrics["per_class_accuracy"]) == set(CLASSES) and 0 <= metrics["balanced_accuracy"] <= 1
    selection = read_cell_table(results / "activations" / "selection.csv")
    assert set(selection["id"]) <= set(index["id"])
    n = len(selection)
    assert 12 <= n <= 30 and set(selection["split"]) == {"test"}  # the test split only
    # Fig. 18's clusters: one label per dumped cell (the join that failed in the original report)
    for npz in sorted((results / "featvis").glob("*/clusters.npz")):
        drawn = np.load(npz)
        assert drawn["sizes"].sum() + drawn["n_noise"] <= len(selection), npz
    # the explorer shows every embedded cell once, under its own id
    assignment = (results / "explorer" / "data" / "cells.js").read_text().strip().splitlines()[-1]
    ids = json.loads(assignment.split(" = ", 1)[1].rstrip(";"))["ids"]
    assert sorted(ids) == sorted(selection["id"])
    assert (results / "mda" / "metrics.csv").stat().st_size > 0
    # absolute intensity carries the third class: its nucleus is twice as bright (Fig. 2 shows it)
    kept = read_cell_table(results / "data" / "qc.csv").query("kept")
    median = kept.groupby("class")["intensity_nucleus"].median()
    assert 1.6 < median["lymphocyte_2n"] / median["lymphocyte"] < 2.5, median
    # ... which per-image normalisation scales away: said in the log, at the end of the run and
    # beside the accuracy
    evidence = json.loads((results / "data" / "normalisation.json").read_text())
    assert evidence["used"] == "per_image" and evidence["separating"][0]["channel"] == "nucleus"
    warning = next(w for w in evidence["warnings"] if "lymphocyte_2n" in w)
    assert warning in (results / "logs" / "ingest.log").read_text()
    assert f"cellscape warning: {warning}" in r.stderr, r.stderr[-3000:]
    assert warning in metrics["normalisation"]["warnings"]
    smallest_class = int(selection["class"].value_counts().min())
    layers = sorted(path.parent.name for path in (results / "embeddings").glob("*/fitted.json"))
    assert {"conv1", "conv2", "conv3", "dense1"} <= set(layers)
    for layer in layers:
        # t-SNE's perplexity 30 spans 90 cells: (n - 1) / 3 on n; UMAP's 15 neighbours fit in n - 1
        fitted = json.loads((results / "embeddings" / layer / "fitted.json").read_text())
        assert fitted["n_cells"] == n
        assert fitted["tsne"]["perplexity"] == {"requested": 30, "used": pytest.approx((n - 1) / 3)}
        assert fitted["umap"]["n_neighbors"] == {"requested": 15, "used": min(15, n - 1)}
        # trustworthiness needs k < n / 2; k-NN accuracy's 5 fit in every training fold
        separation = pd.read_csv(results / "metrics" / layer / "separation.csv").set_index("space")
        assert (separation["n_cells"] == n).all()
        assert separation.loc[["umap", "tsne"], "trust_k"].tolist() == [(n - 1) // 2] * 2
        assert separation.loc[["umap", "tsne"], "trustworthiness"].between(0, 1).all()
        assert (separation["knn_k"] == 5).all() and separation["knn_accuracy"].between(0, 1).all()
        # DBSCAN's 10 samples would not let a class of 6 cells form a cluster
        clusters = read_cell_table(results / "embeddings" / layer / "clusters.csv")
        assert set(clusters["min_samples"]) == {max(2, min(10, smallest_class // 2))}
        # nor would a radius made for thousands of cells: half of them at least are in a cluster
        assert clusters["eps"].nunique() == 1 and clusters["eps"].iloc[0] >= 0.15
        assert (clusters["cluster"] != -1).mean() >= 0.5
    # MDA's own maps of the same cells record theirs
    mda = pd.read_csv(results / "mda" / "metrics.csv")
    assert (mda["n"] == n).all()
    assert mda.loc[mda["method"] == "tsne", "perplexity"].tolist() == pytest.approx(
        [(n - 1) / 3] * int((mda["method"] == "tsne").sum()))
    assert (mda.loc[mda["method"] == "umap", "n_neighbors"] == min(15, n - 1)).all()
    assert (mda["trust_k"] == min(5, (n - 1) // 2)).all()
    # every figure and the explorer are there
    assert len(list((results / "figures").glob("*.png"))) >= 20
    assert (results / "explorer" / "index.html").exists()
