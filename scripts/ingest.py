"""Rule ingest: raw events -> filtered, quality-checked, normalised, split image set."""
from cellscape.data.ingest import ingest_job
from cellscape.runtime.rulerun import job_threads, start

start(snakemake)
out = snakemake.output
ingest_job(snakemake.params.settings, list(snakemake.input), out.images, out.index, out.qc, out.classes,
           out.normalisation, threads=job_threads(snakemake))
