"""Rule ingest: raw events -> filtered, quality-checked, normalised, split image set."""
import shutil
from pathlib import Path

from cellscape.data.ingest import ingest, read_properties
from cellscape.data.readers import InputError
from cellscape.runtime.rulerun import job_threads, start

start(snakemake)
s = snakemake.params.settings
data = s["data"]
if data["source"] == "synthetic":
    roots = list(snakemake.input)
    properties = read_properties(Path(r) / "properties.csv" for r in roots)
else:
    roots, properties = [data["directory"]], None
out = snakemake.output
try:
    ingest(roots, data, s["qc"], s["classes"], s["image_size"], s["seed"], out.images, out.index, out.qc,
           out.classes, out.normalisation, threads=job_threads(snakemake), properties=properties,
           out_summary=out.summary)
except InputError as err:
    if Path(out.qc).exists():  # Snakemake removes the failed job's outputs; the log's copy stays
        shutil.copyfile(out.qc, snakemake.log.qc)
        raise InputError(f"{err} [every event's measurements and verdicts: {snakemake.log.qc}]") from err
    raise
shutil.copyfile(out.qc, snakemake.log.qc)  # the log's copy is always the latest run's
