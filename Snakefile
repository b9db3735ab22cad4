# cellscape: explore the deep feature space of a cell classification CNN, layer by layer.
# This file is a table of contents; the rules live in rules/, one file per stage, in DAG order.
import os

from snakemake.utils import min_version

min_version("9.0")


# the embedded default, whatever the working directory (--directory); --configfile files go on top
configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/model.smk"
include: "rules/activations.smk"
include: "rules/embeddings.smk"
include: "rules/featvis.smk"
include: "rules/attribution.smk"
include: "rules/mda.smk"
include: "rules/explorer.smk"
include: "rules/export.smk"
include: "rules/channel_use.smk"
include: "rules/probes.smk"
include: "rules/similarity.smk"
include: "rules/concepts.smk"


for note in dict.fromkeys(LAYER_NOTES if workflow.is_main_process else []):  # once, at planning
    print(note, file=sys.stderr)


onsuccess:
    for text in normalisation_warnings():  # said again at the end, where the user looks
        print(f"cellscape warning: {text} ({DATA}/normalisation.json)", file=sys.stderr)
    for text in qc_warnings():
        print(f"cellscape warning: {text} ({DATA}/qc_summary.json)", file=sys.stderr)


rule all:
    input:
        all_targets(),
    default_target: True
