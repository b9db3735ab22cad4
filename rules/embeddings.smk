# Stage 4: 2-D embeddings per {layer} and {method}, grid mapping, separation metrics, clusters.

EMB = f"{RESULTS}/embeddings"
EMBEDDING_TARGETS = [f"{RESULTS}/metrics/separation.csv"] + expand(
    f"{EMB}/{{layer}}/{{method}}.csv", layer=LAYERS, method=config["embeddings"]["methods"])


rule embed:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
    output:
        embedding=f"{EMB}/{{layer}}/{{method}}.csv",
        grid=f"{EMB}/{{layer}}/{{method}}_grid.csv",
    log:
        f"{LOGS}/embeddings/{{layer}}_{{method}}.log",
    benchmark:
        f"{BENCH}/embeddings/{{layer}}_{{method}}.tsv"
    params:
        settings=embedding_params,
    threads: 2
    resources:
        mem_mb=mem_mb_embed,
        runtime=runtime_embed,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/embed.py"


rule layer_metrics:
    input:
        reduced=f"{ACT}/{{layer}}/reduced.npy",
        selection=f"{ACT}/selection.csv",
        embeddings=layer_embeddings,
    output:
        separation=f"{RESULTS}/metrics/{{layer}}/separation.csv",
        clusters=f"{EMB}/{{layer}}/clusters.csv",
    log:
        f"{LOGS}/metrics/{{layer}}.log",
    params:
        methods=config["embeddings"]["methods"],
        eps=config["embeddings"]["dbscan_eps"],
        min_samples=config["embeddings"]["dbscan_min_samples"],
    threads: 1
    resources:
        mem_mb=mem_mb_embed,
        runtime=runtime_embed,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/layer_metrics.py"


rule separation_table:
    input:
        expand(f"{RESULTS}/metrics/{{layer}}/separation.csv", layer=LAYERS),
    output:
        table=f"{RESULTS}/metrics/separation.csv",
        figure=report(figure(12, "separation"), caption="../report/separation.rst", category="3 Embeddings"),
    log:
        f"{LOGS}/metrics/separation.log",
    params:
        layers=LAYERS,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/separation_table.py"
