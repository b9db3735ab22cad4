# Stage 8, explorer: the interactive page (every layer's map, cells, neighbours across layers,
# attribution, feature localisation between cells, feature images, what each layer knows of the
# cell features); opens from disk.

EXPLORER_TARGETS = [f"{EXPLORER_DIR}/index.html"]
#: the maps the page shows (it lays out UMAP and t-SNE maps with their grids)
EXPLORER_METHODS = [m for m in config["embeddings"]["methods"] if m in ("umap", "tsne")]
#: the regression target and its prediction colour the maps when the MDA stage runs
EXPLORER_MDA = config["mda"]["enabled"]
#: the probes' table (rule probes, rules/probes.smk) is the panel of what each layer knows
EXPLORER_PROBES = config["probes"]["enabled"]


rule explorer:
    input:
        embeddings=expand(f"{EMB}/{{layer}}/{{method}}.csv", layer=LAYERS, method=EXPLORER_METHODS),
        grids=expand(f"{EMB}/{{layer}}/{{method}}_grid.csv", layer=LAYERS, method=EXPLORER_METHODS),
        clusters=expand(f"{EMB}/{{layer}}/clusters.csv", layer=LAYERS),
        neighbours=expand(f"{EMB}/{{layer}}/neighbours.npy", layer=LAYERS),
        featvis=expand(f"{FV}/{{layer}}/features.npz", layer=CONV_LAYERS),
        attribution_cells=f"{ATTR}/explorer_cells.npz",
        attribution_verdicts=f"{ATTR}/verdicts.json",
        predictions=f"{MODEL}/predictions.csv",
        selection=f"{ACT}/selection.csv",
        weights=f"{MODEL}/weights.pt",
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        features=f"{DATA}/features.csv",
        mda_targets=f"{MDA_DIR}/targets.csv" if EXPLORER_MDA else [],
        mda_predictions=f"{MDA_DIR}/predictions.csv" if EXPLORER_MDA else [],
        probes=f"{METRICS}/probes.csv" if EXPLORER_PROBES else [],
    output:
        page=f"{EXPLORER_DIR}/index.html",
    log:
        f"{LOGS}/explorer.log",
    benchmark:
        f"{BENCH}/explorer.tsv"
    params:
        network=NETWORK,
        classes=config["classes"],
        channels=CHANNEL_DISPLAY,
        layers=LAYERS,
        layer_info=[{"name": s.name, "label": LAYER_PATHS[s.name] if LAYER_PATHS else s.name, "kind": s.kind,
                     "shape": [s.channels, s.height, s.width] if s.kind == "conv" else [s.channels]} for s in SHAPES],
        conv_layers=CONV_LAYERS,
        methods=EXPLORER_METHODS,
        mda_target=MDA_TARGET if EXPLORER_MDA else "",
        top_cells=config["explorer"]["top_cells"],
        cells_per_tile=config["explorer"]["cells_per_tile"],
        ifealid_cells=config["explorer"]["ifealid_cells"],
        ifealid_components=config["explorer"]["ifealid_components"],
        ifealid_size=config["explorer"]["ifealid_size"],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("explorer"),
        runtime=RES.runtime("explorer"),
        gpu=gpu_count,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/explorer.py"
