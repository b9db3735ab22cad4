"""Rule concepts: encoded versus used. For each layer and measure (``params.measures``: columns
of the cell table, e.g. the simulator's ground truth in data/index.csv): regression concept
vectors on the layer's reduced features (one per fold, with the held-out R^2: is it encoded),
lifted to the layer's full activation space; the class sensitivity along them and along
``params.random`` random directions of the same space; TCAV scores and their t-tests, Bonferroni
over layers x measures (is it used): metrics/concepts.csv and Fig. 27."""
import json

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.concepts.directions import lift_direction_streamed  # noqa: E402
from cellscape.concepts.sensitivity import bonferroni, concept_test, sensitivities  # noqa: E402
from cellscape.concepts.vectors import ConceptVectors  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.concept_figures import concepts_figure  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import read_rows, write_csv  # noqa: E402
from cellscape.runtime.tables import join_to_ids, read_cell_table  # noqa: E402

p, inp = snakemake.params, snakemake.input
classes = json.loads(open(inp.classes).read())
selection = read_cell_table(inp.selection)
table = read_cell_table(inp.table)
missing = [m for m in p.measures if m not in table.columns]
if missing:
    raise ValueError(f"config concepts.measures: {inp.table} has no column {', '.join(missing)} "
                     f"(its columns: {', '.join(table.columns)})")
values = join_to_ids(selection["id"], table[["id", *p.measures]], inp.selection, inp.table, how="covers")
labels = selection["label"].to_numpy()

directions, encoded = {}, {}
cells = np.arange(len(selection))
for layer, reduced_path, features_path in zip(p.layers, inp.reduced, inp.features):
    X = np.load(reduced_path)
    columns = []
    for measure in p.measures:
        vectors = ConceptVectors(p.folds, random_state=p.seed).fit(X, values[measure].to_numpy(dtype=float))
        columns.append(vectors.scores(X))
        encoded[(layer, measure)] = vectors.r2_
    columns.append(vectors.random_scores(X, p.random, p.seed))  # the same standardised space for every measure
    lifted = lift_direction_streamed(features_path, cells, np.concatenate(columns, axis=1))
    directions[layer] = lifted / np.linalg.norm(lifted, axis=1, keepdims=True)  # sensitivities per unit length
    print(f"{layer}: held-out R^2 " + ", ".join(f"{m} {encoded[(layer, m)].mean():.2f}" for m in p.measures))

device = job_device(snakemake)
model = load_network(inp.weights, p.network, device)
images = read_rows(np.load(inp.images, mmap_mode="r"), selection["row"].to_numpy())
found = sensitivities(model, images, directions, range(len(classes)), p.batch_size, device,
                      progress="class sensitivities")

rows = []
random_columns = list(range(len(p.measures) * p.folds, len(p.measures) * p.folds + p.random))
for layer in p.layers:
    for m, measure in enumerate(p.measures):
        fold_columns = list(range(m * p.folds, (m + 1) * p.folds))
        chosen = found[layer][:, :, fold_columns + random_columns]
        for row in concept_test(chosen, labels, classes, n_concept=p.folds):
            r2 = encoded[(layer, measure)]
            rows.append({"layer": layer, "measure": measure, "probe_r2": r2.mean(), "probe_r2_min": r2.min(), **row})
result = pd.DataFrame(rows)
result["p_bonferroni"] = bonferroni(result["p"], len(p.layers) * len(p.measures))
# encoded: every fold's probe predicts held-out cells better than their mean; used: encoded, and
# the direction's TCAV score unusual among random directions of the layer
result["encoded"] = result["probe_r2_min"] > 0
result["used"] = result["encoded"] & (result["p_bonferroni"] < p.alpha)
result["sign"] = np.where(~result["used"], "", np.where(result["tcav_score"] > result["random_mean"], "rises", "falls"))
write_csv(result, snakemake.output.table)
print(result.to_string(index=False))
save_figure(concepts_figure(result, p.layers, p.measures, classes, p.alpha), *snakemake.output.figure)
