"""Rule fig01_06_model: paper Figs. 1, 3, 4, 5, 6 and the training curves."""
import json

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake, uses_torch=True)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures import model_figures as mf  # noqa: E402
from cellscape.model.hooks import layer_outputs  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

metrics = json.loads(open(snakemake.input.metrics).read())
classes = metrics["classes"]
net = snakemake.params.network
model = load_network(snakemake.input.weights, net)
out = snakemake.output
if "source" in net:  # a network trained elsewhere: its explored layers by their real names
    save_figure(mf.layers_figure(model, net, len(classes)), *out.fig01)
else:
    save_figure(mf.architecture_figure(model, net["model"], net["image_size"], len(classes)), *out.fig01)
save_figure(mf.confusion_figure(metrics), *out.fig03)
save_figure(mf.training_curves_figure(pd.read_csv(snakemake.input.history)), *out.curves)
save_figure(mf.kernels_figure(model, snakemake.params.channels), *out.fig04)

# Figs. 5 and 6 show the most confidently classified test cell of the first class.
predictions = read_cell_table(snakemake.input.predictions)
test = predictions[(predictions["split"] == "test") & (predictions["label"] == 0)]
cell = test.sort_values("certainty", ascending=False).iloc[0]
image = np.load(snakemake.input.images, mmap_mode="r")[int(cell["row"])]
label = cell["id"]
# the first four conv layers (4-D outputs); Fig. 5 the second
outputs = layer_outputs(model, image[None], model.layer_names)
conv = [name for name in model.layer_names if outputs[name].ndim == 4][:4]
maps = {mf.shown_name(net, layer): outputs[layer][0] for layer in conv}
second = list(maps)[min(1, len(maps) - 1)]
channels = snakemake.params.channels
save_figure(mf.conv2_activations_figure(image, maps[second], label, channels, second), *out.fig05)
save_figure(mf.combined_activations_figure(image, maps, label, channels), *out.fig06)
