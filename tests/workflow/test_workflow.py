"""The workflow as users run it: the real snakemake command line on the tiny configuration."""
import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from cellscape.plan.dag import job_counts
from cellscape.runtime.rulerun import thread_count

from support.workflow import REPO, plan, planned_rules, snakemake


def test_default_config_plans_the_whole_dag(tmp_path):
    jobs = planned_rules(tmp_path, REPO / "config.yaml", cores=8)
    assert jobs["simulate_chunk"] == 4
    assert jobs["dump_layers"] == 1 and "dump_activations" not in jobs  # one forward pass, every layer
    assert jobs["mda_layers"] == 1 and "mda_activations" not in jobs
    assert jobs["embed"] == 12                     # every layer, each with umap and tsne


def test_per_layer_dump_jobs_plan_one_job_per_layer(tmp_path):
    jobs = planned_rules(tmp_path, REPO / "config.yaml", config={"activations": {"jobs": "per_layer"}})
    assert jobs["dump_activations"] == 12 and "dump_layers" not in jobs  # conv1..conv10, dense1, dense2
    assert jobs["mda_activations"] == 7                                   # mda.layers


def planning_message(output):
    line = re.search(r"cellscape: this run writes about ([\d.]+) GB .*?; (\d+) GB free there", output)
    assert line, output[-3000:]
    return float(line.group(1))


def test_planning_states_the_disk_the_run_writes_and_the_cap_bounds_it(tmp_path):
    """The dumps of 10x the events write 10x the disk without a cap, and the same with the cap
    at the default's test-set size."""
    sizes = {}
    for name, events, cap in (("default", 3000, "null"), ("10x", 30000, "null"), ("10x capped", 30000, 601)):
        override = tmp_path / f"{name.replace(' ', '_')}.yaml"
        override.write_text(f"simulator: {{events: {events}}}\nactivations: {{max_cells: {cap}}}\n")
        r = snakemake(tmp_path, "-n", "--quiet", "rules", "--configfile", str(REPO / "config.yaml"), str(override))
        assert r.returncode == 0, r.stderr[-3000:]
        sizes[name] = planning_message(r.stdout + r.stderr)
    assert 1.0 < sizes["default"] < 3.0                     # the default's dumps: ~0.9 GB
    assert sizes["10x"] > 7 * sizes["default"]
    assert sizes["10x capped"] < 0.5 * sizes["10x"]


def test_a_run_the_disk_cannot_hold_stops_at_planning_naming_the_cap(tmp_path):
    override = tmp_path / "huge.yaml"
    override.write_text("simulator: {events: 300000000}\nactivations: {max_cells: null}\n")
    r = snakemake(tmp_path, "-n", "--configfile", str(REPO / "config.yaml"), str(override), timeout=120)
    out = r.stdout + r.stderr
    assert r.returncode != 0
    assert "GB are free" in out and "activations.max_cells" in out, out[-3000:]
    assert not (tmp_path / "results").exists()  # nothing was written


