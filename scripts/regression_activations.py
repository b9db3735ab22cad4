"""Rule regression_activations: one layer of the regression net for the selected cells, and its reduction."""
import numpy as np
import pandas as pd

from cellscape.rulerun import start

config = start(snakemake, uses_torch=True)
from cellscape.activations import dump_layer  # noqa: E402
from cellscape.io import save_npy  # noqa: E402
from cellscape.model import load_model, resolve_device  # noqa: E402
from cellscape.reduce import reduce_streamed  # noqa: E402

act = config["activations"]
device = resolve_device(config["device"])
selection = pd.read_csv(snakemake.input.selection, dtype={"id": str})
model = load_model(snakemake.input.weights, config["model"], config["image_size"], 1, device=device)
images = np.load(snakemake.input.images, mmap_mode="r")
dump_layer(model, images, selection["row"].to_numpy(), snakemake.wildcards.layer, snakemake.output.features,
           dtype=act["dtype"], batch_size=act["batch_size"], device=device)
reduced = reduce_streamed(snakemake.output.features, act["reduction"], act["reduced_dim"], config["seed"])
save_npy(reduced.astype(np.float32), snakemake.output.reduced)
