"""Rule cell_features: every cell's features a cytometrist knows (cellscape.features), from the
filtered image set streamed in chunks, and on simulated data the simulator's truth beside them."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.features import measure_image_set, truth_agreement, truth_table  # noqa: E402
from cellscape.runtime.io import write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
images = np.load(snakemake.input.images, mmap_mode="r")
index = read_cell_table(snakemake.input.index)
if len(index) != len(images):
    raise ValueError(f"{snakemake.input.index} has {len(index)} rows and {snakemake.input.images} {len(images)} "
                     "images: the image set is inconsistent; rerun ingestion")
measured = measure_image_set(images, index["row"].to_numpy(), p.channels, p.min_object_px, p.chunk)
table = pd.concat([index[["row", "id"]].reset_index(drop=True), measured, truth_table(index)], axis=1)
for row in truth_agreement(table):
    print(f"measured {row['measured']} vs {row['truth']}: Pearson r {row['pearson_r']:.3f} on {row['n']} cells")
write_csv(table, snakemake.output[0])
