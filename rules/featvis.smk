# Stage 5: feature visualisation (paper Figs. 13-18) and pixel attribution (Fig. 19).
# Channels are ordered once from the trained model (diverse, live channels first); render jobs
# per {layer} and {chunk} draw fixed slots of that order, so the job list is known up front.
from cellscape.featvis_jobs import chunk_ids, chunk_slots, figure_layers, forward_flops, render_counts

FV = f"{RESULTS}/featvis"
FV_CFG = config["featvis"]
FV_LAYERS = figure_layers(FV_CFG, CONV_LAYERS)
# Fig. 18 draws the clusters on the embedding they were found in (as the layer_metrics rule)
CLUSTER_BASIS = "umap" if "umap" in config["embeddings"]["methods"] else config["embeddings"]["methods"][0]
FV_COUNTS = render_counts(FV_CFG, {name: LAYER_SHAPE[name].channels for name in CONV_LAYERS})
FEATVIS_TARGETS = (figure(13, "feature_evolution") + figure(14, "feature_layers") + figure(15, "feature_grid")
                   + figure(16, "neuron_examples") + figure(17, "neuron_groups") + figure(18, "cluster_features")
                   + figure(19, "attribution") + figure(19, "attribution_sanity"))
if FV_CFG["channels"] == "all":
    FEATVIS_TARGETS += expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS)


def featvis_chunks(wildcards):
    """Every chunk file of one layer."""
    n = FV_COUNTS[wildcards.layer]
    return expand(f"{FV}/{wildcards.layer}/chunk{{chunk}}.npz", chunk=chunk_ids(n, FV_CFG["chunk_size"]))


def featvis_slots(wildcards):
    """(start, stop) positions of the layer's channel order that one chunk renders."""
    return chunk_slots(wildcards.chunk, FV_CFG["chunk_size"], FV_COUNTS[wildcards.layer])


def render_minutes(layer, images, steps):
    """Minutes for ``images`` feature images of ``layer``: a step is ~3 forward passes, at a
    conservative 5 GFLOP/s (one CPU core), plus start-up."""
    seconds = images * steps * 3 * forward_flops(SHAPES, layer) / 5e9
    return 5 + seconds / 60


def runtime_featvis_chunk(wildcards, attempt):
    start, stop = featvis_slots(wildcards)
    return int(render_minutes(wildcards.layer, stop - start, FV_CFG["steps"]) * attempt)


def runtime_featvis_evolution(wildcards, attempt):
    steps = max(FV_CFG["evolution_steps"])
    return int(render_minutes(wildcards.layer, FV_CFG["evolution_channels"], steps) * attempt)


def runtime_featvis_directions(wildcards, attempt):
    n = FV_CFG["nmf_groups"] + FV_CFG["max_clusters"]
    return int(render_minutes(wildcards.layer, n, FV_CFG["steps"]) * attempt)


def mem_mb_featvis(wildcards, attempt):
    """The image set is memory-mapped; a render holds a batch of every layer's activations
    up to the target layer, with gradients (about 4 copies)."""
    upto = CONV_LAYERS[: CONV_LAYERS.index(wildcards.layer) + 1]
    batch = max(FV_CFG["chunk_size"], FV_CFG["nmf_groups"], FV_CFG["max_clusters"])
    per_image = sum(LAYER_SHAPE[name].size for name in upto) * 4 * 4
    return int(1500 + batch * per_image / 2**20) * attempt


def featvis_layer_features(wildcards):
    return expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS)


rule featvis_channel_order:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        order=f"{FV}/channel_order.csv",
        profiles=f"{FV}/channel_profiles.npz",
    log:
        f"{LOGS}/featvis/channel_order.log",
    params:
        layers=CONV_LAYERS,
    threads: 2
    resources:
        mem_mb=mem_mb_images,
        runtime=15,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_channel_order.py"


rule featvis_chunk:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        order=f"{FV}/channel_order.csv",
    output:
        f"{FV}/{{layer}}/chunk{{chunk}}.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_chunk{{chunk}}.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_chunk{{chunk}}.tsv"
    params:
        slots=featvis_slots,
    threads: 1
    resources:
        mem_mb=mem_mb_featvis,
        runtime=runtime_featvis_chunk,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_chunk.py"


