"""Rule explorer: write results/explorer/ (embedding explorer, IFeaLiD, feature-image gallery)."""
from pathlib import Path

import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.explorer.build import build_explorer  # noqa: E402
from cellscape.explorer.featuremaps import feature_maps, top_activating_cells, channel_scores  # noqa: E402
from cellscape.model.network import load_network  # noqa: E402
from cellscape.runtime.tables import join_to_ids, read_cell_table  # noqa: E402

p = snakemake.params
inp = snakemake.input
pairs = [(layer, method) for layer in p.layers for method in p.methods]
embeddings = {pair: read_cell_table(path) for pair, path in zip(pairs, inp.embeddings)}
grids = {pair: read_cell_table(path) for pair, path in zip(pairs, inp.grids)}
featvis = {layer: dict(np.load(path)) for layer, path in zip(p.conv_layers, inp.featvis)}
predictions = read_cell_table(inp.predictions)
index = read_cell_table(inp.index)
images = np.load(inp.images, mmap_mode="r")
device = job_device(snakemake)
model = load_network(inp.weights, p.network, device)

# the cells the explorer shows (activations.max_cells): its IFeaLiD and top-activating cells come
# from them, so its cost does not grow with the events beyond the cap
selection = read_cell_table(inp.selection)
test = join_to_ids(selection["id"], predictions, "the selected cells (selection.csv)", inp.predictions,
                   how="covers")
# IFeaLiD cells: the most certain selected cells of each class, alternating
ranked = [g.sort_values("certainty", ascending=False)["id"].tolist() for _, g in test.groupby("label")]
ids = [i for group in zip(*ranked) for i in group][:p.featuremap_cells]
rows = join_to_ids(ids, index[["id", "row"]], "the feature-map cells (predictions.csv)", inp.index,
                   how="covers")["row"].to_numpy()
maps = feature_maps(model, np.asarray(images[np.sort(rows)])[np.argsort(np.argsort(rows))], p.conv_layers,
                    device=device)
test_rows = test["row"].to_numpy()
scores = channel_scores(model, np.asarray(images[np.sort(test_rows)]), p.conv_layers, device=device)
order_ids = test.sort_values("row")["id"].to_numpy()
top = {layer: top_activating_cells(s, order_ids, k=p.top_cells) for layer, s in scores.items()}
sizes = build_explorer(Path(snakemake.output.page).parent, embeddings, grids, predictions, images, index,
                       featvis, maps, p.classes, featuremap_ids=ids, top_cells=top)
print(f"explorer: {len(sizes)} files, {sum(sizes.values()) / 1e6:.1f} MB")
