"""Rule fig16_neuron_examples: channels' feature images beside their activation maps on example cells and the
test cells that activate them most (paper Fig. 16)."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.tasks import example_cells  # noqa: E402
from cellscape.model.hooks import layer_outputs  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import neuron_examples_figure  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

layer = snakemake.params.layer
k = snakemake.params.neuron_channels
fv = np.load(snakemake.input.features)
channels = fv["channels"][:k]
profiles = np.load(snakemake.input.profiles)
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
images = np.load(snakemake.input.images, mmap_mode="r")
predictions = read_cell_table(snakemake.input.predictions)
by_row = predictions.set_index("row")

examples = example_cells(predictions, 1).head(2)
example_images = np.asarray(images[np.sort(examples["row"].to_numpy())], dtype=np.float32)
examples = examples.sort_values("row")
example_maps = layer_outputs(model, example_images, [layer], device=device)[layer][:, channels].transpose(1, 0, 2, 3)

# the two profiled test cells with the highest mean activation of each channel
top_rows = profiles["rows"][np.argsort(-profiles[layer][:, channels], axis=0, kind="stable")[:2].T]  # (k, 2)
unique_rows = np.unique(top_rows)
unique_images = np.asarray(images[unique_rows], dtype=np.float32)
unique_maps = layer_outputs(model, unique_images, [layer], device=device)[layer]
where = np.searchsorted(unique_rows, top_rows)
top_images = unique_images[where]
top_maps = unique_maps[where, channels[:, None]]
top_labels = [[str(by_row.loc[r, "id"]) for r in pair] for pair in top_rows]
example_labels = examples["id"].tolist()
save_figure(neuron_examples_figure(layer, channels, fv["images"][:k], fv["filtered"][:k], example_images,
                                   example_labels, example_maps, top_images, top_labels, top_maps,
                                   snakemake.params.channels),
            *snakemake.output)
