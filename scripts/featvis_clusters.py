"""Rule featvis_clusters: Fig. 18's data, a feature image per DBSCAN cluster of a layer's embedding,
maximising the direction of the channels the cluster activates more than the whole set."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.cluster_directions import channel_means, cluster_weights, drawable_clusters  # noqa: E402
from cellscape.featvis.tasks import colour_mixing, render_directions  # noqa: E402
from cellscape.runtime.io import save_npz  # noqa: E402
from cellscape.model.network import load_network  # noqa: E402

layer = snakemake.wildcards.layer
fv = snakemake.params.render
seed = snakemake.params.seed
selection = pd.read_csv(snakemake.input.selection, dtype={"id": str})
clusters = pd.read_csv(snakemake.input.clusters, dtype={"id": str})
labels = selection[["id"]].merge(clusters, on="id", how="left")["cluster"].fillna(-1).to_numpy(dtype=np.int64)
model = load_network(snakemake.input.weights, snakemake.params.network)
n_channels = model.layer(layer)[0].out_channels
means = channel_means(np.load(snakemake.input.features, mmap_mode="r"), n_channels)
ids, weights = cluster_weights(means, labels)
keep = drawable_clusters(labels, ids, weights, fv["max_clusters"])
ids, weights = ids[keep], weights[keep]
sizes = np.array([np.sum(labels == c) for c in ids], dtype=np.int64)
print(f"{layer}: {len(set(labels.tolist()) - {-1})} clusters, drawing {ids.tolist()} (sizes {sizes.tolist()})",
      flush=True)
device = job_device(snakemake)
model.to(device)
if len(ids):
    colour = colour_mixing(fv, np.load(snakemake.input.images, mmap_mode="r"), seed=seed)
    images, objective = render_directions(model, layer, weights, fv, snakemake.params.network["image_size"], seed,
                                          device, colour)
else:
    images = np.zeros((0, model.in_channels, snakemake.params.network["image_size"], snakemake.params.network["image_size"]), np.float32)
    objective = np.zeros(0, np.float32)
save_npz(snakemake.output[0], clusters=ids, sizes=sizes, weights=weights.astype(np.float32), images=images,
         objective=objective, n_noise=np.int64(np.sum(labels == -1)))
