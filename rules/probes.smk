# Stage 9, layer knowledge: the features a cytometrist knows, per cell (data/features.csv: every
# run, the explorer and the export show them), and linear probes of every layer for them against
# two controls, the untrained network and shuffled targets (probes.enabled; docs/layer_knowledge.md).
# Exports PROBE_TARGETS.

UNTRAINED_DIR = PLAN.paths.untrained
PROBES = config["probes"]["enabled"]
PROBE_TARGETS = [f"{DATA}/features.csv"]
if PROBES:
    PROBE_TARGETS += [f"{METRICS}/probes.csv"] + figure(25, "probes")


rule cell_features:
    input:
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
    output:
        f"{DATA}/features.csv",
    log:
        f"{LOGS}/cell_features.log",
    benchmark:
        f"{BENCH}/cell_features.tsv"
    params:
        channels=CHANNEL_DISPLAY,
        min_object_px=config["qc"]["min_object_px"],
        chunk=config["features"]["chunk"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("cell_features"),
        runtime=RES.runtime("cell_features"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/cell_features.py"


if PROBES:

    # the selected cells through the network at its seeded initialisation, reduced as the trained
    # network's dumps are; the input pixels reduced the same way (the probes' layer 0)
    use rule dump_layers as untrained_layers with:
        input:
            weights=f"{MODEL}/weights.pt",
            images=f"{DATA}/images.npy",
            selection=f"{ACT}/selection.csv",
        output:
            **one_pass_outputs(f"{UNTRAINED_DIR}/activations", LAYERS, temporary=True),
            reduced_input=f"{UNTRAINED_DIR}/input/reduced.npy",
        log:
            f"{LOGS}/untrained/activations.log",
        benchmark:
            f"{BENCH}/untrained/activations.tsv"
        params:
            network=NETWORK,
            settings=DUMP_SETTINGS,
            seed=config["seed"],
            initial=True,
        priority: 0

    rule probes:
        input:
            features=f"{DATA}/features.csv",
            selection=f"{ACT}/selection.csv",
            input=f"{UNTRAINED_DIR}/input/reduced.npy",
            trained=expand(f"{ACT}/{{layer}}/reduced.npy", layer=LAYERS),
            untrained=expand(f"{UNTRAINED_DIR}/activations/{{layer}}/reduced.npy", layer=LAYERS),
        output:
            table=f"{METRICS}/probes.csv",
            figure=report(figure(25, "probes"), caption="../report/probes.rst", category="2 Model"),
        log:
            f"{LOGS}/probes.log",
        benchmark:
            f"{BENCH}/probes.tsv"
        params:
            layers=LAYERS,
            channels=CHANNEL_DISPLAY,
            folds=config["probes"]["folds"],
            level=config["probes"]["level"],
            seed=config["seed"],
        threads: cpus(1)
        resources:
            mem_mb=RES.mem_mb("probes"),
            runtime=RES.runtime("probes"),
        conda:
            "../envs/cellscape.yaml"
        script:
            "../scripts/probes.py"
