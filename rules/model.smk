# Stage 2: train the classifier, evaluate it, and draw the model figures (paper Figs. 1, 3-6).

MODEL = f"{RESULTS}/model"
MODEL_TARGETS = (figure(1, "architecture") + figure(3, "confusion") + figure(3, "training_curves")
                 + figure(4, "kernels") + figure(5, "conv2_activations") + figure(6, "combined_activations"))


rule train:
    input:
        images=f"{RESULTS}/data/images.npy",
        index=f"{RESULTS}/data/index.csv",
        classes=f"{RESULTS}/data/classes.json",
    output:
        weights=f"{MODEL}/weights.pt",
        history=f"{MODEL}/history.csv",
        predictions=f"{MODEL}/predictions.csv",
        metrics=f"{MODEL}/metrics.json",
    log:
        f"{LOGS}/train.log",
    benchmark:
        f"{BENCH}/train.tsv"
    params:
        checkpoint=f"{MODEL}/checkpoint.pt",
    # the classifier feeds almost every job: first; half the cores when the regression network
    # (MDA stage) trains beside it, so both start at once instead of one after the other
    priority: 100
    threads: 4 if config["mda"]["enabled"] else 8
    resources:
        mem_mb=mem_mb_images,
        runtime=runtime_train,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/train.py"


rule model_figures:
    input:
        weights=f"{MODEL}/weights.pt",
        history=f"{MODEL}/history.csv",
        metrics=f"{MODEL}/metrics.json",
        predictions=f"{MODEL}/predictions.csv",
        images=f"{RESULTS}/data/images.npy",
    output:
        fig01=report(figure(1, "architecture"), caption="../report/fig01.rst", category="2 Model"),
        fig03=report(figure(3, "confusion"), caption="../report/fig03.rst", category="2 Model"),
        curves=report(figure(3, "training_curves"), caption="../report/fig03_curves.rst", category="2 Model"),
        fig04=report(figure(4, "kernels"), caption="../report/fig04.rst", category="2 Model"),
        fig05=report(figure(5, "conv2_activations"), caption="../report/fig05.rst", category="2 Model"),
        fig06=report(figure(6, "combined_activations"), caption="../report/fig06.rst", category="2 Model"),
    log:
        f"{LOGS}/figures/model.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/model_figures.py"
