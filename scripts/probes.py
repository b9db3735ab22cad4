"""Rule probes: a linear probe of every layer (the input pixels first) for every cell feature, on
the trained and the untrained network's reduced features and on shuffled targets (probes.csv),
and the heat map of what each layer knows (Fig. 25)."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.features import catalogue  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.probe_figures import probe_figure  # noqa: E402
from cellscape.probes import probe_layers  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import join_on_id, read_cell_table  # noqa: E402

p, inp = snakemake.params, snakemake.input
selection = read_cell_table(inp.selection)
table = read_cell_table(inp.features)
features = join_on_id(selection[["id"]], table, inp.selection, inp.features, how="covers")
described = catalogue(p.channels, [c for c in table.columns if c not in ("row", "id")])
trained = {"input": np.load(inp.input)} | {layer: np.load(path) for layer, path in zip(p.layers, inp.trained)}
untrained = {"input": trained["input"]} | {layer: np.load(path) for layer, path in zip(p.layers, inp.untrained)}
probes = probe_layers(trained, untrained, features, described, p.folds, p.seed, p.level)
write_csv(probes, snakemake.output.table)
found = probes[probes["selectivity_low"] > 0].groupby("feature")["layer"].apply(list)
print(f"{len(probes)} probes on {len(features)} cells; features with selectivity above 0 (interval):")
print(found.to_string() if len(found) else "none")
figure = probe_figure(probes, ["input"] + list(p.layers),
                      f"What each layer knows: linear probes of cell features on {len(features)} cells "
                      f"({p.folds}-fold cross-validation)")
save_figure(figure, *snakemake.output.figure)
