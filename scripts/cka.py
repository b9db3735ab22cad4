"""Rule cka: linear CKA between every pair of layers of the classifier, its copies trained from
other seeds, the label-free and the regression network, on the cells all their dumps hold
(metrics/cka.csv), each classifier layer's best match in every other network of its
architecture (metrics/cka_matches.csv) and the CKA matrices (Fig. 26).

``params.networks``: ``{network: its layers}`` in dump order, the classifier first; inputs
``selection_<network>`` (the dump's selection table) and ``features_<network>`` (one
``features.npy`` per layer)."""
import sys

import pandas as pd
from tqdm import tqdm

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.similarity_figures import cka_figure  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402
from cellscape.similarity.cells import cka_table, cross_matrix, shared_cells  # noqa: E402
from cellscape.similarity.cka import best_matches, gram_similarity, streamed_centred_gram, unit_gram  # noqa: E402

p, inp = snakemake.params, snakemake.input
networks = p.networks
selections = {net: (read_cell_table(inp[f"selection_{net}"]), inp[f"selection_{net}"]) for net in networks}
rows = shared_cells(selections, p.max_cells, p.seed)
cells = len(rows["classifier"])
print(f"{p.estimator} CKA on {cells} cells shared by the dumps of {', '.join(networks)}")

keys = [(net, layer) for net, layers in networks.items() for layer in layers]
paths = [path for net in networks for path in inp[f"features_{net}"]]
units = []
for (net, layer), path in zip(keys, tqdm(paths, desc="centred Gram matrices", file=sys.stderr, mininterval=5.0)):
    units.append(unit_gram(streamed_centred_gram(path, rows[net]), debiased=p.estimator == "debiased"))
    if units[-1] is None:
        print(f"{net} {layer}: constant over the cells, no CKA")
table = cka_table(gram_similarity(units), keys, cells).assign(estimator=p.estimator)
write_csv(table, snakemake.output.table)

reference = networks["classifier"]
panels, matches = [], []
for net, layers in networks.items():
    matrix = cross_matrix(table, "classifier", reference, net, layers)
    comparable = set(layers) <= set(p.order) and set(reference) <= set(p.order)  # one architecture: layers line up
    found = best_matches(matrix, reference, layers, p.order) if comparable else None
    if found is not None and net != "classifier":
        matches += [{"network_b": net, **row} for row in found]
    panels.append((net, layers, matrix, found))
matches = pd.DataFrame(matches, columns=["network_b", "layer_a", "best_b", "cka_best", "cka_same", "steps", "match"])
write_csv(matches, snakemake.output.matches)
if len(matches):
    print(matches.to_string(index=False))
save_figure(cka_figure(panels, reference, cells, p.estimator), *snakemake.output.figure)
