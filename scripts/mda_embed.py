"""Rules mda_embed and mda_classifier (``use rule``): one layer's reduced features mapped to 2-D by
each method of ``params.settings``, and each map's scores."""
import time

import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.embedding_methods import fitted_sizes, make_embedder  # noqa: E402
from cellscape.runtime.io import write_csv, write_json  # noqa: E402
from cellscape.mda.guide import mda_guide  # noqa: E402
from cellscape.mda.scores import embedding_scores  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

params = snakemake.params
features = np.load(snakemake.input.reduced).astype(np.float64)
selection = read_cell_table(snakemake.input.selection)
if len(selection) != len(features):
    raise ValueError(f"{snakemake.input.reduced}: {len(features)} rows, {snakemake.input.selection} {len(selection)} cells")
if features.shape[1] == 1:  # a one-unit layer (the regression output): PCA needs two columns
    features = np.hstack([features, np.zeros_like(features)])
guide = mda_guide(selection, params.guide_columns, params.fallback_guide_columns)

for method, settings in params.settings.items():  # {method: {"method", "params" (this layer's overrides), "seed"}}
    embedder = make_embedder(settings["method"], settings["params"], random_state=settings["seed"])
    started = time.perf_counter()
    embedding = embedder.fit_transform(features, guide if method == "mda" else None)
    seconds = time.perf_counter() - started
    table = selection[list(params.keep_columns)].copy()
    table.insert(1, "x", embedding[:, 0])
    table.insert(2, "y", embedding[:, 1])
    write_csv(table, snakemake.output[f"embedding_{method}"])
    scores = embedding_scores(features, embedding, selection[params.score_column].to_numpy(dtype=np.float64),
                              random_state=settings["seed"])
    scores.update(seconds=seconds, n=int(len(features)), dims=int(features.shape[1]),
                  **{name: size["used"] for name, size in fitted_sizes(embedder).items()})
    print(method, scores, flush=True)
    write_json(scores, snakemake.output[f"scores_{method}"])
