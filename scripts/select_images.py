"""Rule select_images: the images whose activations are dumped (test split or all), in dump order."""
from cellscape.runtime.io import write_csv
from cellscape.runtime.rulerun import start
from cellscape.runtime.tables import read_cell_table

start(snakemake)
predictions = read_cell_table(snakemake.input.predictions)
if snakemake.params.split != "all":
    predictions = predictions[predictions["split"] == snakemake.params.split]
write_csv(predictions.reset_index(drop=True), snakemake.output[0])
