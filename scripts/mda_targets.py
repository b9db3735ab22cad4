"""Rule mda_targets: every cell's nucleus-to-cell area ratio, with the simulator's value beside it."""
import numpy as np
import pandas as pd

from cellscape.runtime.io import write_csv
from cellscape.mda.target import ground_truth_agreement, measure_targets
from cellscape.runtime.rulerun import start

start(snakemake)
images = np.load(snakemake.input.images, mmap_mode="r")
index = pd.read_csv(snakemake.input.index, dtype={"id": str})
measured = measure_targets(images, index["row"].to_numpy(), min_object_px=snakemake.params.min_object_px)
table = index[["row", "id", "split", "class", "label"]].copy()
for column, values in measured.items():
    table[column] = values
if "nucleus_area_ratio" in index:  # simulated data: the ground truth
    table["truth"] = index["nucleus_area_ratio"].to_numpy()
    print("measured vs simulator ground truth:", ground_truth_agreement(table["target"], table["truth"]))
print(f"{int(np.isfinite(table['target']).sum())} of {len(table)} cells measured")
write_csv(table, snakemake.output[0])
