# Stage 1, data: raw images (1-12 channels, data.channels) -> 20%-threshold filtering, quality checks, split image set.

DATA_TARGETS = figure(2, "preprocessing") + figure(2, "qc")
#: the data settings ingestion and Fig. 2 read (the simulator's are the raw chunks' own params)
DATA_SETTINGS = canonical(data_settings(config, CHANNELS))


rule simulate_chunk:
    output:
        directory(f"{PLAN.paths.raw}/{{chunk}}"),
    log:
        f"{LOGS}/simulate/{{chunk}}.log",
    benchmark:
        f"{BENCH}/simulate/{{chunk}}.tsv"
    params:
        n_events=events_in_chunk,
        simulator=SIMULATOR_PARAMS if config["data"]["source"] == "synthetic" else {},
        channels=[c["file"] for c in CHANNELS],
        seed=config["seed"],
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("simulate_chunk"),
        runtime=RES.runtime("simulate_chunk"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/simulate_chunk.py"


rule ingest:
    input:
        raw_inputs,
        labels=label_table,
    output:
        images=f"{DATA}/images.npy",
        index=f"{DATA}/index.csv",
        qc=f"{DATA}/qc.csv",
        classes=f"{DATA}/classes.json",
        normalisation=f"{DATA}/normalisation.json",
        summary=f"{DATA}/qc_summary.json",
    log:
        main=f"{LOGS}/ingest.log",
        # a copy of qc.csv that stays when ingestion stops (Snakemake removes a failed job's outputs, not its logs)
        qc=f"{LOGS}/ingest_qc.csv",
    benchmark:
        f"{BENCH}/ingest.tsv"
    params:
        settings=DATA_SETTINGS,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("ingest"),
        runtime=RES.runtime("ingest"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/ingest.py"


rule fig02_preprocessing:
    input:
        raw=raw_inputs,
        index=f"{DATA}/index.csv",
        qc=f"{DATA}/qc.csv",
        normalisation=f"{DATA}/normalisation.json",
        summary=f"{DATA}/qc_summary.json",
    output:
        preprocessing=report(figure(2, "preprocessing"), caption="../report/fig02.rst", category="1 Data"),
        qc=report(figure(2, "qc"), caption="../report/fig02_qc.rst", category="1 Data"),
    log:
        f"{LOGS}/figures/fig02.log",
    benchmark:
        f"{BENCH}/figures/fig02.tsv"
    params:
        settings=DATA_SETTINGS,
        channels=CHANNEL_DISPLAY,
    threads: cpus(1)
    resources:
        mem_mb=RES.mem_mb("fig02_preprocessing"),
        runtime=RES.runtime("fig02_preprocessing"),
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig02_preprocessing.py"
