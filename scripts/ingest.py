"""Rule ingest: raw events -> filtered, quality-checked, normalised, split image set."""
import shutil
from pathlib import Path

from cellscape.data.ingest import ingest_job
from cellscape.data.readers import InputError
from cellscape.runtime.rulerun import job_threads, start

start(snakemake)
out = snakemake.output
try:
    ingest_job(snakemake.params.settings, list(snakemake.input), out.images, out.index, out.qc, out.classes,
               out.normalisation, threads=job_threads(snakemake), summary=out.summary)
except InputError as err:
    if Path(out.qc).exists():  # Snakemake removes the failed job's outputs; the log's copy stays
        shutil.copyfile(out.qc, snakemake.log.qc)
        raise InputError(f"{err} [every event's measurements and verdicts: {snakemake.log.qc}]") from err
    raise
shutil.copyfile(out.qc, snakemake.log.qc)  # the log's copy is always the latest run's
