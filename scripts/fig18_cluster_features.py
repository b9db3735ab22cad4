"""Rule fig18_cluster_features: DBSCAN clusters of layer embeddings and a feature image per cluster (paper Fig. 18)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import cluster_features_figure  # noqa: E402
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402

panels = []
inp = snakemake.input
for layer, npz, emb_path, labels_path in zip(snakemake.params.layers, inp.clusters, inp.embeddings, inp.labels):
    drawn = np.load(npz)
    embedding = read_cell_table(emb_path)
    clusters = read_cell_table(labels_path)
    labels = join_on_id(embedding[["id"]], clusters, emb_path, labels_path, how="exact")
    panels.append({"layer": layer, "basis": str(labels["embedding"].iloc[0]) if "embedding" in labels else "umap",
                   "xy": embedding[["x", "y"]].to_numpy(), "labels": labels["cluster"].to_numpy(int),
                   "clusters": drawn["clusters"], "sizes": drawn["sizes"], "images": drawn["images"],
                   "objective": drawn["objective"]})
save_figure(cluster_features_figure(panels, snakemake.params.channels), *snakemake.output)
