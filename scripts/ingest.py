"""Rule ingest: raw events -> filtered, quality-checked, normalised, split image set."""
from pathlib import Path

from cellscape.data.ingest import ingest, read_properties
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
ingest(roots, data, s["qc"], s["classes"], s["image_size"], s["seed"],
       out.images, out.index, out.qc, out.classes, out.normalisation, threads=job_threads(snakemake), properties=properties)
