"""Rebuild one layer: every job of the workflow whose {layer} wildcard is that layer (its dumps,
embeddings, metrics, feature images, MDA maps and per-layer figures), then whatever aggregates
layers (Figs. 12, 14, 18, 20-22, the tables, the explorer), because their inputs are new.

    python tools/rebuild_layer.py conv3 [snakemake options...]     (what `make layer LAYER=conv3` runs)

Snakemake's own `--forcerun` takes rule names (every layer's jobs of that rule) or files; this
asks Snakemake for the layer's jobs (a forced dry run of the whole DAG) and forces exactly their
output files, so the run plans only that layer plus the figures and tables that show it. The
options (--cores, --configfile, -n, --directory...) go to both Snakemake calls; the first is
always a dry run. Options that take several values (--configfile a b) must come before others.
"""
import re
import subprocess
import sys

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
#: one job per layer's dump (activations.jobs: per_layer): the files are the same as the
#: one-pass job's, so forcing one layer's dump reruns that layer alone; the setting reruns nothing
PER_LAYER = ["--config", "activations={jobs: per_layer}"]
JOB = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.S | re.M)


def layer_outputs(dry_run_output, layer):
    """One output file of every job whose wildcards say ``layer=<layer>``."""
    files = []
    for rule, body in JOB.findall(dry_run_output):
        wildcards = re.search(r"^\s+wildcards: (.*)$", body, re.M)
        output = re.search(r"^\s+output: ([^,\n]+)", body, re.M)
        if wildcards and output and f"layer={layer}" in [w.strip() for w in wildcards.group(1).split(",")]:
            files.append(output.group(1).strip())
    return files


QUIET_VALUES = {"all", "host", "progress", "reason", "rules"}


def planning_options(options):
    """``options`` without --quiet (the plan must list every job with its wildcards)."""
    kept, skipping = [], False
    for option in options:
        if option in ("-q", "--quiet"):
            skipping = True
            continue
        if skipping and option in QUIET_VALUES:
            continue
        skipping = False
        kept.append(option)
    return kept


def main(argv):
    if not argv or argv[0].startswith("-"):
        sys.exit("usage: python tools/rebuild_layer.py LAYER [snakemake options...]")
    layer, options = argv[0], argv[1:]
    plan = subprocess.run(SNAKEMAKE + [*planning_options(options), *PER_LAYER, "--dry-run", "--forceall", "--nolock"],
                          capture_output=True, text=True)
    if plan.returncode != 0:
        sys.stderr.write(plan.stdout + plan.stderr)
        sys.exit(plan.returncode)
    files = layer_outputs(plan.stdout + plan.stderr, layer)
    if not files:
        sys.exit(f"rebuild_layer: the workflow has no jobs for layer {layer!r} (a layer name such as conv3 or dense1)")
    print(f"rebuild_layer: forcing {len(files)} jobs of {layer}", file=sys.stderr, flush=True)
    # the target first: --forcerun takes every value after it
    sys.exit(subprocess.run(SNAKEMAKE + ["all", *options, *PER_LAYER, "--forcerun", *files]).returncode)


if __name__ == "__main__":
    main(sys.argv[1:])
