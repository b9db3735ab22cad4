# Stage 3: per-layer activation dumps of the selected images, with a streamed reduction.

ACT = f"{RESULTS}/activations"


rule select_images:
    input:
        predictions=f"{MODEL}/predictions.csv",
    output:
        f"{ACT}/selection.csv",
    log:
        f"{LOGS}/select_images.log",
    params:
        split=config["activations"]["split"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/select_images.py"


rule dump_activations:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        selection=f"{ACT}/selection.csv",
    output:
        features=f"{ACT}/{{layer}}/features.npy",
        reduced=f"{ACT}/{{layer}}/reduced.npy",
    log:
        f"{LOGS}/activations/{{layer}}.log",
    benchmark:
        f"{BENCH}/activations/{{layer}}.tsv"
    params:
        n_outputs=len(config["classes"]),
    # dumps -> embeddings -> metrics -> Fig. 18 is the longest chain after training; the
    # feature-visualisation chunks, independent of it, fill the cores around it
    priority: 20
    threads: 2
    resources:
        mem_mb=mem_mb_dump,
        runtime=runtime_dump,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/dump_activations.py"
