"""Rule fig01_06_model: paper Figs. 1, 3, 4, 5, 6 and the training curves."""
import json

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake, uses_torch=True)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures import model_figures as mf  # noqa: E402
from cellscape.model.hooks import layer_outputs  # noqa: E402
from cellscape.model.network import load_network  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

metrics = json.loads(open(snakemake.input.metrics).read())
classes = metrics["classes"]
net = snakemake.params.network
model = load_network(snakemake.input.weights, net)
out = snakemake.output
save_figure(mf.architecture_figure(model, net["model"], net["image_size"], len(classes)), *out.fig01)
save_figure(mf.confusion_figure(metrics), *out.fig03)
save_figure(mf.training_curves_figure(pd.read_csv(snakemake.input.history)), *out.curves)
save_figure(mf.kernels_figure(model), *out.fig04)

# Figs. 5 and 6 show the most confidently classified test cell of the first class.
predictions = read_cell_table(snakemake.input.predictions)
test = predictions[(predictions["split"] == "test") & (predictions["label"] == 0)]
cell = test.sort_values("certainty", ascending=False).iloc[0]
image = np.load(snakemake.input.images, mmap_mode="r")[int(cell["row"])]
label = cell["id"]
conv = [n for n in model.layer_names if n.startswith("conv")][:4]
maps = {layer: acts[0] for layer, acts in layer_outputs(model, image[None], conv).items()}
save_figure(mf.conv2_activations_figure(image, maps["conv2"], label), *out.fig05)
save_figure(mf.combined_activations_figure(image, maps, label), *out.fig06)
