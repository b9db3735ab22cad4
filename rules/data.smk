# Stage 1: raw two-channel images -> 20%-threshold filtering, quality checks, split image set.


rule simulate_chunk:
    output:
        directory(f"{RESULTS}/raw/{{chunk}}"),
    log:
        f"{LOGS}/simulate/{{chunk}}.log",
    params:
        n_events=events_in_chunk,
        simulator=SIMULATOR if config["data"]["source"] == "synthetic" else {},
    threads: 1
    resources:
        mem_mb=1000,
        runtime=runtime_simulate,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/simulate_chunk.py"


rule ingest:
    input:
        raw_inputs,
    output:
        images=f"{RESULTS}/data/images.npy",
        index=f"{RESULTS}/data/index.csv",
        qc=f"{RESULTS}/data/qc.csv",
        classes=f"{RESULTS}/data/classes.json",
    log:
        f"{LOGS}/ingest.log",
    benchmark:
        f"{BENCH}/ingest.tsv"
    threads: 2
    resources:
        mem_mb=mem_mb_images,
        runtime=runtime_ingest,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/ingest.py"


rule fig02_preprocessing:
    input:
        raw=raw_inputs,
        index=f"{RESULTS}/data/index.csv",
        qc=f"{RESULTS}/data/qc.csv",
    output:
        preprocessing=report(figure(2, "preprocessing"), caption="../report/fig02.rst", category="1 Data"),
        qc=report(figure(2, "qc"), caption="../report/fig02_qc.rst", category="1 Data"),
    log:
        f"{LOGS}/figures/fig02.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/cellscape.yaml"
    script:
        "../scripts/fig02_preprocessing.py"
