# Stage 4, embeddings: 2-D maps per {layer} (every method), grid mapping, separation metrics, clusters.

FIGURE_LAYER = configured_layer(config["embeddings"]["figure_layer"], "embeddings.figure_layer")
EMBEDDING_TARGETS = (
    [f"{METRICS}/separation.csv", f"{FIGURES}/fig07_tsne_snapshots_{FIGURE_LAYER}.gif"]
    + figure(12, "umap_layers") + figure(12, "separation")
    + [path for n, slug in ((7, "tsne_snapshots"), (8, "tsne_certainty"), (9, "umap_cells"), (10, "grid_stages"),
                            (11, "grid_boundary")) for path in figure(n, f"{slug}_{FIGURE_LAYER}")]
    + expand(f"{EMB}/{{layer}}/{{method}}.csv", layer=LAYERS, method=config["embeddings"]["methods"]))


# one job per layer makes every method's map (a job's start costs about as much as a small map)
rule embed:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
    output:
        **method_outputs(f"{EMB}/{{layer}}", config["embeddings"]["methods"], embedding="{method}.csv",
                         grid="{method}_grid.csv"),
        fitted=f"{EMB}/{{layer}}/fitted.json",
    log:
        f"{LOGS}/embeddings/{{layer}}.log",
    benchmark:
        f"{BENCH}/embeddings/{{layer}}.tsv"
    params:
        settings=embedding_params(config["embeddings"]["methods"]),
    priority: 20
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("embed"),
        runtime=RES.runtime("embed"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/embed.py"


# each shown cell's nearest neighbours in the layer's reduced features (the explorer)
rule neighbours:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
    output:
        f"{EMB}/{{layer}}/neighbours.npy",
    log:
        f"{LOGS}/neighbours/{{layer}}.log",
    benchmark:
        f"{BENCH}/neighbours/{{layer}}.tsv"
    params:
        k=config["explorer"]["neighbours"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("neighbours"),
        runtime=RES.runtime("neighbours"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/neighbours.py"


rule layer_metrics:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
        embeddings=layer_embeddings,
    output:
        separation=f"{METRICS}/{{layer}}/separation.csv",
        clusters=f"{EMB}/{{layer}}/clusters.csv",
    log:
        f"{LOGS}/metrics/{{layer}}.log",
    benchmark:
        f"{BENCH}/metrics/{{layer}}.tsv"
    params:
        methods=config["embeddings"]["methods"],
        eps=config["embeddings"]["dbscan_eps"],
        min_samples=config["embeddings"]["dbscan_min_samples"],
        seed=config["seed"],
    priority: 20
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("layer_metrics"),
        runtime=RES.runtime("layer_metrics"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/layer_metrics.py"


rule fig07_11_embedding:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
        tsne=f"{EMB}/{{layer}}/tsne.csv",
        tsne_grid=f"{EMB}/{{layer}}/tsne_grid.csv",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
    output:
        fig07=report(figure(7, "tsne_snapshots_{layer}"), caption="../report/fig07.rst", category="3 Embeddings"),
        gif=f"{FIGURES}/fig07_tsne_snapshots_{{layer}}.gif",
        fig08=report(figure(8, "tsne_certainty_{layer}"), caption="../report/fig08.rst", category="3 Embeddings"),
        fig09=report(figure(9, "umap_cells_{layer}"), caption="../report/fig09.rst", category="3 Embeddings"),
        fig10=report(figure(10, "grid_stages_{layer}"), caption="../report/fig10.rst", category="3 Embeddings"),
        fig11=report(figure(11, "grid_boundary_{layer}"), caption="../report/fig11.rst", category="3 Embeddings"),
    log:
        f"{LOGS}/figures/embedding_{{layer}}.log",
    benchmark:
        f"{BENCH}/figures/embedding_{{layer}}.tsv"
    params:
        classes=config["classes"],
        seed=config["seed"],
        perplexity=config["embeddings"]["tsne"]["perplexity"],
        fig09=canonical({"umap": config["embeddings"]["umap"], "per_class": config["embeddings"]["fig09_per_class"],
                         "min_dist": config["embeddings"]["fig09_min_dist"]}),
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig07_11_embedding"),
        runtime=RES.runtime("fig07_11_embedding"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig07_11_embedding.py"


rule fig12_umap_layers:
    input:
        expand(f"{EMB}/{{layer}}/umap.csv", layer=LAYERS),
    output:
        report(figure(12, "umap_layers"), caption="../report/fig12.rst", category="3 Embeddings"),
    log:
        f"{LOGS}/figures/fig12.log",
    benchmark:
        f"{BENCH}/figures/fig12.tsv"
    params:
        layers=LAYERS,
        classes=config["classes"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig12_umap_layers"),
        runtime=RES.runtime("fig12_umap_layers"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig12_umap_layers.py"


rule fig12_separation:
    input:
        expand(f"{METRICS}/{{layer}}/separation.csv", layer=LAYERS),
    output:
        table=f"{METRICS}/separation.csv",
        figure=report(figure(12, "separation"), caption="../report/separation.rst", category="3 Embeddings"),
    log:
        f"{LOGS}/metrics/separation.log",
    benchmark:
        f"{BENCH}/metrics/separation.tsv"
    params:
        layers=LAYERS,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig12_separation"),
        runtime=RES.runtime("fig12_separation"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig12_separation.py"
