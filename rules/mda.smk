# Stage 7, mda: the same network trained on a regression task (the nucleus-to-cell area ratio
# measured on the images), its feature space embedded layer by layer with MDA, UMAP, t-SNE and
# PCA and scored, and MDA maps of the classifier's layers beside its UMAP maps.
# Switched on and off with config mda.enabled; exports MDA_TARGETS for all_targets().
# The regression network is always the project's own (model.conv_stages...): it is trained here,
# on a target, even when the classifier was trained elsewhere (model.source).

MDA_METHODS = config["mda"]["methods"]
#: the regression net's layers, those drawn, the classifier's of Fig. 22 (cellscape.plan.mda)
MDA_LAYERS = PLAN.mda.layers
MDA_FIGURE_LAYERS = PLAN.mda.figure_layers
MDA_CLASSIFIER_LAYERS = PLAN.mda.classifier_layers
MDA_TRAINING = canonical({**config["training"], **config["mda"]["training"]})
MDA_NETWORK = canonical({**PROJECT_NETWORK, "n_outputs": 1})
#: which channels outline the cell and which are the nucleus and cytoplasm (the built-in targets measure them)
MDA_CHANNEL_ROLES = PLAN.mda.channel_roles
#: what the regression network learns (mda.target, resolved)
MDA_TARGET = PLAN.mda.target
#: a user's target file (mda.target: path/to/values.csv) is an input: editing it reruns the stage
MDA_USER_TARGET = {"user_target": MDA_TARGET} if MDA_TARGET.endswith(".csv") else {}

MDA_TARGETS = []
if config["mda"]["enabled"]:
    MDA_TARGETS = (figure(20, "mda_regression") + figure(20, "mda_regression_error")
                   + figure(21, "mda_scores") + figure(22, "mda_classifier")
                   + [f"{MDA_DIR}/metrics.csv", f"{MDA_DIR}/test_error.json"])


# What guides MDA on the classifier's layers: its predicted class (the authors' MDA), the true
# class, or its softmax probabilities.
MDA_CLASSIFIER_GUIDE = {"predicted": ["predicted"], "label": ["class"],
                        "probabilities": [f"p_{c}" for c in config["classes"]]}[config["mda"]["classifier_target"]]
# The classifier's MDA maps: the embeddings stage's own when it makes them with the same guide
# (it guides MDA by the softmax probabilities), else this stage's.
if "mda" in config["embeddings"]["methods"] and config["mda"]["classifier_target"] == "probabilities":
    MDA_CLASSIFIER_MAPS = expand(f"{EMB}/{{layer}}/mda.csv", layer=MDA_CLASSIFIER_LAYERS)
else:
    MDA_CLASSIFIER_MAPS = expand(f"{MDA_DIR}/classifier/{{layer}}/mda.csv", layer=MDA_CLASSIFIER_LAYERS)


