"""Rerunning one layer, with the command the README prints, plans that layer's jobs and the
figures and tables that aggregate layers, and nothing of the other layers."""
import re
import subprocess

import pytest
import yaml

from cellscape.plan.dag import job_counts
from rebuild_layer import PER_LAYER, layer_files
from support.workflow import REPO, in_own_process, plan

#: rules whose jobs combine every layer (they rerun because one of their inputs is new)
AGGREGATES = {"all", "fig12_umap_layers", "fig12_separation", "fig14_feature_layers", "fig18_cluster_features",
              "mda_metrics", "fig20_21_mda", "fig22_mda_classifier", "explorer", "export", "probes", "cka"}


def readme_command(name):
    """The README's command line of the ``name`` make target, exactly as printed."""
    text = (REPO / "README.md").read_text()
    commands = re.findall(rf"^(make {name}\b[^\n`]*)$", text, re.M)
    assert commands, f"README prints no `make {name}` command"
    return commands[0].strip()


@pytest.mark.slow
def test_readme_layer_rerun_plans_one_layer(tiny_run):
    command = readme_command("layer")
    assert "LAYER=conv3" in command, command
    args = f'CONFIG=configs/tiny.yaml ARGS="-n --directory {tiny_run}"'
    r = subprocess.run(f"{command} {args}", shell=True, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    configs = [str(REPO / "config.yaml"), str(REPO / "configs" / "tiny.yaml")]  # what make's CONFIG= passes
    files = in_own_process(layer_files, "conv3", tiny_run, configs, {})
    assert f"forcing {len(files)} jobs of conv3" in r.stderr
    # what the rebuild runs: rule all with exactly those files forced
    planned = plan(tiny_run, *configs, targets=["all"], forcerun=files, config=PER_LAYER)
    jobs = job_counts(planned)
    layer_jobs = {rule: n for rule, n in jobs.items() if rule not in AGGREGATES}
    # conv3's dump (alone: not the one-pass dump of every layer), embeddings (umap and tsne in
    # one job), metrics, MDA dump and maps, feature images, clusters
    assert layer_jobs.get("dump_activations") == 1 and "dump_layers" not in jobs, jobs
    assert layer_jobs.get("embed") == 1, jobs
    assert layer_jobs.get("layer_metrics") == 1, jobs
    tiny = yaml.safe_load((REPO / "configs" / "tiny.yaml").read_text())
    assert "conv3" in tiny["mda"]["layers"]  # so that its MDA jobs are part of the check
    conv3_mda = [job for job in planned if job.rule == "mda_activations" and job.wildcards["layer"] == "conv3"]
    assert len(conv3_mda) == 1 and "mda_layers" not in jobs, jobs
    assert layer_jobs.get("mda_embed") == 1, jobs
    assert layer_jobs.get("featvis_chunk", 0) >= 1 and layer_jobs.get("featvis_merge") == 1, jobs
    for rule in ("simulate_chunk", "ingest", "train", "mda_train", "select_images", "featvis_channel_order"):
        assert rule not in jobs, jobs
    # nothing of another layer: every planned per-layer job names conv3
    forced = [job.wildcards["layer"] for job in planned if "layer" in job.wildcards]
    assert forced and set(forced) == {"conv3"}, forced
