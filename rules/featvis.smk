# Stage 5, featvis: feature visualisation by optimisation (paper Figs. 13-18).
# Channels are ordered once from the trained model (diverse, live channels first); render jobs
# per {layer} and {chunk} draw fixed slots of that order, so the job list is known up front.
FV_JOBS = PLAN.featvis  # chunks, slots, resources (cellscape.plan.featvis)
FV_LAYERS = FV_JOBS.layers
# Fig. 18 draws the clusters on the embedding they were found in (as the layer_metrics rule)
CLUSTER_BASIS = "umap" if "umap" in config["embeddings"]["methods"] else config["embeddings"]["methods"][0]
FEATVIS_TARGETS = (figure(13, "feature_evolution") + figure(14, "feature_layers") + figure(15, "feature_grid")
                   + figure(16, "neuron_examples") + figure(17, "neuron_groups") + figure(18, "cluster_features"))
if config["featvis"]["channels"] == "all":
    FEATVIS_TARGETS += expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS)


rule featvis_channel_order:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        order=f"{FV}/channel_order.csv",
        profiles=f"{FV}/channel_profiles.npz",
    log:
        f"{LOGS}/featvis/channel_order.log",
    benchmark:
        f"{BENCH}/featvis/channel_order.tsv"
    params:
        network=NETWORK,
        layers=CONV_LAYERS,
        profile_images=config["featvis"]["profile_images"],
        live_floor=config["featvis"]["live_floor"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb_profiles(CONV_LAYERS, config["featvis"]["profile_images"]),
        runtime=RES.runtime("featvis_channel_order"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_channel_order.py"


rule featvis_chunk:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        order=f"{FV}/channel_order.csv",
    output:
        f"{FV}/{{layer}}/chunk{{chunk}}.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_chunk{{chunk}}.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_chunk{{chunk}}.tsv"
    params:
        network=NETWORK,
        slots=FV_JOBS.slots,
        render=canonical(FV_JOBS.render_settings()),
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=FV_JOBS.mem_mb,
        runtime=RES.runtime("featvis_chunk"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_chunk.py"


rule featvis_merge:
    input:
        FV_JOBS.chunk_files,
    output:
        features=f"{FV}/{{layer}}/features.npz",
        feedback=f"{FV}/{{layer}}/feedback.csv",
    log:
        f"{LOGS}/featvis/{{layer}}_merge.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_merge.tsv"
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("featvis_merge"),
        runtime=RES.runtime("featvis_merge"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_merge.py"


rule featvis_evolution:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        order=f"{FV}/channel_order.csv",
    output:
        f"{FV}/{{layer}}/evolution.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_evolution.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_evolution.tsv"
    params:
        network=NETWORK,
        render=canonical(FV_JOBS.render_settings("evolution_steps", "evolution_channels")),
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=FV_JOBS.mem_mb,
        runtime=RES.runtime("featvis_evolution"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_evolution.py"


rule featvis_nmf:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        f"{FV}/{{layer}}/nmf_groups.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_nmf.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_nmf.tsv"
    params:
        network=NETWORK,
        render=canonical(FV_JOBS.render_settings("nmf_groups")),
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("featvis_nmf"),  # the layer's dump of every selected cell
        runtime=RES.runtime("featvis_nmf"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_nmf.py"


rule featvis_clusters:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        features=f"{ACT}/{{layer}}/features.npy",
        selection=f"{ACT}/selection.csv",
        clusters=f"{EMB}/{{layer}}/clusters.csv",
    output:
        f"{FV}/{{layer}}/clusters.npz",
    log:
        f"{LOGS}/featvis/{{layer}}_clusters.log",
    benchmark:
        f"{BENCH}/featvis/{{layer}}_clusters.tsv"
    params:
        network=NETWORK,
        render=canonical(FV_JOBS.render_settings("max_clusters")),
        seed=config["seed"],
    priority: 20
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("featvis_clusters"),  # the layer's dump of every selected cell
        runtime=RES.runtime("featvis_clusters"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/featvis_clusters.py"


rule fig13_feature_evolution:
    input:
        f"{FV}/{FV_LAYERS['evolution']}/evolution.npz",
    output:
        report(figure(13, "feature_evolution"), caption="../report/fig13.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig13.log",
    benchmark:
        f"{BENCH}/figures/fig13.tsv"
    params:
        layer=FV_LAYERS["evolution"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig13_feature_evolution"),
        runtime=RES.runtime("fig13_feature_evolution"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig13_feature_evolution.py"


rule fig14_feature_layers:
    input:
        features=expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS),
        order=f"{FV}/channel_order.csv",
    output:
        report(figure(14, "feature_layers"), caption="../report/fig14.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig14.log",
    benchmark:
        f"{BENCH}/figures/fig14.tsv"
    params:
        layers=CONV_LAYERS,
        overview_channels=config["featvis"]["overview_channels"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig14_feature_layers"),
        runtime=RES.runtime("fig14_feature_layers"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig14_feature_layers.py"


rule fig15_feature_grid:
    input:
        weights=f"{MODEL}/weights.pt",
        features=f"{FV}/{FV_LAYERS['grid']}/features.npz",
    output:
        grid=f"{FV}/{FV_LAYERS['grid']}/feature_grid.csv",
        figure=report(figure(15, "feature_grid"), caption="../report/fig15.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig15.log",
    benchmark:
        f"{BENCH}/figures/fig15.tsv"
    params:
        network=NETWORK,
        layer=FV_LAYERS["grid"],
        umap=canonical(config["embeddings"]["umap"]),
        seed=config["seed"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig15_feature_grid"),
        runtime=RES.runtime("fig15_feature_grid"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig15_feature_grid.py"


rule fig16_neuron_examples:
    input:
        weights=f"{MODEL}/weights.pt",
        features=f"{FV}/{FV_LAYERS['neurons']}/features.npz",
        profiles=f"{FV}/channel_profiles.npz",
        images=f"{DATA}/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        report(figure(16, "neuron_examples"), caption="../report/fig16.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig16.log",
    benchmark:
        f"{BENCH}/figures/fig16.tsv"
    params:
        network=NETWORK,
        layer=FV_LAYERS["neurons"],
        neuron_channels=config["featvis"]["neuron_channels"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig16_neuron_examples"),
        runtime=RES.runtime("fig16_neuron_examples"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig16_neuron_examples.py"


rule fig17_neuron_groups:
    input:
        f"{FV}/{FV_LAYERS['nmf']}/nmf_groups.npz",
    output:
        report(figure(17, "neuron_groups"), caption="../report/fig17.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig17.log",
    benchmark:
        f"{BENCH}/figures/fig17.tsv"
    params:
        layer=FV_LAYERS["nmf"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig17_neuron_groups"),
        runtime=RES.runtime("fig17_neuron_groups"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig17_neuron_groups.py"


rule fig18_cluster_features:
    input:
        clusters=expand(f"{FV}/{{layer}}/clusters.npz", layer=FV_LAYERS["clusters"]),
        embeddings=expand(f"{EMB}/{{layer}}/{CLUSTER_BASIS}.csv", layer=FV_LAYERS["clusters"]),
        labels=expand(f"{EMB}/{{layer}}/clusters.csv", layer=FV_LAYERS["clusters"]),
    output:
        report(figure(18, "cluster_features"), caption="../report/fig18.rst", category="4 Feature images"),
    log:
        f"{LOGS}/figures/fig18.log",
    benchmark:
        f"{BENCH}/figures/fig18.tsv"
    params:
        layers=FV_LAYERS["clusters"],
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig18_cluster_features"),
        runtime=RES.runtime("fig18_cluster_features"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig18_cluster_features.py"
