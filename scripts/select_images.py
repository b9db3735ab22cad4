"""Rule select_images: the images whose activations are dumped (test split or all), in dump order."""
import pandas as pd

from cellscape.runtime.io import write_csv
from cellscape.runtime.rulerun import start

start(snakemake)
predictions = pd.read_csv(snakemake.input.predictions, dtype={"id": str})
if snakemake.params.split != "all":
    predictions = predictions[predictions["split"] == snakemake.params.split]
write_csv(predictions.reset_index(drop=True), snakemake.output[0])
