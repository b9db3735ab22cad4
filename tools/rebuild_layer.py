"""Rebuild one layer: every job of the workflow whose {layer} wildcard is that layer (its dumps,
embeddings, metrics, feature images, MDA maps and per-layer figures), then whatever aggregates
layers (Figs. 12, 14, 18, 20-22, the tables, the explorer), because their inputs are new.

    python tools/rebuild_layer.py conv3 [snakemake options...]     (what `make layer LAYER=conv3` runs)

Snakemake's own `--forcerun` takes rule names (every layer's jobs of that rule) or files; this
asks Snakemake's Python API for the layer's jobs (the plan of the whole DAG, forced) and forces
exactly their output files, so the run plans only that layer plus the figures and tables that
show it. The options (--cores, --configfile, -n, --directory, --profile...) go to the run; the
plan reads --directory, --configfile and --config from them.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from cellscape.plan.dag import planned_jobs  # noqa: E402

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
#: one job per layer's dump (activations.jobs: per_layer): the files are the same as the
#: one-pass job's, so forcing one layer's dump reruns that layer alone; the setting reruns nothing
PER_LAYER = {"activations": {"jobs": "per_layer"}}


def planning_settings(options):
    """(working directory, config files, --config values as a dict) named in snakemake options."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--directory", "-d", default=".")
    parser.add_argument("--configfile", "--configfiles", nargs="+", default=[])
    parser.add_argument("--config", "-C", nargs="+", default=[])
    known, _ = parser.parse_known_args(options)
    config = {}
    for item in known.config:
        key, _, value = item.partition("=")
        config[key] = yaml.safe_load(value)
    return known.directory, known.configfile, config


def layer_files(layer, workdir, configfiles, config):
    """One output file of every job whose ``layer`` wildcard is ``layer``, in a plan of everything."""
    jobs = planned_jobs(workdir, configfiles, forceall=True, config={**config, **PER_LAYER})
    return [job.output[0] for job in jobs if job.wildcards.get("layer") == layer and job.output]


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: python tools/rebuild_layer.py LAYER [snakemake options...]")
    layer, options = argv[0], argv[1:]
    workdir, configfiles, config = planning_settings(options)
    files = layer_files(layer, workdir, configfiles, config)
    if not files:
        sys.exit(f"rebuild_layer: the workflow has no jobs for layer {layer!r} (a layer name such as conv3 or dense1)")
    print(f"rebuild_layer: forcing {len(files)} jobs of {layer}", file=sys.stderr, flush=True)
    per_layer = ["--config", "activations={jobs: per_layer}"]
    # the target first: --forcerun takes every value after it
    sys.exit(subprocess.run(SNAKEMAKE + ["all", *options, *per_layer, "--forcerun", *files]).returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
