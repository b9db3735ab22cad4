"""Rule export: the embedded cells as FCS 3.1 (gating tools) and AnnData .h5ad (scanpy)."""
import json
from pathlib import Path

import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.export.anndata_export import build_anndata, write_h5ad  # noqa: E402
from cellscape.export.cells import assemble_cells  # noqa: E402
from cellscape.features import feature_descriptions  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402
from cellscape.export.fcs import write_fcs_parts  # noqa: E402

p = snakemake.params
inp = snakemake.input
classes = json.loads(Path(inp.classes).read_text())
if classes != list(p.classes):
    raise ValueError(f"{inp.classes} lists {classes}, the configuration {list(p.classes)}")
pairs = [(layer, method) for layer in p.layers for method in p.methods]
cells = assemble_cells(
    selection=read_cell_table(inp.selection),
    predictions=read_cell_table(inp.predictions),
    index=read_cell_table(inp.index),
    embeddings={pair: read_cell_table(path) for pair, path in zip(pairs, inp.embeddings)},
    clusters={layer: read_cell_table(path) for layer, path in zip(p.layers, inp.clusters)},
    reduced={layer: np.load(path) for layer, path in zip(p.layers, inp.reduced)},
    classes=p.classes, methods=p.methods, channels=p.channels,
    mda_targets=read_cell_table(inp.mda_targets) if p.mda else None,
    mda_predictions=read_cell_table(inp.mda_predictions) if p.mda else None,
    mda_target=p.mda_target,
    selections={name: (path, read_cell_table(path)) for name, path in zip(p.selection_names, inp.selections)},
    features=feature_descriptions(read_cell_table(inp.features), p.channels),
)
for path, parameters, filled in write_fcs_parts(cells, list(snakemake.output.fcs), p.fcs_parts, p.fcs_max_parameters):
    print(f"{path}: {len(cells)} events x {parameters} parameters; missing values written as -1: {filled or 'none'}")
adata = build_anndata(cells, p.x_layer, p.layer_shapes, p.config)
write_h5ad(snakemake.output.h5ad, adata)
print(adata)
