"""Rule featvis_chunk: feature images (unfiltered and activation-filtered) of one chunk of a layer's channels."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.tasks import best_cells, data_prior, render_channels  # noqa: E402
from cellscape.runtime.io import save_npz  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

layer = snakemake.wildcards.layer
start_slot, stop_slot = snakemake.params.slots
order = pd.read_csv(snakemake.input.order)
channels = order[order["layer"] == layer].sort_values("rank")["channel"].to_numpy()[start_slot:stop_slot]
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
fv = snakemake.params.render
seed = snakemake.params.seed
prior = data_prior(fv, np.load(snakemake.input.images, mmap_mode="r"), seed=seed)
result = render_channels(model, layer, channels, fv, snakemake.params.network["image_size"], seed, device, prior,
                         best_cells(order, layer, channels, fv))
print(f"{layer} channels {channels.tolist()}: {result['steps_run'].tolist()} steps in {result['seconds']:.1f} s; "
      f"objective / best cell {result['best_cell_ratio'].round(2).tolist()}, saturated "
      f"{result['saturated'].round(3).tolist()}, feedback {result['feedback'].round(2).tolist()}", flush=True)
save_npz(snakemake.output[0], **result)
