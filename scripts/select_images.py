"""Rule select_images (and mda_selection): the cells whose activations are dumped, in dump
order: the configured split, capped at ``max_cells`` by a seeded stratified sample."""
from cellscape.activations.selection import select_cells
from cellscape.runtime.io import write_csv
from cellscape.runtime.rulerun import start
from cellscape.runtime.tables import read_cell_table

start(snakemake)
p = snakemake.params
predictions = read_cell_table(snakemake.input.predictions)
selection = select_cells(predictions, p.split, p.max_cells, p.seed)
print(f"{len(selection)} cells selected from {len(predictions)} ({p.split} split, cap {p.max_cells})")
write_csv(selection, snakemake.output[0])
