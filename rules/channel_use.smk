# Stage 8, channel use: which channels the classifier uses. The channel ablation (Fig. 23, every
# run): the test scores with each channel replaced by its training mean image and with only that
# channel kept. The label-free network (Fig. 24, channel_use.label_free): the classifier's
# architecture and training settings on the brightfield and darkfield channels alone, the same
# split and seed, scored and compared with the classifier layer by layer. Exports CHANNEL_USE_TARGETS.
LABEL_FREE = PLAN.studies.label_free
if PLAN.studies.label_free_note and workflow.is_main_process:
    print(PLAN.studies.label_free_note, file=sys.stderr)
#: the label-free channels' indices in the image set (the label-free network's input)
LABEL_FREE_CHANNELS = label_free_channels(CHANNELS)
LABEL_FREE_DIR = PLAN.paths.label_free

CHANNEL_USE_TARGETS = [f"{METRICS}/channel_use.csv"] + figure(23, "channel_use")
if LABEL_FREE:
    CHANNEL_USE_TARGETS += [f"{METRICS}/label_free.csv", f"{METRICS}/label_free_separation.csv"] + figure(24,
                                                                                                        "label_free")


rule channel_use:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        classes=f"{DATA}/classes.json",
    output:
        table=f"{METRICS}/channel_use.csv",
        figure=report(figure(23, "channel_use"), caption="../report/channel_use.rst", category="2 Model"),
    log:
        f"{LOGS}/channel_use.log",
    benchmark:
        f"{BENCH}/channel_use.tsv"
    params:
        network=NETWORK,
        channels=CHANNEL_DISPLAY,
        evaluated="all" if EVALUATE_ALL else "test",
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("channel_use"),
        runtime=RES.runtime("channel_use"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/channel_use.py"


if LABEL_FREE:

    # rule train's script on the label-free channels (read through a view of the image set)
    use rule train as label_free_train with:
        output:
            weights=f"{LABEL_FREE_DIR}/model/weights.pt",
            history=f"{LABEL_FREE_DIR}/model/history.csv",
            predictions=f"{LABEL_FREE_DIR}/model/predictions.csv",
            metrics=f"{LABEL_FREE_DIR}/model/metrics.json",
        log:
            f"{LOGS}/label_free/train.log",
        benchmark:
            f"{BENCH}/label_free/train.tsv"
        params:
            checkpoint=f"{LABEL_FREE_DIR}/model/checkpoint.pt",
            network=NETWORK,
            training=canonical(config["training"]),
            seed=config["seed"],
            channels=LABEL_FREE_CHANNELS,
        # on one CPU beside the classifier's dumps, after the classifier: below the MDA stage's
        # jobs (50), so the two of them together (90) never outrank the classifier's training (100)
        # in Snakemake's scheduler, which maximises the summed priority of the jobs it starts
        priority: 40
        threads: cpus(1)

    # the classifier's selected cells through the label-free network, reduced as its own dumps
    use rule dump_layers as label_free_layers with:
        input:
            weights=f"{LABEL_FREE_DIR}/model/weights.pt",
            images=f"{DATA}/images.npy",
            selection=f"{ACT}/selection.csv",
        output:
            **one_pass_outputs(f"{LABEL_FREE_DIR}/activations", LAYERS, temporary=True),
        log:
            f"{LOGS}/label_free/activations.log",
        benchmark:
            f"{BENCH}/label_free/activations.tsv"
        params:
            network=NETWORK,
            settings=DUMP_SETTINGS,
            seed=config["seed"],
            channels=LABEL_FREE_CHANNELS,
        priority: 0

    rule label_free_separation:
        input:
            reduced=expand(f"{LABEL_FREE_DIR}/activations/{{layer}}/reduced.npy", layer=LAYERS),
            selection=f"{ACT}/selection.csv",
            separation=expand(f"{METRICS}/{{layer}}/separation.csv", layer=LAYERS),
            metrics=f"{MODEL}/metrics.json",
            label_free_metrics=f"{LABEL_FREE_DIR}/model/metrics.json",
        output:
            accuracy=f"{METRICS}/label_free.csv",
            separation=f"{METRICS}/label_free_separation.csv",
            figure=report(figure(24, "label_free"), caption="../report/label_free.rst", category="2 Model"),
        log:
            f"{LOGS}/label_free/separation.log",
        benchmark:
            f"{BENCH}/label_free/separation.tsv"
        params:
            layers=LAYERS,
            channels=[c["name"] for c in CHANNELS],
            label_free_channels=[CHANNELS[k]["name"] for k in LABEL_FREE_CHANNELS],
            seed=config["seed"],
        threads: cpus(1)
        resources:
            mem_mb=RES.mem_mb("label_free_separation"),
            runtime=RES.runtime("label_free_separation"),
        conda:
            "../envs/cellscape.yaml"
        script:
            "../scripts/label_free_separation.py"
