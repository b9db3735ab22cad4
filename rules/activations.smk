# Stage 3, activations: per-layer dumps of the selected images, with a streamed reduction.

#: what a dump's numbers depend on, besides the weights and the images
DUMP_SETTINGS = canonical({key: config["activations"][key] for key in ("reduction", "reduced_dim", "dtype", "batch_size")})


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
        images=f"{DATA}/images.npy",
        selection=f"{ACT}/selection.csv",
    output:
        features=f"{ACT}/{{layer}}/features.npy",
        reduced=f"{ACT}/{{layer}}/reduced.npy",
    log:
        f"{LOGS}/activations/{{layer}}.log",
    benchmark:
        f"{BENCH}/activations/{{layer}}.tsv"
    params:
        network=NETWORK,
        settings=DUMP_SETTINGS,
        seed=config["seed"],
    # dumps -> embeddings -> metrics -> Fig. 18 is the longest chain after training; the
    # feature-visualisation chunks, independent of it, fill the cores around it
    priority: 20
    threads: 2
    resources:
        mem_mb=RES.mem_mb_dump,
        runtime=RES.runtime_dump,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/dump_activations.py"
