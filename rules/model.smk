# Stage 2, model: train the classifier, evaluate it, and draw the model figures (paper Figs. 1, 3-6).
# A network trained elsewhere (model.source) is not trained: rule evaluate takes train's place,
# writes the same files (its weights.pt: a copy of the model file) and every later rule runs as it is.

MODEL_TARGETS = (figure(1, "architecture") + figure(3, "confusion") + figure(3, "training_curves")
                 + figure(4, "kernels") + figure(5, "conv2_activations") + figure(6, "combined_activations"))


if not EXTERNAL_MODEL:

    rule train:
        input:
            images=f"{DATA}/images.npy",
            index=f"{DATA}/index.csv",
            classes=f"{DATA}/classes.json",
            normalisation=f"{DATA}/normalisation.json",
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
            network=NETWORK,
            training=canonical(config["training"]),
            seed=config["seed"],
        # the classifier feeds almost every job and nothing else is ready while it trains but the
        # regression network (MDA stage), whose results only the last figures need: the whole
        # machine, so no core idles once the regression training ends (a cluster job gets the
        # profile's threads); the regression network trains afterwards, beside the dumps
        priority: 100
        threads: RUN_CORES or cpus(8)
        resources:
            mem_mb=RES.mem_mb_train,
            runtime=RES.runtime_training("train", config["training"]["epochs"]),
            gpu=gpu_count,
        conda:
            "../envs/cellscape.yaml"
        script:
            "../scripts/train.py"

else:

    # the network is given: its predictions and metrics on the test split (every cell with
    # data.split none), the model file copied beside them as the run's weights
    rule evaluate:
        input:
            model=config["model"]["file"],
            images=f"{DATA}/images.npy",
            index=f"{DATA}/index.csv",
            classes=f"{DATA}/classes.json",
            normalisation=f"{DATA}/normalisation.json",
        output:
            weights=f"{MODEL}/weights.pt",
            history=f"{MODEL}/history.csv",
            predictions=f"{MODEL}/predictions.csv",
            metrics=f"{MODEL}/metrics.json",
        log:
            f"{LOGS}/evaluate.log",
        benchmark:
            f"{BENCH}/evaluate.tsv"
        params:
            network=NETWORK,
            evaluated="all" if EVALUATE_ALL else "test",
        priority: 100
        threads: cpus(1)
        resources:
            mem_mb=RES.mem_mb("evaluate"),
            runtime=RES.runtime("evaluate"),
            gpu=gpu_count,
        conda:
            "../envs/cellscape.yaml"
        script:
            "../scripts/evaluate.py"


rule fig01_06_model:
    input:
        weights=f"{MODEL}/weights.pt",
        history=f"{MODEL}/history.csv",
        metrics=f"{MODEL}/metrics.json",
        predictions=f"{MODEL}/predictions.csv",
        images=f"{DATA}/images.npy",
    output:
        fig01=report(figure(1, "architecture"), caption="../report/fig01.rst", category="2 Model"),
        fig03=report(figure(3, "confusion"), caption="../report/fig03.rst", category="2 Model"),
        curves=report(figure(3, "training_curves"), caption="../report/fig03_curves.rst", category="2 Model"),
        fig04=report(figure(4, "kernels"), caption="../report/fig04.rst", category="2 Model"),
        fig05=report(figure(5, "conv2_activations"), caption="../report/fig05.rst", category="2 Model"),
        fig06=report(figure(6, "combined_activations"), caption="../report/fig06.rst", category="2 Model"),
    log:
        f"{LOGS}/figures/model.log",
    benchmark:
        f"{BENCH}/figures/model.tsv"
    params:
        network=NETWORK,
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig01_06_model"),
        runtime=RES.runtime("fig01_06_model"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig01_06_model.py"
