"""Rule fig02_preprocessing: paper Fig. 2 for the first kept test cell, and the QC figure (rejections per
problem and class, integrated intensity per channel and class)."""
import json

from cellscape.data.readers import discover_all, read_event
from cellscape.figures.common import save_figure
from cellscape.figures.data_figures import preprocessing_figure, qc_figure
from cellscape.runtime.rulerun import start
from cellscape.runtime.tables import read_cell_table

start(snakemake)
s = snakemake.params.settings
index = read_cell_table(snakemake.input.index)
qc = read_cell_table(snakemake.input.qc)
cell = index[index["split"] == "test"].iloc[0]
roots = list(snakemake.input.raw) or [s["data"]["directory"]]
events = {e.source: e for e in discover_all(roots, s["data"], s["classes"])}
raw, _ = read_event(events[cell["source"]], s["data"])
fig = preprocessing_figure(raw, s["data"], s["image_size"], cell["id"], snakemake.params.channels,
                           s["qc"]["min_object_px"])
save_figure(fig, *snakemake.output.preprocessing)
evidence = json.loads(open(snakemake.input.normalisation).read())
summary = json.loads(open(snakemake.input.summary).read())
save_figure(qc_figure(qc, s["classes"], evidence, summary["warnings"]), *snakemake.output.qc)
