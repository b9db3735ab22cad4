"""Rule neighbours: each shown cell's nearest neighbours in one layer's reduced features."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embeddings.neighbours import nearest_neighbours  # noqa: E402
from cellscape.runtime.io import save_npy  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

X = np.load(snakemake.input.reduced)
selection = read_cell_table(snakemake.input.selection)
if len(selection) != len(X):
    raise ValueError(f"{snakemake.input.reduced}: {len(X)} rows, {snakemake.input.selection} {len(selection)} cells")
neighbours = nearest_neighbours(X, snakemake.params.k, random_state=snakemake.params.seed)
save_npy(neighbours, snakemake.output[0])
print(f"{len(neighbours)} cells, {neighbours.shape[1]} neighbours each", flush=True)
