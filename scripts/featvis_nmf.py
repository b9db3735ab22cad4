"""Rule featvis_nmf: Fig. 17's data, one cell's layer tensor split into neuron groups by NMF,
and a feature image per group (objective: the group's channel weights as a direction)."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.featvis.tasks import data_prior, direction_value, example_cells, render_directions  # noqa: E402
from cellscape.model.hooks import layer_outputs  # noqa: E402
from cellscape.runtime.io import save_npz  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.featvis.nmf_groups import NeuronGroups  # noqa: E402

layer = snakemake.wildcards.layer
fv = snakemake.params.render
seed = snakemake.params.seed
device = job_device(snakemake)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
images = np.load(snakemake.input.images, mmap_mode="r")
# the same cell as Figs. 5 and 6: the most confidently classified test cell of the first class
cell = example_cells(read_cell_table(snakemake.input.predictions), 1).iloc[0]
image = np.asarray(images[int(cell["row"])], dtype=np.float32)
tensor = layer_outputs(model, image[None], [layer], device=device)[layer][0]
groups = NeuronGroups(fv["nmf_groups"], random_state=seed).fit(tensor)
print(f"{cell['id']}: NMF relative error {groups.reconstruction_error_:.3f}", flush=True)
prior = data_prior(fv, images, seed=seed)
# each group's objective in units of its value on this cell
scale = direction_value(tensor.mean(axis=(1, 2))[None], groups.channel_weights_)[0]
feature_images, objective = render_directions(model, layer, groups.channel_weights_, fv, snakemake.params.network["image_size"],
                                              seed, device, prior, scale)
save_npz(snakemake.output[0], cell_image=image, cell_id=str(cell["id"]), cell_class=str(cell["class"]),
         spatial=groups.spatial_.astype(np.float32), weights=groups.channel_weights_.astype(np.float32),
         error=groups.reconstruction_error_, images=feature_images, objective=objective)
