"""The workflow as users run it: the real snakemake command line on the tiny configuration."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cellscape.runtime.rulerun import thread_count

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]


def snakemake(workdir, *args, timeout=1500):
    cmd = SNAKEMAKE + ["--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def planned_jobs(output):
    """{rule: count} from the job-stats table of a dry run."""
    stats = output.split("Job stats:")[1].split("Reasons:")[0] if "Job stats:" in output else ""
    jobs = {}
    for line in stats.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) != "total":
            jobs[m.group(1)] = int(m.group(2))
    return jobs


def test_default_config_plans_the_whole_dag(tmp_path):
    r = snakemake(tmp_path, "-n", "--quiet", "rules", "--cores", "8", "--configfile", str(REPO / "config.yaml"))
    assert r.returncode == 0, r.stderr
    jobs = planned_jobs(r.stdout + r.stderr)
    assert jobs["simulate_chunk"] == 4
    assert jobs["dump_activations"] == 12          # conv1..conv10, dense1, dense2
    assert jobs["embed"] == 24                     # every layer x (umap, tsne)


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


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    # the users' command line: --cores 8 whatever the machine has
    r = snakemake(workdir, "--cores", "8", "--configfile", str(REPO / "configs" / "tiny.yaml"))
    assert r.returncode == 0, (r.stdout + r.stderr)[-5000:]
    return workdir


@pytest.mark.slow
def test_tiny_config_runs_end_to_end(tiny_run):
    results = tiny_run / "results" / "tiny"
    figures = {p.name for p in (results / "figures").glob("fig*.png")}
    numbers = {int(name[3:5]) for name in figures}
    assert set(range(1, 7)) <= numbers, sorted(figures)
    for name in figures:
        assert (results / "figures" / name.replace(".png", ".pdf")).exists(), name
    index = pd.read_csv(results / "data" / "index.csv")
    assert set(index["split"]) == {"train", "val", "test"}
    assert (results / "model" / "metrics.json").exists()
    # each job used its share of the machine's CPUs (Snakefile -> rule script plumbing)
    usable = len(os.sched_getaffinity(0))
    train_log = (results / "logs" / "train.log").read_text()
    granted = re.search(r"granted (\d+) of the run's 8 cores", train_log)
    assert granted, train_log[:2000]
    assert f"{thread_count(int(granted.group(1)), usable, 8)} threads:" in train_log
    # a second run has nothing left to do
    again = snakemake(tiny_run, "-n", "--configfile", str(REPO / "configs" / "tiny.yaml"))
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_changing_one_layers_settings_reruns_only_that_layer(tiny_run, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("embeddings:\n  per_layer:\n    conv3: {umap: {n_neighbors: 5}}\n")
    r = snakemake(tiny_run, "-n", "--configfile", str(REPO / "configs" / "tiny.yaml"), str(override))
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    jobs = planned_jobs(out)
    assert jobs.get("embed") == 1, jobs
    assert "wildcards: layer=conv3, method=umap" in out
    for rule in ("train", "dump_activations", "simulate_chunk", "ingest"):
        assert rule not in jobs, jobs
