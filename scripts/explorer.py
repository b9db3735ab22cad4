"""Rule explorer: write results/explorer/ (every layer's map, cells, neighbours, attribution,
feature localisation between cells, feature-image gallery, the cell features and, with the probes,
what each layer knows of them)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.explorer.build import build_explorer  # noqa: E402
from cellscape.explorer.featuremaps import gallery_top_cells, stored_feature_maps  # noqa: E402
from cellscape.export.cells import assemble_cells  # noqa: E402
from cellscape.features import catalogue, feature_descriptions  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
inp = snakemake.input
pairs = [(layer, method) for layer in p.layers for method in p.methods]
embeddings = {pair: read_cell_table(path) for pair, path in zip(pairs, inp.embeddings)}
grids = {pair: read_cell_table(path) for pair, path in zip(pairs, inp.grids)}
selection = read_cell_table(inp.selection)
mda = {"mda_targets": read_cell_table(inp.mda_targets), "mda_predictions": read_cell_table(inp.mda_predictions),
       "mda_target": p.mda_target} if inp.get("mda_targets") else {}
features, described = feature_descriptions(read_cell_table(inp.features), p.channels)
table = assemble_cells(selection, read_cell_table(inp.predictions), read_cell_table(inp.index), embeddings,
                       {layer: read_cell_table(path) for layer, path in zip(p.layers, inp.clusters)}, {},
                       p.classes, p.methods, features=(features, described), **mda)
cells = table.obs
neighbours = {layer: np.load(path) for layer, path in zip(p.layers, inp.neighbours)}
images = np.load(inp.images, mmap_mode="r")
device = job_device(snakemake)
model = load_network(inp.weights, p.network, device)

store, stored = stored_feature_maps(model, images, selection, p.conv_layers, p.ifealid_cells, p.seed,
                                    p.ifealid_components, p.ifealid_size, device=device)
for layer, entry in store.items():
    print(f"feature localisation {layer}: {entry['height']}x{entry['width']} positions, {entry['components']} "
          f"components keep {entry['energy']:.1%} of the squared feature norm", flush=True)
top = gallery_top_cells(model, images, cells, p.conv_layers, k=p.top_cells, device=device)

attribution = dict(np.load(inp.attribution_cells))
with open(inp.attribution_verdicts) as f:
    verdicts = json.load(f)["methods"]
featvis = {layer: dict(np.load(path)) for layer, path in zip(p.conv_layers, inp.featvis)}
maps = {pair: (embeddings[pair], grids[pair]) for pair in pairs}
sizes = build_explorer(Path(snakemake.output.page).parent, cells, p.layer_info, maps, neighbours, images, p.classes,
                       p.methods, attribution=(attribution, verdicts), ifealid=(store, stored), featvis=featvis,
                       top_cells=top, channels=p.channels, cells_per_tile=p.cells_per_tile,
                       features=catalogue(p.channels, list(described)),
                       probes=pd.read_csv(inp.probes) if inp.get("probes") else None)
total = sum(sizes.values())
print(f"explorer: {len(sizes)} files, {total / 1e6:.1f} MB, {total / len(cells) / 1e3:.1f} kB per shown cell",
      flush=True)
