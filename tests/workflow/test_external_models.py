"""Exploring a network trained elsewhere, end to end on the tiny configuration: a torchvision
ResNet-18 with two input channels, trained a few steps here, saved as a state dict, as a
torch.export program and as TorchScript; each is evaluated with no training and predicts every
cell as the same model does in plain PyTorch, one run makes every figure, the explorer and the
export, and a single layer reruns by its alias. The network's accuracy is not under test: what a few training steps
reach depends on the CPU's arithmetic."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import torchvision
import yaml
from torch import nn

from cellscape.plan.dag import job_counts
from rebuild_layer import PER_LAYER, layer_files
from support.workflow import REPO, in_own_process, plan, planned_rules, snakemake

TINY = REPO / "configs" / "tiny.yaml"
AUTO = ["relu", "layer1", "layer2", "layer3", "layer4", "fc"]
#: the paper's figure layers resolve to the ResNet's by kind; the cheap shallow ones keep the test fast
FEATVIS = {"steps": 8, "evolution_steps": [0, 4, 8], "evolution_layer": "conv1", "grid_layer": "conv1", "neuron_layer": "conv2", "nmf_layer": "conv2",
           "cluster_layers": ["conv1", "conv2"], "attribution_ig_steps": 8,
           "attribution_check_ig_steps": 4, "attribution_smoothgrad_samples": 2, "attribution_check_cells_per_class": 2,
           "attribution_sanity_cells": 2, "attribution_label_steps": 2, "attribution_label_cells": 8}


def train_resnet(images, index, steps=40, seed=0):
    """ResNet-18 (random init, first convolution for two channels) trained ``steps`` Adam steps."""
    torch.manual_seed(seed)
    model = torchvision.models.resnet18(num_classes=2)
    model.conv1 = nn.Conv2d(2, 64, 7, 2, 3, bias=False)
    train = index[index["split"] == "train"]
    x = torch.from_numpy(np.asarray(images[train["row"].to_numpy()], dtype=np.float32))
    y = torch.from_numpy(train["label"].to_numpy())
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = torch.randint(0, len(x), (32,), generator=generator)
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        optimiser.step()
    return model.eval()


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A working directory with the tiny image set and the ResNet in every format."""
    workdir = tmp_path_factory.mktemp("external")
    r = snakemake(workdir, "results/tiny/data/images.npy", "--cores", "2", "--configfile", str(TINY))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    data = workdir / "results" / "tiny" / "data"
    index = pd.read_csv(data / "index.csv")
    images = np.load(data / "images.npy", mmap_mode="r")
    model = train_resnet(images, index)
    with torch.no_grad():  # what the model says in plain PyTorch, the reference for every run
        expected = torch.softmax(model(torch.from_numpy(np.asarray(images, dtype=np.float32))), 1).numpy()
    np.save(workdir / "plain_pytorch_probabilities.npy", expected)
    torch.save(model.state_dict(), workdir / "resnet18.pt")
    example = torch.rand(4, 2, 78, 78)
    program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(program, workdir / "resnet18.pt2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(model), workdir / "resnet18_script.pt")
    return workdir


#: the source whose run makes everything, the MDA stage (its own regression network, Figs. 20-22)
#: included: it is the same for every source, and leaving it out of the others keeps the suite short
WITH_MDA = "torchvision"


def config(workdir, name, model):
    path = workdir / f"{name}.yaml"
    settings = {"results": f"results/{name}", "model": model, "featvis": FEATVIS}
    if name != WITH_MDA:
        settings["mda"] = {"enabled": False}
    path.write_text(yaml.safe_dump(settings))
    return path


def figures_and_explorer(results):
    figures = {p.name for p in (results / "figures").glob("fig*.png")}
    expected = set(range(1, 24)) | {25, 26}  # the probes and the CKA run for a network from elsewhere too
    assert {int(name[3:5]) for name in figures} == expected, sorted(figures)
    assert (results / "explorer" / "index.html").stat().st_size > 0
    assert (results / "export" / "cells.h5ad").exists() and (results / "export" / "cells.fcs").exists()


#: three layers each keep the runs short: which layers 'auto' finds in each file format is tested
#: without a run (tests/model/test_external.py) and planned here by test_a_network_from_elsewhere_plans_...
RUNS = {
    "torchvision": {"source": "torchvision", "file": "resnet18.pt", "architecture": "resnet18",
                    "arguments": {"num_classes": 2}, "layers": ["relu", "layer1.1.relu", "fc"]},
    "exported": {"source": "exported", "file": "resnet18.pt2", "layers": ["relu", "layer2.0.relu", "fc"]},
    "torchscript": {"source": "torchscript", "file": "resnet18_script.pt", "layers": ["layer1", "layer3", "fc"]},
}
ALIASES = {"torchvision": ["relu", "layer1_1_relu", "fc"], "torchscript": ["layer1", "layer3", "fc"],
           "exported": ["relu", "layer2_0_relu", "fc"]}


#: the other file formats run what depends on how the model is loaded: predictions, every layer's
#: dump and map, and the stages that need its gradients (feature images, attribution); the whole
#: DAG with every figure, the explorer and the export runs once, for the torchvision source
LOADED = ["model/metrics.json", "metrics/separation.csv", "figures/fig13_feature_evolution.png",
          "figures/fig19_attribution.png"]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RUNS))
