"""Rule featvis_evolution: Fig. 13's data, the first channels of a layer's order drawn at increasing step counts."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.tasks import best_cells, data_prior, render_evolution  # noqa: E402
from cellscape.runtime.io import save_npz  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

layer = snakemake.wildcards.layer
fv = snakemake.params.render
seed = snakemake.params.seed
order = pd.read_csv(snakemake.input.order)
channels = order[order["layer"] == layer].sort_values("rank")["channel"].to_numpy()[:fv["evolution_channels"]]
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
prior = data_prior(fv, np.load(snakemake.input.images, mmap_mode="r"), seed=seed)
save_npz(snakemake.output[0], **render_evolution(model, layer, channels, fv, snakemake.params.network["image_size"],
                                                 seed, device, prior, best_cells(order, layer, channels, fv)))