rule featvis_merge:
    input:
        featvis_chunks,
    output:
        features=f"{FV}/{{layer}}/features.npz",
        feedback=f"{FV}/{{layer}}/feedback.csv",
    log:
        f"{LOGS}/featvis/{{layer}}_merge.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_merge.py"


rule featvis_evolution:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        order=f"{FV}/channel_order.csv",
    output:
        f"{FV}/{{layer}}/evolution.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_evolution.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_evolution.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb_featvis,
        runtime=runtime_featvis_evolution,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_evolution.py"


rule featvis_nmf:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        f"{FV}/{{layer}}/nmf_groups.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_nmf.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_nmf.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb_featvis,
        runtime=runtime_featvis_directions,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_nmf.py"


rule featvis_clusters:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        features=f"{ACT}/{{layer}}/features.npy",
        selection=f"{ACT}/selection.csv",
        clusters=f"{RESULTS}/embeddings/{{layer}}/clusters.csv",
    output:
        f"{FV}/{{layer}}/clusters.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_clusters.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_clusters.tsv"
    threads: 1
    resources:
        mem_mb=mem_mb_featvis,
        runtime=runtime_featvis_directions,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_clusters.py"


rule featvis_fig13:
    input:
        f"{FV}/{FV_LAYERS['evolution']}/evolution.npz",
    output:
        report(figure(13, "feature_evolution"), caption="../report/fig13.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig13.log",
    params:
        layer=FV_LAYERS["evolution"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig13.py"


rule featvis_fig14:
    input:
        features=featvis_layer_features,
        order=f"{FV}/channel_order.csv",
    output:
        report(figure(14, "feature_layers"), caption="../report/fig14.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig14.log",
    params:
        layers=CONV_LAYERS,
    threads: 1
    resources:
        mem_mb=1500,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig14.py"


rule featvis_fig15:
    input:
        weights=f"{MODEL}/weights.pt",
        features=f"{FV}/{FV_LAYERS['grid']}/features.npz",
    output:
        grid=f"{FV}/{FV_LAYERS['grid']}/feature_grid.csv",
        figure=report(figure(15, "feature_grid"), caption="../report/fig15.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig15.log",
    params:
        layer=FV_LAYERS["grid"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig15.py"


rule featvis_fig16:
    input:
        weights=f"{MODEL}/weights.pt",
        features=f"{FV}/{FV_LAYERS['neurons']}/features.npz",
        profiles=f"{FV}/channel_profiles.npz",
        images=f"{RESULTS}/data/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        report(figure(16, "neuron_examples"), caption="../report/fig16.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig16.log",
    params:
        layer=FV_LAYERS["neurons"],
    threads: 1
    resources:
        mem_mb=mem_mb_images,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig16.py"


rule featvis_fig17:
    input:
        f"{FV}/{FV_LAYERS['nmf']}/nmf_groups.npz",
    output:
        report(figure(17, "neuron_groups"), caption="../report/fig17.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig17.log",
    params:
        layer=FV_LAYERS["nmf"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig17.py"


rule featvis_fig18:
    input:
        clusters=expand(f"{FV}/{{layer}}/clusters.npz", layer=FV_LAYERS["clusters"]),
        embeddings=expand(f"{RESULTS}/embeddings/{{layer}}/{CLUSTER_BASIS}.csv", layer=FV_LAYERS["clusters"]),
        labels=expand(f"{RESULTS}/embeddings/{{layer}}/clusters.csv", layer=FV_LAYERS["clusters"]),
    output:
        report(figure(18, "cluster_features"), caption="../report/fig18.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig18.log",
    params:
        layers=FV_LAYERS["clusters"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_fig18.py"


rule attribution:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{RESULTS}/data/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        sanity=f"{RESULTS}/attribution/sanity.csv",
        maps=f"{RESULTS}/attribution/maps.npz",
        figure=report(figure(19, "attribution"), caption="../report/attribution.rst", category="5 Attribution"),
        sanity_figure=report(figure(19, "attribution_sanity"), caption="../report/attribution.rst",
                             category="5 Attribution"),
    log:
        f"{LOGS}/attribution.log",
    benchmark:
        f"{BENCH}/attribution.tsv"
    threads: 2
    resources:
        mem_mb=mem_mb_images,
        runtime=20,
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_attribution.py"
