"""The channel-use stage on a tiny four-channel run (configs/tiny.yaml with the channels of
configs/four_channels.yaml): the ablation table and figure, the label-free network's tables and
figure; and planning: the default two-stain config trains no label-free network."""
import json

import pandas as pd
import pytest
import torch
import yaml

from cellscape.model.architecture import layer_names
from support.workflow import REPO, planned_rules, snakemake

FOUR = yaml.safe_load((REPO / "configs" / "four_channels.yaml").read_text())["data"]["channels"]
RESULTS = "results/tiny_four"
TARGETS = [f"{RESULTS}/metrics/channel_use.csv", f"{RESULTS}/figures/fig23_channel_use.png",
           f"{RESULTS}/metrics/label_free.csv", f"{RESULTS}/metrics/label_free_separation.csv",
           f"{RESULTS}/figures/fig24_label_free.png"]


def four_channel_config(directory):
    path = directory / "four.yaml"
    path.write_text(yaml.safe_dump({"results": RESULTS, "data": {"channels": FOUR}}))
    return path


def test_the_default_config_trains_no_label_free_network_and_four_channels_do(tmp_path):
    jobs = planned_rules(tmp_path, REPO / "configs" / "tiny.yaml")
    assert jobs.get("channel_use") == 1 and "label_free_train" not in jobs
    jobs = planned_rules(tmp_path, REPO / "configs" / "tiny.yaml", four_channel_config(tmp_path))
    assert {jobs.get(rule) for rule in ("channel_use", "label_free_train", "label_free_layers",
                                        "label_free_separation")} == {1}, jobs


def test_label_free_true_without_a_label_free_channel_stops_at_planning(tmp_path):
    override = tmp_path / "on.yaml"
    override.write_text(yaml.safe_dump({"channel_use": {"label_free": True}}))
    r = snakemake(tmp_path, "-n", "--configfile", str(REPO / "configs" / "tiny.yaml"), str(override))
    assert r.returncode != 0
    assert "channel_use.label_free" in r.stdout + r.stderr


@pytest.mark.slow
@pytest.mark.trains
def test_tiny_four_channel_run_says_which_channels_the_network_uses(tmp_path):
    r = snakemake(tmp_path, *TARGETS, "--cores", "2", "--configfile", str(REPO / "configs" / "tiny.yaml"),
                  str(four_channel_config(tmp_path)))
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    for target in TARGETS:
        assert (tmp_path / target).stat().st_size > 0, target
        if target.endswith(".png"):
            assert (tmp_path / target.replace(".png", ".pdf")).exists()
    results = tmp_path / RESULTS
    names = [c["name"] for c in FOUR]
    classes = json.loads((results / "data" / "classes.json").read_text())
    table = pd.read_csv(results / "metrics" / "channel_use.csv")
    assert list(table["condition"]) == ["all"] + ["without"] * 4 + ["only"] * 4
    assert list(table["channel"]) == ["all"] + names + names
    scores = ["accuracy", "balanced_accuracy"] + [f"accuracy_{c}" for c in classes]
    assert table[scores].apply(lambda s: s.between(0, 1).all()).all()
    # the table's all-channels row is the classifier's own test evaluation (rule train's metrics.json)
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    everything = table[table["condition"] == "all"].iloc[0]
    assert everything["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert everything["n_cells"] == metrics["n_test"]
    label_free = pd.read_csv(results / "metrics" / "label_free.csv").set_index("network")
    assert label_free.loc["label_free", "channels"] == "brightfield darkfield"
    free_metrics = json.loads((results / "label_free" / "model" / "metrics.json").read_text())
    assert label_free.loc["label_free", "accuracy"] == pytest.approx(free_metrics["test_accuracy"])
    weights = torch.load(results / "label_free" / "model" / "weights.pt", weights_only=True)
    assert next(v for v in weights.values() if v.ndim == 4).shape[1] == 2  # two input channels
    separation = pd.read_csv(results / "metrics" / "label_free_separation.csv")
    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    layers = layer_names(tiny["model"], 78, len(classes))
    assert set(separation["network"]) == {"all_channels", "label_free"}
    for network, rows in separation.groupby("network"):
        assert list(rows["layer"]) == layers, network
        assert rows["knn_accuracy"].between(0, 1).all()
    print(table.to_string(index=False))
    print(label_free.to_string())
    print(separation.to_string(index=False))
