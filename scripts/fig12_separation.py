"""Rule fig12_separation: every layer's separation metrics in one table, and its plot."""
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.embedding_figures import separation_figure  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402

table = pd.concat([pd.read_csv(path) for path in snakemake.input], ignore_index=True)
write_csv(table, snakemake.output.table)
save_figure(separation_figure(table, snakemake.params.layers), *snakemake.output.figure)
