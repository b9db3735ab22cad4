# cellscape: explore the deep feature space of a cell classification CNN, layer by layer.
# This file is a table of contents; the rules live in rules/, one file per stage.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/model.smk"
include: "rules/activations.smk"
include: "rules/embeddings.smk"
include: "rules/featvis.smk"
include: "rules/regression.smk"
include: "rules/explorer.smk"


rule all:
    input:
        all_targets(),
    default_target: True
