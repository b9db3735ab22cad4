"""Rules dump_activations and mda_activations (``use rule``): one layer's features for the selected
images and their reduction; ``params.network`` says which head the weights have (classes, or
the regression's one output)."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.activations.dump import dump_and_reduce  # noqa: E402
from cellscape.model.network import load_network  # noqa: E402
from cellscape.runtime.io import save_npy  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

s = snakemake.params.settings
device = job_device(snakemake)
selection = read_cell_table(snakemake.input.selection)
model = load_network(snakemake.input.weights, snakemake.params.network, device)
images = np.load(snakemake.input.images, mmap_mode="r")
reduced = dump_and_reduce(model, images, selection["row"].to_numpy(), snakemake.wildcards.layer,
                          snakemake.output.features, s["reduction"], s["reduced_dim"], snakemake.params.seed,
                          dtype=s["dtype"], batch_size=s["batch_size"], device=device)
save_npy(reduced.astype(np.float32), snakemake.output.reduced)
