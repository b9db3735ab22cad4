"""Rule embed: one layer's reduced features -> a 2-D map with each configured method (UMAP,
t-SNE, PCA, MDA), each map's grid mapping, and the neighbourhood settings each method used
(fitted to the cells)."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embedding_methods import fitted_sizes, make_embedder  # noqa: E402
from cellscape.embeddings.gridmap import grid_positions  # noqa: E402
from cellscape.runtime.io import write_csv, write_json  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

X = np.load(snakemake.input.reduced)
selection = read_cell_table(snakemake.input.selection)
if len(selection) != len(X):
    raise ValueError(f"{snakemake.input.reduced}: {len(X)} rows, {snakemake.input.selection} {len(selection)} cells")
used = {"n_cells": int(len(X))}
for method, settings in snakemake.params.settings.items():
    embedder = make_embedder(settings["method"], settings["params"], settings["seed"])
    target = selection[[c for c in selection.columns if c.startswith("p_")]].to_numpy()
    Y = embedder.fit_transform(X, target) if method == "mda" else embedder.fit_transform(X)
    table = selection[["id", "class", "predicted", "certainty"]].copy()
    table.insert(1, "x", Y[:, 0])
    table.insert(2, "y", Y[:, 1])
    write_csv(table, snakemake.output[f"embedding_{method}"])
    G, _ = grid_positions(Y)
    write_csv(pd.DataFrame({"id": selection["id"], "gx": G[:, 0], "gy": G[:, 1]}), snakemake.output[f"grid_{method}"])
    used[method] = fitted_sizes(embedder)
    shown = ", ".join(f"{name} {size['used']:g} (asked {size['requested']:g})" for name, size in used[method].items())
    print(f"{method}: {len(Y)} cells embedded and grid-mapped{'; ' + shown if shown else ''}", flush=True)
write_json(used, snakemake.output.fitted)
