"""Rule label_free_separation: the label-free network's test scores beside the classifier's, and
both networks' class separation per layer in feature space on the same cells (tables, Fig. 24)."""
import json

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embeddings.separation import feature_separation  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.embedding_figures import separation_figure  # noqa: E402
from cellscape.model.channel_use import score_columns  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p, inp = snakemake.params, snakemake.input
networks = {"all_channels": (json.loads(open(inp.metrics).read()), p.channels),
            "label_free": (json.loads(open(inp.label_free_metrics).read()), p.label_free_channels)}
accuracy = pd.DataFrame([{"network": name, "channels": " ".join(channels), "n_cells": metrics["n_test"],
                          **score_columns(metrics)} for name, (metrics, channels) in networks.items()])
write_csv(accuracy, snakemake.output.accuracy)

labels = read_cell_table(inp.selection)["label"].to_numpy()
label_free = feature_separation({layer: np.load(path) for layer, path in zip(p.layers, inp.reduced)}, labels, p.seed)
full = pd.concat([pd.read_csv(path) for path in inp.separation], ignore_index=True)
full = full[full["space"] == "features"][label_free.columns]
separation = pd.concat([full.assign(network="all_channels"), label_free.assign(network="label_free")],
                       ignore_index=True)[["layer", "network", "knn_accuracy", "silhouette"]]
write_csv(separation, snakemake.output.separation)
print(accuracy.to_string(index=False))

shown = {name: f"{name.replace('_', ' ')} ({', '.join(channels)}): accuracy {metrics['test_accuracy']:.2f}, "
               f"balanced accuracy {metrics['balanced_accuracy']:.2f}" for name, (metrics, channels) in networks.items()}
figure = separation_figure(separation.assign(space=separation["network"].map(shown)), p.layers,
                           title="Class separation by layer: all channels vs label-free channels only",
                           legend_title="network (its test accuracy)", shared_legend=True)
save_figure(figure, *snakemake.output.figure)
