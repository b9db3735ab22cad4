"""Rule fig22_mda_classifier: the classifier's layers as MDA maps above their UMAP maps."""
import json

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.mda_figures import classifier_mda_figure  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

layers = snakemake.params.layers
mda = {layer: read_cell_table(path) for layer, path in zip(layers, snakemake.input.mda)}
umap = {layer: read_cell_table(path) for layer, path in zip(layers, snakemake.input.umap)}
classes = json.loads(open(snakemake.input.classes).read())
guide = {"predicted": "predicted classes", "label": "class labels",
         "probabilities": "softmax probabilities"}[snakemake.params.classifier_target]
figure = classifier_mda_figure(mda, umap, layers, classes, guide=guide)
save_figure(figure, snakemake.output[0], snakemake.output[1])
