"""Rule featvis_channel_order: every conv layer's channels in rendering order (diverse, live first).

Profiles are the spatial-mean activation of each channel on up to ``featvis.profile_images``
test cells; they also give Fig. 16 the cells that drive each channel most. Per channel the table
holds whether it is live (``featvis.live_floor``) and its value on its best profiled cell, mean
(``best_cell``) and at the centre position (``best_centre``): the renders' objective scale and bar.
"""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.channel_order import channel_order, live_channels  # noqa: E402
from cellscape.featvis.tasks import channel_profiles  # noqa: E402
from cellscape.runtime.io import save_npz, write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402

layers = snakemake.params.layers
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
predictions = read_cell_table(snakemake.input.predictions)
test = predictions[predictions["split"] == "test"]
n = min(snakemake.params.profile_images, len(test))
rng = np.random.default_rng(snakemake.params.seed)
test = test.iloc[np.sort(rng.choice(len(test), size=n, replace=False))]
images = np.load(snakemake.input.images, mmap_mode="r")
profiles, centres = channel_profiles(model, images, test["row"].to_numpy(), layers, device)
floor = snakemake.params.live_floor

tables = []
for layer in layers:
    order = channel_order(profiles[layer], floor)
    p = profiles[layer][:, order]
    tables.append(pd.DataFrame({"layer": layer, "rank": np.arange(len(order)), "channel": order,
                                "mean_activation": p.mean(axis=0), "active_fraction": (p > 0).mean(axis=0),
                                "live": live_channels(profiles[layer], floor)[order], "best_cell": p.max(axis=0),
                                "best_centre": centres[layer][:, order].max(axis=0)}))
write_csv(pd.concat(tables, ignore_index=True), snakemake.output.order)
save_npz(snakemake.output.profiles, rows=test["row"].to_numpy(), ids=test["id"].to_numpy().astype(str),
         **{layer: profiles[layer] for layer in layers})
