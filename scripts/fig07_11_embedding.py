"""Rule fig07_11_embedding: paper Figs. 7-11 for one layer (dense1 by default)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embedding_methods import make_embedder  # noqa: E402
from cellscape.embeddings.embedders import tsne_with_snapshots  # noqa: E402
from cellscape.figures import embedding_figures as ef  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402

p, inp, out = snakemake.params, snakemake.input, snakemake.output
layer = snakemake.wildcards.layer
X = np.load(inp.reduced)
selection = read_cell_table(inp.selection)
tsne = join_on_id(selection[["id"]], read_cell_table(inp.tsne), inp.selection, inp.tsne, how="exact",
                  expected_rows=len(X))  # in selection (= feature) order
grid = join_on_id(tsne[["id"]], read_cell_table(inp.tsne_grid), inp.tsne, inp.tsne_grid, how="exact")
grid = grid[["gx", "gy"]].to_numpy()

snaps = tsne_with_snapshots(X, perplexity=p.perplexity, random_state=p.seed)
print(f"Fig. 7: t-SNE of {len(X)} cells with perplexity {snaps['perplexity']:g} (asked {p.perplexity:g})", flush=True)
save_figure(ef.tsne_snapshots_figure(snaps, selection["class"], p.classes, layer=layer), *out.fig07)
ef.write_tsne_animation(snaps, selection["class"], p.classes, out.gif, layer=layer)
save_figure(ef.boundary_figure(tsne, p.classes, layer=layer), *out.fig08)

# Fig. 9: its own UMAP of at most n cells per class, with a high min_dist to spread the images
sample = ef.sample_per_class(selection, p.fig09["per_class"], random_state=p.seed)
rows = sample.index.to_numpy()
umap = make_embedder("umap", {**p.fig09["umap"], "min_dist": p.fig09["min_dist"]}, p.seed)
Y = umap.fit_transform(X[rows])
print(f"Fig. 9: UMAP of {len(rows)} cells with {umap.n_neighbors_} neighbours (asked {umap.n_neighbors})", flush=True)
table = sample[["id", "class", "predicted", "certainty"]].assign(x=Y[:, 0], y=Y[:, 1])
images = np.load(inp.images, mmap_mode="r")
image_rows = sample["row"].to_numpy()
cells = np.asarray(images[np.sort(image_rows)])[np.argsort(np.argsort(image_rows))]
save_figure(ef.cell_image_map_figure(table, cells, p.classes, p.channels, layer=layer), *out.fig09, dpi=200)

save_figure(ef.grid_stages_figure(tsne, grid, p.classes, layer=layer), *out.fig10)
save_figure(ef.grid_map_figure(tsne, grid, p.classes, layer=layer), *out.fig11)
