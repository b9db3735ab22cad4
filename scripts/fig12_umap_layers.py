"""Rule umap_layers_figure: paper Fig. 12, the UMAP of every layer with one colour key."""
from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.embedding_figures import layers_figure  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

tables = {layer: read_cell_table(path) for layer, path in zip(snakemake.params.layers, snakemake.input)}
save_figure(layers_figure(tables, snakemake.params.classes), *snakemake.output)
