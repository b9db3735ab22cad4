"""Rules dump_activations, regression_activations: one layer's features for the selected images,
and their reduction (``params.n_outputs``: the network's head, classes or one regression output)."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

config = start(snakemake, uses_torch=True)
from cellscape.activations.dump import dump_and_reduce  # noqa: E402
from cellscape.runtime.io import save_npy  # noqa: E402
from cellscape.model.network import load_model, resolve_device  # noqa: E402

act = config["activations"]
device = resolve_device(config["device"])
selection = pd.read_csv(snakemake.input.selection, dtype={"id": str})
model = load_model(snakemake.input.weights, config["model"], config["image_size"], snakemake.params.n_outputs,
                   device=device)
images = np.load(snakemake.input.images, mmap_mode="r")
reduced = dump_and_reduce(model, images, selection["row"].to_numpy(), snakemake.wildcards.layer,
                          snakemake.output.features, act["reduction"], act["reduced_dim"], config["seed"],
                          dtype=act["dtype"], batch_size=act["batch_size"], device=device)
save_npy(reduced.astype(np.float32), snakemake.output.reduced)
