"""Rule mda_targets: every cell's regression target (``params.target``: a built-in measurement of
the filtered images, or the user's ``id,value`` CSV), with the other measurements and, on
simulated data, the simulator's ground truth beside it."""
import numpy as np
import pandas as pd

from cellscape.mda.target import ground_truth_agreement, measure_targets, user_target
from cellscape.runtime.io import write_csv
from cellscape.runtime.rulerun import start
from cellscape.runtime.tables import read_cell_table

start(snakemake)
target = snakemake.params.target
images = np.load(snakemake.input.images, mmap_mode="r")
index = read_cell_table(snakemake.input.index)
measured = measure_targets(images, index["row"].to_numpy(), min_object_px=snakemake.params.min_object_px,
                           roles=snakemake.params.roles)
table = index[["row", "id", "split", "class", "label"]].copy()
for column, values in measured.items():
    table[column] = values
if snakemake.input.get("user_target"):
    path = snakemake.input.user_target
    table["target"] = user_target(pd.read_csv(path, dtype={"id": str}), table["id"], path)  # checked join
else:
    table["target"] = table[target]
if target == "nucleus_area_ratio" and "nucleus_area_ratio" in index:  # simulated data: the ground truth
    table["truth"] = index["nucleus_area_ratio"].to_numpy()
    print("measured vs simulator ground truth:", ground_truth_agreement(table["target"], table["truth"]))
finite = np.isfinite(table["target"])
if np.ptp(table.loc[finite, "target"]) == 0:
    raise ValueError(f"target {target}: constant over the {int(finite.sum())} measured cells: nothing to regress")
print(f"target {target}: {int(finite.sum())} of {len(table)} cells measured")
write_csv(table, snakemake.output[0])
