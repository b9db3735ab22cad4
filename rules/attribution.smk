# Stage 6, attribution: which pixels a prediction rests on (saliency, integrated gradients,
# SmoothGrad, guided backpropagation, Grad-CAM at every conv layer), the checks each method must
# pass (model and label randomisation, pixel-flipping faithfulness) and localisation (Fig. 19;
# docs/attribution.md).

ATTRIBUTION_TARGETS = figure(19, "attribution") + figure(19, "attribution_sanity")


rule attribution:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        predictions=f"{MODEL}/predictions.csv",
    output:
        quality=f"{ATTR}/quality.csv",
        verdicts=f"{ATTR}/verdicts.json",
        randomisation=f"{ATTR}/randomisation.csv",
        faithfulness=f"{ATTR}/faithfulness.csv",
        maps=f"{ATTR}/maps.npz",
    log:
        f"{LOGS}/attribution.log",
    benchmark:
        f"{BENCH}/attribution.tsv"
    params:
        network=NETWORK,
        channels=[c["name"] for c in CHANNEL_DISPLAY],
        conv_layers=CONV_LAYERS,
        cells_per_class=config["featvis"]["attribution_cells_per_class"],
        check_cells_per_class=config["featvis"]["attribution_check_cells_per_class"],
        sanity_cells=config["featvis"]["attribution_sanity_cells"],
        check_ig_steps=config["featvis"]["attribution_check_ig_steps"],
        smoothgrad_samples=config["featvis"]["attribution_smoothgrad_samples"],
        label_steps=config["featvis"]["attribution_label_steps"],
        label_cells=config["featvis"]["attribution_label_cells"],
        label_batch_size=config["training"]["batch_size"],
        label_lr=config["training"]["lr"],
        seed=config["seed"],
    # the explorer waits for this job and attribution_cells one after the other: left to the end
    # they ran alone on a 2-core machine for the run's last three minutes
    priority: 20
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("attribution"),
        runtime=RES.runtime("attribution"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/attribution.py"


# the explorer's "why this cell": maps of the methods that pass the checks and Grad-CAM at every
# conv layer, for a capped set of shown cells, misclassified first
rule attribution_cells:
    input:
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        selection=f"{ACT}/selection.csv",
        verdicts=f"{ATTR}/verdicts.json",
    output:
        f"{ATTR}/explorer_cells.npz",
    log:
        f"{LOGS}/attribution_cells.log",
    benchmark:
        f"{BENCH}/attribution_cells.tsv"
    params:
        network=NETWORK,
        max_cells=config["explorer"]["attribution_cells"],
        conv_layers=CONV_LAYERS,
        ig_steps=config["featvis"]["attribution_ig_steps"],
        smoothgrad_samples=config["featvis"]["attribution_smoothgrad_samples"],
        batch_size=8,
        seed=config["seed"],
    priority: 20
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
        maps=f"{ATTR}/maps.npz",
        verdicts=f"{ATTR}/verdicts.json",
        quality=f"{ATTR}/quality.csv",
        randomisation=f"{ATTR}/randomisation.csv",
        faithfulness=f"{ATTR}/faithfulness.csv",
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
