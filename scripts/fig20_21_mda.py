"""Rule fig20_21_mda: maps of the regression net's layers by target and by error; the scores."""
import json

import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.mda_figures import regression_maps_figure, scores_figure  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

params, out = snakemake.params, snakemake.output
keys = [(layer, method) for layer in params.layers for method in params.methods]
embeddings = {key: read_cell_table(path) for key, path in zip(keys, snakemake.input.embeddings)}
test_error = json.loads(open(snakemake.input.test_error).read())
n = len(next(iter(embeddings.values())))
figure = regression_maps_figure(
    embeddings, params.layers, params.methods, column="target", colour_label="nucleus / cell area (measured)",
    title=f"Regression network: {n} cells' features per layer, coloured by the target "
          f"(test RMSE {test_error['rmse']:.3f}, R$^2$ {test_error['r2']:.2f})")
save_figure(figure, out.target[0], out.target[1])
figure = regression_maps_figure(
    embeddings, params.layers, params.methods, column="error", diverging=True,
    colour_label="prediction error (predicted - target)",
    title="Regression network: the same maps coloured by the network's prediction error")
save_figure(figure, out.error[0], out.error[1])
metrics = pd.read_csv(snakemake.input.metrics)
save_figure(scores_figure(metrics, params.all_layers, test_error), out.scores[0], out.scores[1])
