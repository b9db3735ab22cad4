# Stage 9, similarity: does the layer story replicate (every run). Linear CKA between every pair
# of layers of the classifier, its copies trained from other seeds (similarity.replicates), the
# label-free network (channel_use.label_free) and the regression network (mda.enabled), on the
# same cells. Exports SIMILARITY_TARGETS.

SIMILARITY = config["similarity"]
REPLICATE_DIR = PLAN.paths.replicates
#: where each compared network's dumps and selection table are (its layers: cellscape.plan.studies)
SIMILARITY_DUMPS = {"classifier": (ACT, f"{ACT}/selection.csv"),
                    "label_free": (f"{LABEL_FREE_DIR}/activations", f"{ACT}/selection.csv"),
                    "regression": (f"{MDA_DIR}/activations", f"{MDA_DIR}/activations/selection.csv")}
SIMILARITY_DUMPS.update({replicate: (f"{REPLICATE_DIR}/{replicate}/activations", f"{ACT}/selection.csv")
                         for replicate in PLAN.studies.replicates})
#: the networks compared, their layers and where their dumps are: the classifier first
SIMILARITY_NETWORKS = {network: (layers, *SIMILARITY_DUMPS[network])
                       for network, (layers, _) in PLAN.studies.similarity_networks.items()}

#: rule cka's named inputs: each network's selection table and its layers' dumps
SIMILARITY_INPUTS = {}
for network, (layers, directory, selection) in SIMILARITY_NETWORKS.items():
    SIMILARITY_INPUTS[f"selection_{network}"] = selection
    SIMILARITY_INPUTS[f"features_{network}"] = expand(f"{directory}/{{layer}}/features.npy", layer=layers)

SIMILARITY_TARGETS = [f"{METRICS}/cka.csv", f"{METRICS}/cka_matches.csv"] + figure(26, "cka")


wildcard_constraints:
    replicate=r"seed\d+",


# rule train's script from another seed: the same data, split and settings (a network trained
# elsewhere has no rule train: its copies are refused above)
if not EXTERNAL_MODEL:
    use rule train as replicate_train with:
        output:
            weights=f"{REPLICATE_DIR}/{{replicate}}/model/weights.pt",
            history=f"{REPLICATE_DIR}/{{replicate}}/model/history.csv",
            predictions=f"{REPLICATE_DIR}/{{replicate}}/model/predictions.csv",
            metrics=f"{REPLICATE_DIR}/{{replicate}}/model/metrics.json",
        log:
            f"{LOGS}/replicates/{{replicate}}/train.log",
        benchmark:
            f"{BENCH}/replicates/{{replicate}}/train.tsv"
        params:
            checkpoint=f"{REPLICATE_DIR}/{{replicate}}/model/checkpoint.pt",
            network=NETWORK,
            training=canonical(config["training"]),
            seed=replicate_seed,
        # beside the classifier's dumps, below the MDA stage (50) and the label-free network (40)
        priority: 30
        threads: cpus(1)


# the classifier's selected cells through the copy: the same cells in the same order as its dumps
use rule dump_layers as replicate_layers with:
    input:
        weights=f"{REPLICATE_DIR}/{{replicate}}/model/weights.pt",
        images=f"{DATA}/images.npy",
        selection=f"{ACT}/selection.csv",
    output:
        **one_pass_outputs(f"{REPLICATE_DIR}/{{replicate}}/activations", LAYERS, temporary=True),
    log:
        f"{LOGS}/replicates/{{replicate}}/activations.log",
    benchmark:
        f"{BENCH}/replicates/{{replicate}}/activations.tsv"
    params:
        network=NETWORK,
        settings=DUMP_SETTINGS,
        seed=config["seed"],
    priority: 0


rule cka:
    input:
        **SIMILARITY_INPUTS,
    output:
        table=f"{METRICS}/cka.csv",
        matches=f"{METRICS}/cka_matches.csv",
        figure=report(figure(26, "cka"), caption="../report/cka.rst", category="2 Model"),
    log:
        f"{LOGS}/similarity/cka.log",
    benchmark:
        f"{BENCH}/similarity/cka.tsv"
    params:
        networks={network: layers for network, (layers, _, _) in SIMILARITY_NETWORKS.items()},
        order=LAYERS,
        max_cells=SIMILARITY["max_cells"],
        estimator=SIMILARITY["estimator"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb_cka(sum(len(layers) for layers, _, _ in SIMILARITY_NETWORKS.values())),
        runtime=RES.runtime("cka"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/cka.py"
