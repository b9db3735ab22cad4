"""A new user's first run on a real export, written with a config file only: three class folders
whose object numbers collide, 40 px frames, per-channel TIFFs. The whole DAG must run untouched."""
import json

import numpy as np
import pytest
import yaml

from cellscape.runtime.tables import read_cell_table
from support.ifc_export import CLASSES, IMAGE_SIZE, write_export
from support.workflow import plan, snakemake

TINY_MODEL = {  # smaller than configs/tiny.yaml: the DAG, not the accuracy, is under test; three conv
    # layers, so the per-layer settings that name conv4 (featvis grid and evolution layers) fall back
    "model": {"conv_stages": [[8], [16, 16]], "dense": [32]},
    "training": {"epochs": 2, "batch_size": 32, "patience": 2, "schedule": "constant"},
    "activations": {"reduced_dim": 20},
    "featvis": {"steps": 16, "chunk_size": 16},
}


@pytest.mark.slow
def test_export_with_object_numbers_repeated_across_class_folders_runs_the_whole_dag(tmp_path):
    export = tmp_path / "export"
    write_export(export, 150)
    config = tmp_path / "myexport.yaml"
    config.write_text(yaml.safe_dump({
        "results": "results/myexport", "classes": list(CLASSES), "image_size": IMAGE_SIZE,
        "data": {"source": "directory", "directory": str(export),
                 "channel_files": {"cytoplasm": "Ch2", "nucleus": "Ch4"}},
        **TINY_MODEL}))
    r = snakemake(tmp_path, "--cores", "8", "--configfile", str(config))
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    assert plan(tmp_path, config) == []  # every target there and up to date

    results = tmp_path / "results" / "myexport"
    index = read_cell_table(results / "data" / "index.csv")  # checks the ids are unique
    assert set(index["class"]) == set(CLASSES) and len(index) >= 0.9 * 450
    assert (index.groupby("object")["class"].nunique() == 3).sum() >= 100  # the same numbers in every folder
    assert (index["id"] == index["class"] + "/" + index["object"]).all()
    predictions = read_cell_table(results / "model" / "predictions.csv")
    assert predictions["id"].tolist() == index["id"].tolist()
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    assert set(metrics["per_class_accuracy"]) == set(CLASSES) and 0 <= metrics["balanced_accuracy"] <= 1
    selection = read_cell_table(results / "activations" / "selection.csv")
    assert set(selection["id"]) <= set(index["id"])
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
