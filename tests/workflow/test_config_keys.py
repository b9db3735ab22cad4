"""Every setting reruns what it affects: for each leaf key of the config schema, an override file
that changes it, dry-run on a completed tiny run, plans at least one job.

A rule script that read a setting behind Snakemake's back (``snakemake.config``) instead of
through ``params:`` would make this plan "Nothing to be done" and leave the user with results
of the old settings.
"""
import copy
from pathlib import Path

import pytest
import yaml

from cellscape.plan.dag import job_counts
from support.workflow import REPO, planned_rules, plans

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
DEFAULT = yaml.safe_load((REPO / "config.yaml").read_text())
TINY = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())

#: keys that by design change no output; each with the reason (docs/formats.md repeats it)
NO_OUTPUT_KEYS = {
    "device": "where torch runs is a job resource (gpu), not a result setting: moving a run to a GPU "
              "node must not make its finished results stale",
    "activations.jobs": "one job for every layer's dump or one job per layer write the same files with the "
                        "same params: how the dumps are split into jobs is no result setting",
}

#: values for keys whose other valid value cannot be derived from the schema alone
EXPLICIT = {
    "results": "results/tiny_elsewhere",
    "image_size": 80,
    "activations.max_cells": 40,  # below the tiny run's test split: the cap binds
    "classes": ["neutrophil", "lymphocyte"],
    "data.directory": "results/tiny/raw/000",
    "data.channels": [{"name": "cytoplasm", "file": "Ch2"}, {"name": "nucleus", "file": "Ch4"},
                      {"name": "darkfield", "file": "Ch6", "kind": "darkfield"}],
    "data.central_channel": "cytoplasm",
    # the short form's channels: values the simulator images and that stay distinct from the other channel's
    "data.channel_files.cytoplasm": "Ch6",
    "data.channel_files.nucleus": "Ch9",
    "data.stack_channels.cytoplasm": 2,
    "data.stack_channels.nucleus": 3,
    "data.rgb.cytoplasm_band": "green",
    "data.rgb.nucleus_band": "green",
    "data.normalise_auc": 0.9,
    "data.pixel_size_um": 0.2,
    "data.labels.pattern": "(?P<class>[a-z]+)_(?P<object>[0-9]+)",
    "data.labels.table": "results/tiny/labels.csv",
    "data.labels.map": {"lymph": "lymphocyte"},  # 1.5x the default is past the maximum, half of it below the minimum
    "data.split": {"train": 0.5, "val": 0.25, "test": 0.25},
    "model.conv_stages": [[8, 8], [16, 16], [32, 24]],
    "model.dense": [24],
    "embeddings.methods": ["umap", "tsne", "pca"],
    "embeddings.pca": {"n_components": 2},
    "embeddings.mda": {"n_groups": 8},
    "embeddings.per_layer": {"conv3": {"umap": {"n_neighbors": 5}}},
    "embeddings.figure_layer": "conv6",
    "featvis.evolution_steps": [0, 8, 24],
    "featvis.evolution_layer": "conv2",
    "featvis.grid_layer": "conv3",
    "featvis.neuron_layer": "conv3",
    "featvis.nmf_layer": "conv3",
    "featvis.cluster_layers": ["conv3"],
    "featvis.bf16": False,
    "mda.methods": ["mda", "umap"],
    "mda.target": "cell_area",
    "mda.figure_layers": ["conv2", "dense1"],
    "mda.layers": ["conv3", "dense1"],
    "explorer.ifealid_cells": 20,  # below the tiny run's shown cells: the cap binds
    "export.selections": {"all_shown": "results/tiny/activations/selection.csv"},  # a CSV with an id column
}


def leaf_keys(node, path=()):
    props = node.get("properties")
    if node.get("type") in ("object", ["object", "null"]) and props:
        for key, child in props.items():
            yield from leaf_keys(child, path + (key,))
    else:
        yield ".".join(path), node


def effective_value(dotted):
    """The key's value in the tiny run: tiny.yaml over config.yaml over the schema default."""
    node = SCHEMA
    for key in dotted.split("."):
        node = node["properties"][key]
    for layer in (TINY, DEFAULT):
        value = layer
        for key in dotted.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return node.get("default")


def another_value(dotted, node):
    """A valid value different from the tiny run's."""
    if dotted in TOGETHER:
        return None
    if dotted in EXPLICIT:
        return EXPLICIT[dotted]
    current = effective_value(dotted)
    if "enum" in node:
        return next(v for v in node["enum"] if v != current)
    kind = node.get("type")
    if kind == "boolean":
        return not current
    if kind == "integer":
        base = current if current is not None else node.get("minimum", 1)
        return base + 1 if base + 1 <= node.get("maximum", base + 1) else base - 1
    if kind == "number":
        base = current if current is not None else 0.5
        new = base * 1.5 if base else 0.01
        below = new <= node.get("maximum", new) and new < node.get("exclusiveMaximum", new + 1)
        return new if below else base / 2
    raise AssertionError(f"schema key {dotted} ({node}) needs a value in EXPLICIT")


#: a network trained elsewhere, in the tiny run's directory (written by write_external_model)
EXTERNAL_FILE = "external_resnet18.pt"
EXTERNAL = {"source": "torchvision", "file": EXTERNAL_FILE, "architecture": "resnet18", "arguments": {"num_classes": 2}}

#: the example ImageStream file (a copy of shared/ beside the repository) and its label table
CIF_EXAMPLE = str(REPO.parent / "shared" / "data" / "cif" / "example.cif")
CIF_LABELS = {"classes": ["small", "large"],
              "data": {"source": "cif", "files": [CIF_EXAMPLE],
                       "labels": {"table": str(REPO / "configs" / "cif_example_labels.csv")}}}

