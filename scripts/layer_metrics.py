"""Rule layer_metrics: class separation of one layer in feature space and each embedding;
DBSCAN clusters of its UMAP (or first) embedding."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402
from cellscape.embeddings.separation import dbscan_clusters, dbscan_eps, dbscan_min_samples, layer_separation  # noqa: E402

p = snakemake.params
X = np.load(snakemake.input.reduced)
selection = read_cell_table(snakemake.input.selection)
# each embedding's points in selection (= feature) order
maps = {m: join_on_id(selection[["id"]], read_cell_table(path)[["id", "x", "y"]], snakemake.input.selection, path,
                      how="exact", expected_rows=len(X))[["x", "y"]].to_numpy()
        for m, path in zip(p.methods, snakemake.input.embeddings)}
labels = selection["label"].to_numpy()
rows = layer_separation(X, labels, maps, random_state=p.seed)
table = pd.DataFrame(rows)
table.insert(0, "layer", snakemake.wildcards.layer)
write_csv(table, snakemake.output.separation)
basis = "umap" if "umap" in maps else p.methods[0]
min_samples = dbscan_min_samples(p.min_samples, labels)  # fitted to the smallest class
eps = dbscan_eps(p.eps, maps[basis], min_samples)  # fitted to the cells' density
clusters = dbscan_clusters(maps[basis], eps=eps, min_samples=min_samples)
write_csv(pd.DataFrame({"id": selection["id"], "cluster": clusters, "embedding": basis, "min_samples": min_samples,
                        "eps": eps}), snakemake.output.clusters)
print(f"{len(X)} cells; k-NN accuracy with k = {rows[0]['knn_k']}, trustworthiness with k = "
      f"{max(row['trust_k'] for row in rows)}, DBSCAN min_samples {min_samples} (asked {p.min_samples}), eps {eps:.3g} (asked {p.eps}); "
      f"{len(set(clusters) - {-1})} clusters, {np.mean(clusters == -1):.0%} noise", flush=True)