def test_parsing_the_workflow_imports_no_torch():
    """Snakemake parses the Snakefile for every dry run and every cluster job: what the rules
    import must stay light (the project's rule: no torch in the Snakefile)."""
    sources = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    modules = sorted({m for path in sources for m in re.findall(r"^\s*from (cellscape[\w.]*) import", path.read_text(),
                                                              re.MULTILINE)})
    assert "cellscape.plan.build" in modules, modules  # the walk found the rules' imports (the plan imports the rest)
    probe = ("import sys; sys.path.insert(0, 'scripts'); import importlib\n"
             f"for m in {modules!r}: importlib.import_module(m)\n"
             "print(sorted(m for m in ('torch', 'torchvision', 'numba', 'umap', 'matplotlib') if m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"the rules' imports {modules} load {r.stdout.strip()}"


def test_lint_is_clean():
    r = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Lints for" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_unknown_config_key_is_an_error_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("training:\n  epocs: 3\n")
    r = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert r.returncode != 0
    assert "epocs" in r.stdout + r.stderr


def test_impossible_architecture_is_rejected_at_planning(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  conv_stages: [[8], [8], [8], [8], [8], [8], [8], [8]]\n")
    r = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert r.returncode != 0
    assert "below 1 px" in r.stdout + r.stderr


def all_targets(workdir, *configs):
    """The input files of rule all, as Snakemake plans them (a forced dry run)."""
    return next(job.input for job in plan(workdir, *configs, forceall=True) if job.rule == "all")


@pytest.mark.slow
@pytest.mark.trains
def test_tiny_config_runs_end_to_end(tiny_run):
    results = tiny_run / "results" / "tiny"
    targets = all_targets(tiny_run, REPO / "configs" / "tiny.yaml")
    assert len(targets) > 60, targets
    missing = [t for t in targets if not (tiny_run / t).exists() or (tiny_run / t).stat().st_size == 0]
    assert not missing, missing
    figures = {p.name for p in (results / "figures").glob("fig*.png")}
    numbers = {int(name[3:5]) for name in figures}
    assert numbers == set(range(1, 24)) | {25, 26}, sorted(figures)  # 24: label-free channels, 27: concepts.measures
    for name in figures:
        assert (results / "figures" / name.replace(".png", ".pdf")).exists(), name
    index = pd.read_csv(results / "data" / "index.csv")
    assert set(index["split"]) == {"train", "val", "test"}
    assert (results / "model" / "metrics.json").exists()
    # every run writes the normalisation evidence: per channel, each factor's AUCs
    evidence = json.loads((results / "data" / "normalisation.json").read_text())
    assert set(evidence["channels"]) == {"cytoplasm", "nucleus"}
    for factors in evidence["channels"].values():
        assert {"max", "mean"} <= set(factors)
        assert all(0.5 <= auc <= 1 for f in factors.values() for auc in f["one_vs_rest_auc"].values())
    # MDA embeds and scores the layers mda.layers names, each with every method
    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    mda = pd.read_csv(results / "mda" / "metrics.csv")
    assert sorted(set(mda["layer"])) == sorted(tiny["mda"]["layers"])
    assert len(mda) == len(tiny["mda"]["layers"]) * 4
    # what each layer knows: every kept cell's features; every layer (the input pixels first) x every feature
    features = pd.read_csv(results / "data" / "features.csv")
    assert features["id"].tolist() == index["id"].tolist()
    assert {"cell_area", "nucleus_to_cell_ratio", "nucleus_lobes", "truth_nucleus_lobes"} <= set(features)
    probes = pd.read_csv(results / "metrics" / "probes.csv")
    layers = ["input"] + [f"conv{k}" for k in range(1, 7)] + ["dense1", "dense2"]
    assert list(dict.fromkeys(probes["layer"])) == layers
    assert len(probes) == len(layers) * (len(features.columns) - 2)
    assert probes.loc[probes["layer"] == "input", "selectivity"].dropna().eq(0).all()  # one input for both nets
    # each job used its share of the machine's CPUs (Snakefile -> rule script plumbing)
    usable = len(os.sched_getaffinity(0))
    train_log = (results / "logs" / "train.log").read_text()
    granted = re.search(r"granted (\d+) of the run's 8 cores", train_log)
    assert granted, train_log[:2000]
    assert f"{thread_count(int(granted.group(1)), usable, 8)} threads:" in train_log
    # a second run has nothing left to do
    assert plan(tiny_run, REPO / "configs" / "tiny.yaml") == []


@pytest.mark.slow
def test_changing_one_layers_settings_reruns_only_that_layer(tiny_run, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("embeddings:\n  per_layer:\n    conv3: {umap: {n_neighbors: 5}}\n")
    planned = plan(tiny_run, REPO / "configs" / "tiny.yaml", override)
    jobs = job_counts(planned)
    assert jobs.get("embed") == 1, jobs
    assert [job.wildcards for job in planned if job.rule == "embed"] == [{"layer": "conv3"}]
    for rule in ("train", "dump_activations", "dump_layers", "simulate_chunk", "ingest"):
        assert rule not in jobs, jobs
