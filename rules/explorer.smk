# Stage 6: the interactive explorer (self-contained HTML: embeddings, IFeaLiD, feature images).

EXPLORER_TARGETS = [f"{RESULTS}/explorer/index.html"]


rule explorer:
    input:
        embeddings=expand(f"{RESULTS}/embeddings/{{layer}}/{{method}}.csv", layer=LAYERS,
                          method=EXPLORER_METHODS),
        grids=expand(f"{RESULTS}/embeddings/{{layer}}/{{method}}_grid.csv", layer=LAYERS,
                     method=EXPLORER_METHODS),
        featvis=expand(f"{RESULTS}/featvis/{{layer}}/features.npz", layer=CONV_LAYERS),
        predictions=f"{MODEL}/predictions.csv",
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        index=f"{RESULTS}/data/index.csv",
    output:
        page=f"{RESULTS}/explorer/index.html",
    log:
        f"{LOGS}/explorer.log",
    params:
        layers=LAYERS,
        conv_layers=CONV_LAYERS,
        methods=EXPLORER_METHODS,
        featuremap_cells=config["explorer"]["featuremap_cells"],
        top_cells=config["explorer"]["top_cells"],
    threads: 1
    resources:
        mem_mb=mem_mb_images,
        runtime=20,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/build_explorer.py"
