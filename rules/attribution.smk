# Stage 6, attribution: which pixels a prediction rests on (saliency, integrated gradients) and
# the cascading model-randomisation sanity check (Fig. 19).

ATTRIBUTION_TARGETS = figure(19, "attribution") + figure(19, "attribution_sanity")


rule attribution:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        predictions=f"{MODEL}/predictions.csv",
    output:
        sanity=f"{ATTR}/sanity.csv",
        maps=f"{ATTR}/maps.npz",
    log:
        f"{LOGS}/attribution.log",
    benchmark:
        f"{BENCH}/attribution.tsv"
    params:
        network=NETWORK,
        cells_per_class=config["featvis"]["attribution_cells_per_class"],
        ig_steps=config["featvis"]["attribution_ig_steps"],
        sanity_cells=config["featvis"]["attribution_sanity_cells"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("attribution"),
        runtime=RES.runtime("attribution"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/attribution.py"


# the explorer's "why this cell": maps of a capped set of shown cells, misclassified first
rule attribution_cells:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        selection=f"{ACT}/selection.csv",
    output:
        f"{ATTR}/explorer_cells.npz",
    log:
        f"{LOGS}/attribution_cells.log",
    benchmark:
        f"{BENCH}/attribution_cells.tsv"
    params:
        network=NETWORK,
        max_cells=config["explorer"]["attribution_cells"],
        ig_steps=config["featvis"]["attribution_ig_steps"],
        batch_size=8,
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("attribution_cells"),
        runtime=RES.runtime("attribution_cells"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/attribution_cells.py"


rule fig19_attribution:
    input:
        sanity=f"{ATTR}/sanity.csv",
        maps=f"{ATTR}/maps.npz",
    output:
        figure=report(figure(19, "attribution"), caption="../report/attribution.rst", category="5 Attribution"),
        sanity_figure=report(figure(19, "attribution_sanity"), caption="../report/attribution.rst",
                             category="5 Attribution"),
    log:
        f"{LOGS}/figures/fig19.log",
    benchmark:
        f"{BENCH}/figures/fig19.tsv"
    params:
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig19_attribution"),
        runtime=RES.runtime("fig19_attribution"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig19_attribution.py"
