"""Rule featvis_clusters: Fig. 18's data, a feature image per DBSCAN cluster of a layer's embedding,
maximising the direction of the channels the cluster activates more than the whole set."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.cluster_directions import channel_means, cluster_weights, drawable_clusters  # noqa: E402
from cellscape.featvis.tasks import data_prior, direction_value, render_directions  # noqa: E402
from cellscape.runtime.io import save_npz  # noqa: E402
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402
from cellscape.model.hooks import layer_channels  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

layer = snakemake.wildcards.layer
fv = snakemake.params.render
seed = snakemake.params.seed
selection = read_cell_table(snakemake.input.selection)
clusters = read_cell_table(snakemake.input.clusters)
features = np.load(snakemake.input.features, mmap_mode="r")
# one label per dumped cell, in dump (selection) order
labels = join_on_id(selection[["id"]], clusters[["id", "cluster"]], snakemake.input.selection, snakemake.input.clusters,
                    how="exact", expected_rows=len(features))["cluster"].to_numpy(dtype=np.int64)
model = load_network(snakemake.input.weights, snakemake.params.network)
n_channels = layer_channels(model, layer, snakemake.params.network["image_size"])
means = channel_means(features, n_channels)
ids, weights = cluster_weights(means, labels)
keep = drawable_clusters(labels, ids, weights, fv["max_clusters"])
ids, weights = ids[keep], weights[keep]
sizes = np.array([np.sum(labels == c) for c in ids], dtype=np.int64)
print(f"{layer}: {len(set(labels.tolist()) - {-1})} clusters, drawing {ids.tolist()} (sizes {sizes.tolist()})",
      flush=True)
device = job_device(snakemake)
model.to(device)
if len(ids):
    prior = data_prior(fv, np.load(snakemake.input.images, mmap_mode="r"), seed=seed)
    best = direction_value(means, weights).max(axis=0)  # each direction's value on its best cell
    images, objective = render_directions(model, layer, weights, fv, snakemake.params.network["image_size"], seed,
                                          device, prior, best)
else:
    images = np.zeros((0, model.in_channels, snakemake.params.network["image_size"], snakemake.params.network["image_size"]), np.float32)
    objective = np.zeros(0, np.float32)
save_npz(snakemake.output[0], clusters=ids, sizes=sizes, weights=weights.astype(np.float32), images=images,
         objective=objective, n_noise=np.int64(np.sum(labels == -1)))
