"""A first export of about a hundred events runs the whole DAG with the default
``activations.split: test``: the stages after training see about 20 cells, fewer than the
default perplexity, trustworthiness and DBSCAN settings assume, and fit them to the cells they have
(the values used are recorded beside the scores)."""
import json

import pandas as pd
import pytest
import yaml

from cellscape.runtime.tables import read_cell_table
from support.ifc_export import CLASSES, IMAGE_SIZE, write_export
from support.workflow import snakemake

TINY = {  # the DAG, not the accuracy, is under test
    "model": {"conv_stages": [[8], [16, 16]], "dense": [32]},
    "training": {"epochs": 2, "batch_size": 32, "patience": 2, "schedule": "constant"},
    "activations": {"reduced_dim": 10},
    "featvis": {"steps": 8, "chunk_size": 16, "evolution_steps": [0, 4, 8]},
}


@pytest.mark.slow
def test_an_export_of_a_hundred_events_runs_the_whole_dag_with_settings_fitted_to_its_test_cells(tmp_path):
    export = tmp_path / "export"
    write_export(export, 34)  # 102 events in three classes
    config = tmp_path / "first.yaml"
    config.write_text(yaml.safe_dump({
        "results": "results/first", "classes": list(CLASSES), "image_size": IMAGE_SIZE,
        "data": {"source": "directory", "directory": str(export),
                 "channel_files": {"cytoplasm": "Ch2", "nucleus": "Ch4"}},
        **TINY}))
    r = snakemake(tmp_path, "--cores", "2", "--configfile", str(config), timeout=3600)  # shared CI machines
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]

    results = tmp_path / "results" / "first"
    selection = read_cell_table(results / "activations" / "selection.csv")
    n = len(selection)
    assert 12 <= n <= 30 and set(selection["split"]) == {"test"}  # the test split only
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