#: keys that are only valid together with another (the whole override file); the model's
#: foreign-network keys mean something only with a model.source other than train; the cif
#: source's keys only with data.source cif
TOGETHER = {
    "data.files": {"data": {"source": "cif", "files": {"lymphocyte": CIF_EXAMPLE, "neutrophil": CIF_EXAMPLE}}},
    "data.labels.table": CIF_LABELS,
    "data.mask": {**CIF_LABELS, "data": {**CIF_LABELS["data"], "mask": "instrument"}},
    "data.source": {"data": {"source": "directory", "directory": "results/tiny/raw/000"}},
    "model.source": {"model": EXTERNAL},
    "model.file": {"model": EXTERNAL},
    "model.architecture": {"model": EXTERNAL},
    "model.arguments": {"model": EXTERNAL},
    "model.layers": {"model": {**EXTERNAL, "layers": ["layer1.1.relu", "fc"]}},
    "model.input.size": {"model": {**EXTERNAL, "input": {"size": 78}}},
    "model.input.channels": {"model": {**EXTERNAL, "input": {"channels": ["nucleus", "cytoplasm"]}}},
    "model.input.mean": {"model": {**EXTERNAL, "input": {"mean": [0.1, 0.1], "std": [0.5, 0.5]}}},
    "model.input.std": {"model": {**EXTERNAL, "input": {"std": [0.5, 0.5]}}},
    # the concept test runs only for named measures: each of its settings with one
    "concepts.measures": {"concepts": {"measures": ["nucleus_area_ratio"]}},
    "concepts.layers": {"concepts": {"measures": ["nucleus_area_ratio"], "layers": ["conv3"]}},
    "concepts.folds": {"concepts": {"measures": ["nucleus_area_ratio"], "folds": 3}},
    "concepts.random_directions": {"concepts": {"measures": ["nucleus_area_ratio"], "random_directions": 20}},
    "concepts.alpha": {"concepts": {"measures": ["nucleus_area_ratio"], "alpha": 0.01}},
    # the tiny run's two stains have no label-free channel: the setting is about a darkfield channel too
    "channel_use.label_free": {"channel_use": {"label_free": True}, "data": {"channels": EXPLICIT["data.channels"]}},
}


def write_external_model(workdir):
    """A random two-channel ResNet-18 state dict for the model.* keys' override files."""
    import torch
    import torchvision
    model = torchvision.models.resnet18(num_classes=2)
    model.conv1 = torch.nn.Conv2d(2, 64, 7, 2, 3, bias=False)
    torch.save(model.state_dict(), Path(workdir) / EXTERNAL_FILE)


def override(dotted, value):
    if dotted in TOGETHER:
        return copy.deepcopy(TOGETHER[dotted])
    tree = {}
    cursor = tree
    keys = dotted.split(".")
    for key in keys[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[keys[-1]] = copy.deepcopy(value)
    return tree


KEYS = [(dotted, node) for dotted, node in leaf_keys(SCHEMA)]


def test_every_schema_key_has_a_value_or_a_reason():
    for dotted, node in KEYS:
        if dotted not in NO_OUTPUT_KEYS and dotted not in TOGETHER:
            assert another_value(dotted, node) != effective_value(dotted), dotted


@pytest.mark.slow
def test_changing_any_setting_plans_the_jobs_it_affects(tiny_run, tmp_path):
    write_external_model(tiny_run)
    checked = [(dotted, node) for dotted, node in KEYS if dotted not in NO_OUTPUT_KEYS]
    requests = []
    for dotted, node in checked:
        path = tmp_path / f"{dotted}.yaml"
        path.write_text(yaml.safe_dump(override(dotted, another_value(dotted, node))))
        requests.append(dict(workdir=tiny_run, configfiles=[str(REPO / "configs" / "tiny.yaml"), str(path)]))
    results = plans(requests, return_errors=True)
    failed = {dotted: str(jobs) for (dotted, _), jobs in zip(checked, results) if isinstance(jobs, Exception)}
    assert not failed, f"planning failed: {failed}"
    stale = [dotted for (dotted, _), jobs in zip(checked, results) if not job_counts(jobs)]
    assert not stale, f"changing these settings reruns nothing (results would be stale): {stale}"
    assert len(checked) > 100  # the walk saw the whole schema


@pytest.mark.slow
@pytest.mark.parametrize("dotted", sorted(NO_OUTPUT_KEYS))
def test_runtime_settings_rerun_nothing(tiny_run, tmp_path, dotted):
    node = dict(KEYS)[dotted]
    path = Path(tmp_path) / "override.yaml"
    current = effective_value(dotted)
    other = (not current) if node.get("type") == "boolean" else next(v for v in node["enum"] if v != current
                                                                     and v != "cuda")
    path.write_text(yaml.safe_dump(override(dotted, other)))
    assert planned_rules(tiny_run, REPO / "configs" / "tiny.yaml", path) == {}


@pytest.mark.slow
def test_switching_the_probes_off_reruns_the_explorer_alone(tiny_run, tmp_path):
    """The probes and the untrained network's dump leave the plan; the explorer, which showed
    them in its panel, is made again without it; nothing else depends on them."""
    path = tmp_path / "override.yaml"
    path.write_text(yaml.safe_dump({"probes": {"enabled": False}}))
    assert planned_rules(tiny_run, REPO / "configs" / "tiny.yaml", path) == {"explorer": 1}
