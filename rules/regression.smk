# Stage "MDA": the same network trained on a regression task (the nucleus-to-cell area ratio
# measured on the images), its feature space embedded layer by layer with MDA, UMAP, t-SNE and
# PCA and scored, and MDA maps of the classifier's layers beside its UMAP maps.
# Switched on and off with config mda.enabled; exports REGRESSION_TARGETS for all_targets().

REG = f"{RESULTS}/mda"
REG_METHODS = config["mda"]["methods"]
REG_FIGURE_LAYERS = config["mda"]["figure_layers"] or LAYERS
REG_TRAINING = {**config["training"], **config["mda"]["training"]}

if set(REG_FIGURE_LAYERS) - set(LAYERS):
    raise WorkflowError(f"config mda.figure_layers: {sorted(set(REG_FIGURE_LAYERS) - set(LAYERS))} "
                        f"are not layers of the network ({', '.join(LAYERS)})")

REGRESSION_TARGETS = []
if config["mda"]["enabled"]:
    REGRESSION_TARGETS = (figure(20, "mda_regression") + figure(20, "mda_regression_error")
                          + figure(21, "mda_scores") + figure(22, "mda_classifier")
                          + [f"{REG}/metrics.csv", f"{REG}/test_error.json"])


# What guides MDA on the classifier's layers: its class labels or its softmax probabilities.
REG_CLASSIFIER_GUIDE = ([f"p_{c}" for c in config["classes"]] if config["mda"]["classifier_target"] == "probabilities"
                        else ["class"])
# The classifier's MDA maps: the embeddings stage's own when it makes them with the same guide
# (it guides MDA by the softmax probabilities), else this stage's.
if "mda" in config["embeddings"]["methods"] and config["mda"]["classifier_target"] == "probabilities":
    REG_CLASSIFIER_MDA = expand(f"{RESULTS}/embeddings/{{layer}}/mda.csv", layer=REG_FIGURE_LAYERS)
else:
    REG_CLASSIFIER_MDA = expand(f"{REG}/classifier/{{layer}}/mda.csv", layer=REG_FIGURE_LAYERS)


rule measure_targets:
    input:
        images=f"{RESULTS}/data/images.npy",
        index=f"{RESULTS}/data/index.csv",
    output:
        f"{REG}/targets.csv",
    log:
        f"{LOGS}/mda/measure_targets.log",
    params:
        min_object_px=config["qc"]["min_object_px"],
    priority: 50
    threads: 1
    resources:
        mem_mb=mem_mb_images,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_targets.py"


rule train_regression:
    input:
        images=f"{RESULTS}/data/images.npy",
        targets=f"{REG}/targets.csv",
    output:
        weights=f"{REG}/model/weights.pt",
        history=f"{REG}/model/history.csv",
        scaling=f"{REG}/model/target_scaling.json",
        predictions=f"{REG}/predictions.csv",
        test_error=f"{REG}/test_error.json",
    log:
        f"{LOGS}/mda/train_regression.log",
    benchmark:
        f"{BENCH}/mda/train_regression.tsv"
    params:
        checkpoint=f"{REG}/model/checkpoint.pt",
        training=REG_TRAINING,
    # beside the classifier's training (4 threads each): a job asking for 8 threads waits until 8
    # cores are free at once, which among dozens of 1-2 thread jobs is the end of the run
    priority: 50
    threads: 4
    resources:
        mem_mb=mem_mb_images,
        runtime=runtime_train,  # sized for the classifier's (more) epochs
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_train.py"


rule regression_selection:
    input:
        predictions=f"{REG}/predictions.csv",
    output:
        f"{REG}/activations/selection.csv",
    log:
        f"{LOGS}/mda/selection.log",
    params:
        split=config["mda"]["split"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/select_images.py"


rule regression_activations:
    input:
        weights=f"{REG}/model/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        selection=f"{REG}/activations/selection.csv",
    output:
        features=temp(f"{REG}/activations/{{layer}}/features.npy"),
        reduced=f"{REG}/activations/{{layer}}/reduced.npy",
    log:
        f"{LOGS}/mda/activations/{{layer}}.log",
    benchmark:
        f"{BENCH}/mda/activations/{{layer}}.tsv"
    params:
        n_outputs=1,
    threads: 2
    resources:
        mem_mb=mem_mb_dump,
        runtime=runtime_dump,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/dump_activations.py"


rule regression_embedding:
    input:
        reduced=f"{REG}/activations/{{layer}}/reduced.npy",
        selection=f"{REG}/activations/selection.csv",
    output:
        embedding=f"{REG}/embeddings/{{layer}}/{{method}}.csv",
        scores=f"{REG}/embeddings/{{layer}}/{{method}}_scores.json",
    log:
        f"{LOGS}/mda/embeddings/{{layer}}/{{method}}.log",
    benchmark:
        f"{BENCH}/mda/embeddings/{{layer}}/{{method}}.tsv"
    wildcard_constraints:
        method="|".join(REG_METHODS),
    params:
        settings=embedding_params,
        guide_columns=[config["mda"]["guide"]],
        score_column="target",
        keep_columns=["id", "split", "class", "target", "predicted", "error"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_embedding.py"


rule regression_metrics:
    input:
        expand(f"{REG}/embeddings/{{layer}}/{{method}}_scores.json", layer=LAYERS, method=REG_METHODS),
    output:
        f"{REG}/metrics.csv",
    log:
        f"{LOGS}/mda/metrics.log",
    params:
        layer_methods=[(layer, method) for layer in LAYERS for method in REG_METHODS],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_metrics.py"


rule regression_figures:
    input:
        embeddings=expand(f"{REG}/embeddings/{{layer}}/{{method}}.csv", layer=REG_FIGURE_LAYERS,
                          method=REG_METHODS),
        metrics=f"{REG}/metrics.csv",
        test_error=f"{REG}/test_error.json",
    output:
        target=report(figure(20, "mda_regression"), caption="../report/mda_regression.rst", category="3 MDA"),
        error=report(figure(20, "mda_regression_error"), caption="../report/mda_regression_error.rst",
                     category="3 MDA"),
        scores=report(figure(21, "mda_scores"), caption="../report/mda_scores.rst", category="3 MDA"),
    log:
        f"{LOGS}/figures/mda_regression.log",
    params:
        layers=REG_FIGURE_LAYERS,
        all_layers=LAYERS,
        methods=REG_METHODS,
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_figures.py"


rule classifier_mda:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
    output:
        embedding=f"{REG}/classifier/{{layer}}/{{method}}.csv",
        scores=f"{REG}/classifier/{{layer}}/{{method}}_scores.json",
    log:
        f"{LOGS}/mda/classifier/{{layer}}_{{method}}.log",
    wildcard_constraints:
        method="mda",
    params:
        settings=embedding_params,
        guide_columns=REG_CLASSIFIER_GUIDE,
        score_column="label",
        keep_columns=["id", "class", "label", "predicted", "certainty"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_embedding.py"


rule mda_classifier_figure:
    input:
        mda=REG_CLASSIFIER_MDA,
        umap=expand(f"{RESULTS}/embeddings/{{layer}}/umap.csv", layer=REG_FIGURE_LAYERS),
        classes=f"{RESULTS}/data/classes.json",
    output:
        report(figure(22, "mda_classifier"), caption="../report/mda_classifier.rst", category="3 MDA"),
    log:
        f"{LOGS}/figures/mda_classifier.log",
    params:
        layers=REG_FIGURE_LAYERS,
        classifier_target=config["mda"]["classifier_target"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/regression_mda_classifier_figure.py"
