"""Which cells the attribution checks look at: a seeded sample of test cells, the same number of
each class, interleaved (class 0, class 1, ..., class 0, ...) so any prefix covers every class.

A random sample and not the most confident cells: a cell the network is sure of keeps its
predicted probability near 1 whatever pixels are removed, which would hide how faithful a map is.
"""
import numpy as np
import pandas as pd


def check_cells(predictions, per_class, seed=0):
    """Up to ``per_class`` test cells of each class (all cells when there is no test split),
    interleaved by class; the rows of ``predictions`` (row, id, split, label, ...) in that order."""
    table = pd.DataFrame(predictions)
    if "split" in table and (table["split"] == "test").any():
        table = table[table["split"] == "test"]
    rng = np.random.default_rng(seed)
    picked = []
    for _, group in table.groupby("label", sort=True):
        take = rng.permutation(len(group))[:per_class]
        picked.append(group.iloc[take].assign(_k=np.arange(len(take))))
    if not picked:
        raise ValueError("attribution: the predictions table has no cells to check")
    return (pd.concat(picked).sort_values(["_k", "label"], kind="stable").drop(columns="_k")
            .reset_index(drop=True))
