"""Rule ingest: raw events -> filtered, quality-checked, normalised, split image set."""
from pathlib import Path

from cellscape.data.ingest import ingest, read_properties
from cellscape.runtime.rulerun import job_threads, start

config = start(snakemake)
data = config["data"]
if data["source"] == "synthetic":
    roots = list(snakemake.input)
    properties = read_properties(Path(r) / "properties.csv" for r in roots)
else:
    roots, properties = [data["directory"]], None
out = snakemake.output
ingest(roots, data, config["qc"], config["classes"], config["image_size"], config["seed"],
       out.images, out.index, out.qc, out.classes, threads=job_threads(snakemake), properties=properties)
