# Stage 8, explorer: the interactive page (self-contained HTML: embeddings, IFeaLiD, feature images).

EXPLORER_TARGETS = [f"{EXPLORER_DIR}/index.html"]


rule explorer:
    input:
        embeddings=expand(f"{EMB}/{{layer}}/{{method}}.csv", layer=LAYERS, method=EXPLORER_METHODS),
        grids=expand(f"{EMB}/{{layer}}/{{method}}_grid.csv", layer=LAYERS, method=EXPLORER_METHODS),
        featvis=expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS),
        predictions=f"{MODEL}/predictions.csv",
        selection=f"{ACT}/selection.csv",
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
    output:
        page=f"{EXPLORER_DIR}/index.html",
    log:
        f"{LOGS}/explorer.log",
    benchmark:
        f"{BENCH}/explorer.tsv"
    params:
        network=NETWORK,
        classes=config["classes"],
        layers=LAYERS,
        conv_layers=CONV_LAYERS,
        methods=EXPLORER_METHODS,
        featuremap_cells=config["explorer"]["featuremap_cells"],
        top_cells=config["explorer"]["top_cells"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("explorer"),
        runtime=RES.runtime("explorer"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/explorer.py"
