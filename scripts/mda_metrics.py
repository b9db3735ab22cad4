"""Rule mda_metrics: every map's scores in one table (layer, method, scores, seconds)."""
import json

import pandas as pd

from cellscape.runtime.io import write_csv
from cellscape.runtime.rulerun import start

start(snakemake)
rows = [{"layer": layer, "method": method, **json.loads(open(path).read())}
        for (layer, method), path in zip(snakemake.params.layer_methods, snakemake.input)]
columns = ["layer", "method", "geodesic_correlation", "geodesic_correlation_knn", "knn_rmse", "knn_r2",
           "trustworthiness", "seconds", "n", "dims", "n_neighbors", "perplexity", "graph_k", "trust_k", "knn_k"]
write_csv(pd.DataFrame(rows).reindex(columns=columns), snakemake.output[0])  # a setting a method lacks: empty
