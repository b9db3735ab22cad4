"""Rule fig15_feature_grid: all feature images of a layer on a grid following a UMAP of their own
feature tensors at that layer (paper Fig. 15)."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.embeddings.umap_embedder import UMAPEmbedder  # noqa: E402
from cellscape.model.hooks import layer_outputs  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import feature_grid_figure  # noqa: E402
from cellscape.embeddings.gridmap import grid_positions  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

layer = snakemake.params.layer
fv = np.load(snakemake.input.features)
order = np.argsort(fv["channels"], kind="stable")  # channel order: the layout does not depend on rank
channels, images, filtered = fv["channels"][order], fv["images"][order], fv["filtered"][order]
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
tensors = layer_outputs(model, images, [layer], device=device)[layer].reshape(len(images), -1)
umap_cfg = snakemake.params.umap
embedding = UMAPEmbedder(n_neighbors=umap_cfg["n_neighbors"], min_dist=umap_cfg["min_dist"],
                         random_state=snakemake.params.seed).fit_transform(tensors)
grid, _ = grid_positions(embedding, method="dense")
write_csv(pd.DataFrame({"channel": channels, "x": embedding[:, 0], "y": embedding[:, 1],
                        "gx": grid[:, 0], "gy": grid[:, 1]}), snakemake.output.grid)
save_figure(feature_grid_figure(channels, images, filtered, embedding, grid, layer, snakemake.params.channels),
            *snakemake.output.figure)
