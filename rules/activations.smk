# Stage 3, activations: per-layer dumps of the selected images, with a streamed reduction.
# With activations.jobs: one_pass (the default) one job dumps every layer from one forward pass
# (dump_layers); dump_activations makes one layer's files alone, with the same params and inputs,
# so Snakemake takes either's files as the other's: `make layer` (tools/rebuild_layer.py, which
# sets per_layer) rebuilds one layer's dump without touching the others.

#: what a dump's numbers depend on, besides the weights and the images
DUMP_SETTINGS = canonical({key: config["activations"][key] for key in ("reduction", "reduced_dim", "dtype", "batch_size")})


rule select_images:
    input:
        predictions=f"{MODEL}/predictions.csv",
    output:
        f"{ACT}/selection.csv",
    log:
        f"{LOGS}/select_images.log",
    benchmark:
        f"{BENCH}/select_images.tsv"
    params:
        split="all" if EVALUATE_ALL else config["activations"]["split"],  # data.split none: no cell was trained on
        max_cells=config["activations"]["max_cells"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("select_images"),
        runtime=RES.runtime("select_images"),
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
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb_dump,
        runtime=RES.runtime("dump_activations"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/dump_activations.py"


# the same script, params and inputs as dump_activations: only the layers a job covers differ
use rule dump_activations as dump_layers with:
    output:
        **one_pass_outputs(ACT, LAYERS),
    log:
        f"{LOGS}/activations/all_layers.log",
    benchmark:
        f"{BENCH}/activations/all_layers.tsv"
    resources:
        mem_mb=RES.mem_mb_dump_layers(LAYERS),
        runtime=RES.runtime("dump_layers"),
        gpu=gpu_count,


if config["activations"]["jobs"] == "one_pass":

    ruleorder: dump_layers > dump_activations
else:

    ruleorder: dump_activations > dump_layers