rule mda_targets:
    input:
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        **MDA_USER_TARGET,
    output:
        f"{MDA_DIR}/targets.csv",
    log:
        f"{LOGS}/mda/targets.log",
    benchmark:
        f"{BENCH}/mda/targets.tsv"
    params:
        target=MDA_TARGET,
        min_object_px=config["qc"]["min_object_px"],
        roles=MDA_CHANNEL_ROLES,
    priority: 50
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("mda_targets"),
        runtime=RES.runtime("mda_targets"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/mda_targets.py"


rule mda_train:
    input:
        images=f"{DATA}/images.npy",
        targets=f"{MDA_DIR}/targets.csv",
    output:
        weights=f"{MDA_DIR}/model/weights.pt",
        history=f"{MDA_DIR}/model/history.csv",
        scaling=f"{MDA_DIR}/model/target_scaling.json",
        predictions=f"{MDA_DIR}/predictions.csv",
        test_error=f"{MDA_DIR}/test_error.json",
    log:
        f"{LOGS}/mda/train.log",
    benchmark:
        f"{BENCH}/mda/train.tsv"
    params:
        checkpoint=f"{MDA_DIR}/model/checkpoint.pt",
        network=MDA_NETWORK,
        training=MDA_TRAINING,
        seed=config["seed"],
    # after the classifier's training, on one CPU beside the classifier's dumps and embeddings:
    # the head of the MDA stage's chain, so before them (a job asking for more CPUs would wait
    # until that many are free at once, which among dozens of one-CPU jobs is the end of the run)
    priority: 50
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb_train,
        runtime=RES.runtime_training("mda_train", config["mda"]["training"]["epochs"]),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/mda_train.py"


use rule select_images as mda_selection with:
    input:
        predictions=f"{MDA_DIR}/predictions.csv",
    output:
        f"{MDA_DIR}/activations/selection.csv",
    log:
        f"{LOGS}/mda/selection.log",
    benchmark:
        f"{BENCH}/mda/selection.tsv"
    params:
        split=config["mda"]["split"],
        max_cells=config["activations"]["max_cells"],
        seed=config["seed"],


use rule dump_activations as mda_activations with:
    input:
        weights=f"{MDA_DIR}/model/weights.pt",
        images=f"{DATA}/images.npy",
        selection=f"{MDA_DIR}/activations/selection.csv",
    output:
        # kept: the CKA stage compares them with the classifier's layers, and a temporary file would
        # be dumped again (and every MDA map after it) whenever one classifier layer is rebuilt
        features=f"{MDA_DIR}/activations/{{layer}}/features.npy",
        reduced=f"{MDA_DIR}/activations/{{layer}}/reduced.npy",
    log:
        f"{LOGS}/mda/activations/{{layer}}.log",
    benchmark:
        f"{BENCH}/mda/activations/{{layer}}.tsv"
    params:
        network=MDA_NETWORK,
        settings=DUMP_SETTINGS,
        seed=config["seed"],
    priority: 0
    resources:
        mem_mb=RES_PROJECT.mem_mb_dump,
        runtime=RES_PROJECT.runtime("mda_activations"),
        gpu=gpu_count,


use rule mda_activations as mda_layers with:
    output:
        **one_pass_outputs(f"{MDA_DIR}/activations", MDA_LAYERS),  # kept: see mda_activations
    log:
        f"{LOGS}/mda/activations/all_layers.log",
    benchmark:
        f"{BENCH}/mda/activations/all_layers.tsv"
    resources:
        mem_mb=RES_PROJECT.mem_mb_dump_layers(MDA_LAYERS),
        runtime=RES_PROJECT.runtime("mda_layers"),
        gpu=gpu_count,


if config["activations"]["jobs"] == "one_pass":

    ruleorder: mda_layers > mda_activations
else:

    ruleorder: mda_activations > mda_layers


rule mda_embed:
    input:
        reduced=f"{MDA_DIR}/activations/{{layer}}/reduced.npy",
        selection=f"{MDA_DIR}/activations/selection.csv",
    output:
        **method_outputs(f"{MDA_DIR}/embeddings/{{layer}}", MDA_METHODS, embedding="{method}.csv",
                         scores="{method}_scores.json"),
    log:
        f"{LOGS}/mda/embeddings/{{layer}}.log",
    benchmark:
        f"{BENCH}/mda/embeddings/{{layer}}.tsv"
    params:
        settings=embedding_params(MDA_METHODS),
        guide_columns=[config["mda"]["guide"]],
        fallback_guide_columns=[],
        score_column="target",
        keep_columns=["id", "split", "class", "target", "predicted", "error"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("mda_embed"),
        runtime=RES.runtime("mda_embed"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/mda_embed.py"


use rule mda_embed as mda_classifier with:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
    output:
        **method_outputs(f"{MDA_DIR}/classifier/{{layer}}", ["mda"], embedding="{method}.csv",
                         scores="{method}_scores.json"),
    log:
        f"{LOGS}/mda/classifier/{{layer}}.log",
    benchmark:
        f"{BENCH}/mda/classifier/{{layer}}.tsv"
    params:
        settings=embedding_params(["mda"]),
        guide_columns=MDA_CLASSIFIER_GUIDE,
        # a network that predicts one class for every shown cell: its probabilities guide instead
        fallback_guide_columns=[f"p_{c}" for c in config["classes"]],
        score_column="label",
        keep_columns=["id", "class", "label", "predicted", "certainty"],
    resources:
        mem_mb=RES.mem_mb("mda_classifier"),
        runtime=RES.runtime("mda_classifier"),


rule mda_metrics:
    input:
        expand(f"{MDA_DIR}/embeddings/{{layer}}/{{method}}_scores.json", layer=MDA_LAYERS, method=MDA_METHODS),
    output:
        f"{MDA_DIR}/metrics.csv",
    log:
        f"{LOGS}/mda/metrics.log",
    benchmark:
        f"{BENCH}/mda/metrics.tsv"
    params:
        layer_methods=[(layer, method) for layer in MDA_LAYERS for method in MDA_METHODS],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("mda_metrics"),
        runtime=RES.runtime("mda_metrics"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/mda_metrics.py"


rule fig20_21_mda:
    input:
        embeddings=expand(f"{MDA_DIR}/embeddings/{{layer}}/{{method}}.csv", layer=MDA_FIGURE_LAYERS,
                          method=MDA_METHODS),
        metrics=f"{MDA_DIR}/metrics.csv",
        test_error=f"{MDA_DIR}/test_error.json",
    output:
        target=report(figure(20, "mda_regression"), caption="../report/mda_regression.rst", category="3 MDA"),
        error=report(figure(20, "mda_regression_error"), caption="../report/mda_regression_error.rst",
                     category="3 MDA"),
        scores=report(figure(21, "mda_scores"), caption="../report/mda_scores.rst", category="3 MDA"),
    log:
        f"{LOGS}/figures/fig20_21_mda.log",
    benchmark:
        f"{BENCH}/figures/fig20_21_mda.tsv"
    params:
        layers=MDA_FIGURE_LAYERS,
        all_layers=MDA_LAYERS,
        methods=MDA_METHODS,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig20_21_mda"),
        runtime=RES.runtime("fig20_21_mda"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig20_21_mda.py"


rule fig22_mda_classifier:
    input:
        mda=MDA_CLASSIFIER_MAPS,
        umap=expand(f"{EMB}/{{layer}}/umap.csv", layer=MDA_CLASSIFIER_LAYERS),
        classes=f"{DATA}/classes.json",
    output:
        report(figure(22, "mda_classifier"), caption="../report/mda_classifier.rst", category="3 MDA"),
    log:
        f"{LOGS}/figures/fig22_mda_classifier.log",
    benchmark:
        f"{BENCH}/figures/fig22_mda_classifier.tsv"
    params:
        layers=MDA_CLASSIFIER_LAYERS,
        classifier_target=config["mda"]["classifier_target"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig22_mda_classifier"),
        runtime=RES.runtime("fig22_mda_classifier"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig22_mda_classifier.py"
