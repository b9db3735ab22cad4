"""Rules dump_activations / dump_layers and their MDA twins (``use rule``): the features of the
selected images and their reductions, for one layer (``{layer}`` wildcard) or, from one forward
pass, every layer named by the outputs (``features_<layer>``, ``reduced_<layer>``);
``params.network`` says which head the weights have (classes, or the regression's one output);
``params.channels`` (rule label_free_layers): the image set's channels the network sees, by index;
``params.initial`` (rule untrained_layers): the network at its seeded random initialisation instead
of the trained weights, and output ``reduced_input``: the input pixels reduced the same way (the
probes' layer 0).

Both rules run this script with the same params and inputs, so Snakemake takes the files one
wrote as the other's (``make layer`` rebuilds one layer's dump alone)."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.activations.dump import dump_and_reduce_layers, reduce_images  # noqa: E402
from cellscape.data.channel_view import ChannelSubset  # noqa: E402
from cellscape.model.initial import initial_network  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import save_npy  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

s, out = snakemake.params.settings, snakemake.output
if "layer" in snakemake.wildcards.keys():
    features, reduced_paths = {snakemake.wildcards.layer: out.features}, {snakemake.wildcards.layer: out.reduced}
else:
    features = {key[len("features_"):]: path for key, path in out.items() if key.startswith("features_")}
    reduced_paths = {key[len("reduced_"):]: path for key, path in out.items()
                     if key.startswith("reduced_") and key != "reduced_input"}
device = job_device(snakemake)
selection = read_cell_table(snakemake.input.selection)
if getattr(snakemake.params, "initial", False):
    model = initial_network(snakemake.input.weights, snakemake.params.network, snakemake.params.seed, device)
else:
    model = load_network(snakemake.input.weights, snakemake.params.network, device)
images = np.load(snakemake.input.images, mmap_mode="r")
if getattr(snakemake.params, "channels", None) is not None:
    images = ChannelSubset(images, snakemake.params.channels)
reduced = dump_and_reduce_layers(model, images, selection["row"].to_numpy(), features, s["reduction"],
                                 s["reduced_dim"], snakemake.params.seed, dtype=s["dtype"],
                                 batch_size=s["batch_size"], device=device)
for layer, path in reduced_paths.items():
    save_npy(reduced[layer].astype(np.float32), path)
if "reduced_input" in out.keys():
    save_npy(reduce_images(images, selection["row"].to_numpy(), s["reduction"], s["reduced_dim"], snakemake.params.seed,
                           s["batch_size"]), out.reduced_input)