def test_a_network_from_elsewhere_runs_end_to_end(models, name):
    path = config(models, name, RUNS[name])
    targets = [] if name == WITH_MDA else [f"results/{name}/{target}" for target in LOADED]
    r = snakemake(models, *targets, "--cores", "2", "--configfile", str(TINY), str(path), timeout=2400)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    results = models / "results" / name
    if name == WITH_MDA:
        figures_and_explorer(results)
        # the MDA stage's regression network stays the project's own
        assert set(pd.read_csv(results / "mda" / "metrics.csv")["layer"]) == {"conv1", "conv3", "conv5", "dense1", "dense2"}
    benchmarks = results / "benchmarks"
    assert (benchmarks / "evaluate.tsv").exists() and not (benchmarks / "train.tsv").exists()  # evaluated, never trained
    metrics = json.loads((results / "model" / "metrics.json").read_text())
    assert metrics["source"] == name, metrics
    # every cell predicted as the same model predicts it in plain PyTorch (whatever its accuracy)
    predictions = pd.read_csv(results / "model" / "predictions.csv").sort_values("row")
    expected = np.load(models / "plain_pytorch_probabilities.npy")[predictions["row"].to_numpy()]
    probabilities = predictions[[f"p_{cls}" for cls in metrics["classes"]]].to_numpy()
    assert expected[:, 1].std() > 1e-3, "the reference must tell cells apart for the comparison to mean anything"
    np.testing.assert_allclose(probabilities, expected, atol=1e-4)
    assert (predictions["predicted_label"].to_numpy() == expected.argmax(1)).mean() > 0.99
    separation = pd.read_csv(results / "metrics" / "separation.csv")
    assert list(dict.fromkeys(separation["layer"])) == ALIASES[name]
    for layer in ALIASES[name]:
        assert (results / "activations" / layer / "reduced.npy").exists(), layer
    assert plan(models, TINY, path, targets=targets) == []  # nothing left to do


@pytest.mark.slow
def test_one_layer_reruns_by_its_alias(models):
    path = config(models, WITH_MDA, RUNS[WITH_MDA])
    assert (models / "results" / WITH_MDA / "explorer" / "index.html").exists()  # the whole run above
    r = subprocess.run([sys.executable, "tools/rebuild_layer.py", "layer1_1_relu", "-n", "--cores", "2",
                        "--directory", str(models), "--configfile", str(TINY), str(path)],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    files = in_own_process(layer_files, "layer1_1_relu", models, [str(TINY), str(path)], {})
    planned = plan(models, TINY, path, targets=["all"], forcerun=files, config=PER_LAYER)
    jobs = job_counts(planned)
    assert jobs.get("dump_activations") == 1 and jobs.get("embed") == 1 and jobs.get("layer_metrics") == 1, jobs
    assert "evaluate" not in jobs and "ingest" not in jobs, jobs
    forced = [job.wildcards["layer"] for job in planned if "layer" in job.wildcards]
    assert forced and set(forced) == {"layer1_1_relu"}, forced


@pytest.mark.slow
def test_a_three_channel_model_on_two_channel_data_stops_planning_naming_both(models):
    rgb = torchvision.models.resnet18(num_classes=2)
    torch.save(rgb.state_dict(), models / "rgb.pt")
    path = config(models, "rgb", {"source": "torchvision", "file": "rgb.pt", "architecture": "resnet18",
                                  "arguments": {"num_classes": 2}})
    r = snakemake(models, "-n", "--configfile", str(TINY), str(path), timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "takes 3 input channels and the image set gives 2" in out, out[-3000:]


def test_a_network_from_elsewhere_plans_evaluate_instead_of_train(tmp_path):
    model = torchvision.models.resnet18(num_classes=2)
    model.conv1 = nn.Conv2d(2, 64, 7, 2, 3, bias=False)
    torch.save(model.state_dict(), tmp_path / "resnet18.pt")
    path = tmp_path / "external.yaml"
    path.write_text(yaml.safe_dump({"model": {**RUNS["torchvision"], "layers": "auto"}, "data": {"split": "none"}}))
    r = snakemake(tmp_path, "-n", "--configfile", str(TINY), str(path), timeout=300)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    jobs = planned_rules(tmp_path, TINY, path)
    assert jobs["evaluate"] == 1 and "train" not in jobs and jobs["mda_train"] == 1, jobs
    assert jobs["embed"] == len(AUTO), jobs
    # the paper network's settings still name layers: featvis.grid_layer conv4 is the ResNet's 4th spatial stage
    assert "featvis.grid_layer: the network has no layer conv4" in out and "using layer3" in out, out[-3000:]


def test_split_none_needs_a_network_from_elsewhere(tmp_path):
    path = tmp_path / "none.yaml"
    path.write_text("data: {split: none}\n")
    r = snakemake(tmp_path, "-n", "--configfile", str(TINY), str(path), timeout=300)
    assert r.returncode != 0 and "data.split: none needs a network trained elsewhere" in r.stdout + r.stderr
