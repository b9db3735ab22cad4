# Stage 9, similarity: does the layer story replicate (every run). Linear CKA between every pair
# of layers of the classifier, its copies trained from other seeds (similarity.replicates), the
# label-free network (channel_use.label_free) and the regression network (mda.enabled), on the
# same cells. Exports SIMILARITY_TARGETS.

SIMILARITY = config["similarity"]
REPLICATE_DIR = f"{RESULTS}/replicates"
#: the classifier's copies, by name: seed<s> trained with seed s (the run's seed + 1, + 2, ...)
REPLICATES = [f"seed{config['seed'] + k}" for k in range(1, SIMILARITY["replicates"] + 1)]
if REPLICATES and EXTERNAL_MODEL:
    raise WorkflowError(f"config similarity.replicates: {SIMILARITY['replicates']}, but the classifier was trained "
                        "elsewhere (model.source): its training cannot be repeated from another seed; set it to 0")

#: the networks compared, their layers and where their dumps are: the classifier first
SIMILARITY_NETWORKS = {"classifier": (LAYERS, ACT, f"{ACT}/selection.csv")}
for replicate in REPLICATES:
    SIMILARITY_NETWORKS[replicate] = (LAYERS, f"{REPLICATE_DIR}/{replicate}/activations", f"{ACT}/selection.csv")
if LABEL_FREE:
    SIMILARITY_NETWORKS["label_free"] = (LAYERS, f"{LABEL_FREE_DIR}/activations", f"{ACT}/selection.csv")
if config["mda"]["enabled"]:
    SIMILARITY_NETWORKS["regression"] = (MDA_LAYERS, f"{MDA_DIR}/activations",
                                         f"{MDA_DIR}/activations/selection.csv")

#: features per cell of every compared layer (what the CKA job reads)
SIMILARITY_SIZES = ([LAYER_SHAPE[layer].size for network in SIMILARITY_NETWORKS if network != "regression"
                     for layer in LAYERS]
                    + [s.size for s in PROJECT_SHAPES if s.name in MDA_LAYERS and "regression" in SIMILARITY_NETWORKS])

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
        mem_mb=RES.mem_mb_cka(len(SIMILARITY_SIZES)),
        runtime=RES.runtime("cka", value=RES.similarity_values(SIMILARITY_SIZES)),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/cka.py"
