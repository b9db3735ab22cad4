"""Rule embed: one layer's reduced features -> a 2-D embedding and its grid mapping."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embeddings.embedders import make_embedder  # noqa: E402
from cellscape.embeddings.gridmap import grid_positions  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

settings = snakemake.params.settings
X = np.load(snakemake.input.reduced)
selection = read_cell_table(snakemake.input.selection)
embedder = make_embedder(settings["method"], settings["params"], settings["seed"])
target = selection[[c for c in selection.columns if c.startswith("p_")]].to_numpy()
Y = embedder.fit_transform(X, target) if settings["method"] == "mda" else embedder.fit_transform(X)
table = selection[["id", "class", "predicted", "certainty"]].copy()
table.insert(1, "x", Y[:, 0])
table.insert(2, "y", Y[:, 1])
write_csv(table, snakemake.output.embedding)
G, _ = grid_positions(Y)
write_csv(pd.DataFrame({"id": selection["id"], "gx": G[:, 0], "gy": G[:, 1]}), snakemake.output.grid)
