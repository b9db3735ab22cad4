# Stage 9, export: the embedded cells where cytometrists and single-cell researchers already work,
# an FCS 3.1 file (FlowJo, FCS Express, flowCore) and an AnnData .h5ad (scanpy); docs/formats.md,
# export/. Exports EXPORT_TARGETS for all_targets().
from cellscape.model.spec import PROJECT_KEYS
from cellscape.export.parts import FCS_MAX_PARAMETERS, fcs_part_paths, per_cell_budget, plan_fcs_parts
from cellscape.features import feature_columns

EXPORT_DIR = PLAN.paths.export
EXPORT_METHODS = config["embeddings"]["methods"]
# the layers of each FCS file: one file unless the layers need more than FCS_MAX_PARAMETERS channels
# beside the per-cell ones (more of those with more image channels: their index.csv columns and cell features)
FCS_PARTS = plan_fcs_parts(LAYERS, EXPORT_METHODS, FCS_MAX_PARAMETERS,
                           per_cell_budget(len(CHANNELS), len(feature_columns(CHANNEL_DISPLAY))))
FCS_FILES = fcs_part_paths(f"{EXPORT_DIR}/cells.fcs", len(FCS_PARTS))
EXPORT_X_LAYER = configured_layer("dense1", "export (the .h5ad's X layer)")
# the configuration the .h5ad records (uns["config"]), without the settings that change no result of
# it: device (a job resource), activations.jobs (how the same dumps are split into jobs) and
# probes.enabled (whether the probes' own outputs are made)
EXPORT_CONFIG = {key: value for key, value in config.items() if key != "device"}
EXPORT_CONFIG["activations"] = {k: v for k, v in config["activations"].items() if k != "jobs"}
EXPORT_CONFIG["probes"] = {k: v for k, v in config["probes"].items() if k != "enabled"}
if not EXTERNAL_MODEL:  # the settings of a network from elsewhere change nothing of the paper's
    EXPORT_CONFIG["model"] = {key: value for key, value in config["model"].items() if key in PROJECT_KEYS}

# with the regression stage on: its measured target (and the areas behind it) and the prediction
EXPORT_MDA = config["mda"]["enabled"]

EXPORT_TARGETS = FCS_FILES + [f"{EXPORT_DIR}/cells.h5ad"]


rule export:
    input:
        selection=f"{ACT}/selection.csv",
        predictions=f"{MODEL}/predictions.csv",
        index=f"{DATA}/index.csv",
        features=f"{DATA}/features.csv",
        classes=f"{DATA}/classes.json",
        embeddings=expand(f"{EMB}/{{layer}}/{{method}}.csv", layer=LAYERS, method=EXPORT_METHODS),
        clusters=expand(f"{EMB}/{{layer}}/clusters.csv", layer=LAYERS),
        reduced=expand(f"{ACT}/{{layer}}/reduced.npy", layer=LAYERS),
        mda_targets=f"{MDA_DIR}/targets.csv" if EXPORT_MDA else [],
        mda_predictions=f"{MDA_DIR}/predictions.csv" if EXPORT_MDA else [],
        selections=list(config["export"]["selections"].values()),
    output:
        fcs=FCS_FILES,
        h5ad=f"{EXPORT_DIR}/cells.h5ad",
    log:
        f"{LOGS}/export.log",
    benchmark:
        f"{BENCH}/export.tsv"
    params:
        layers=LAYERS,
        methods=EXPORT_METHODS,
        classes=config["classes"],
        channels=CHANNEL_DISPLAY,
        mda=EXPORT_MDA,
        selection_names=list(config["export"]["selections"]),
        mda_target=MDA_TARGET if EXPORT_MDA else "",
        fcs_parts=FCS_PARTS,
        fcs_max_parameters=FCS_MAX_PARAMETERS,
        x_layer=EXPORT_X_LAYER,
        layer_shapes={s.name: [s.channels, s.height, s.width] for s in SHAPES},
        config=canonical(EXPORT_CONFIG),  # sorted keys: the order config files filled it in is no change
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("export"),
        runtime=RES.runtime("export"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/export.py"
