"""Which cells CKA compares: the same cells, in the same order, in every network's dump.

Each network's dump follows its own selection table (``selection.csv``: one row per dumped cell,
in dump order). The classifier's copies and the label-free network dump the classifier's
selection; the regression network dumps its own, which may hold other cells. CKA needs one set:
the cells every selection holds, in the first selection's order, capped by a seeded sample.
No I/O here.
"""
import numpy as np
import pandas as pd

#: fewer shared cells than this and CKA's estimate is mostly its finite-sample bias
MIN_CELLS = 10


def shared_cells(selections, max_cells, seed):
    """``{network: dump rows}``: the positions, in each network's selection, of the cells every
    selection holds (at most ``max_cells``, a seeded sample kept in the first selection's order).

    ``selections``: ``{network: (table with an id column, its name for messages)}``; the first
    is the reference. Raises ValueError naming the tables when fewer than :data:`MIN_CELLS` cells
    are shared."""
    names = list(selections)
    reference = selections[names[0]][0]
    ids = pd.Index(reference["id"].astype(str))
    for name in names[1:]:
        ids = ids[ids.isin(selections[name][0]["id"].astype(str))]
    if len(ids) < MIN_CELLS:
        tables = ", ".join(f"{label} ({len(table)} cells)" for table, label in selections.values())
        raise ValueError(f"only {len(ids)} cells are in every one of {tables}: CKA needs at least {MIN_CELLS} "
                         "shared cells (the same cells dumped by every network)")
    if max_cells is not None and len(ids) > max_cells:
        keep = np.sort(np.random.default_rng(seed).choice(len(ids), max_cells, replace=False))
        ids = ids[keep]
    return {name: pd.Index(table["id"].astype(str)).get_indexer(ids) for name, (table, _) in selections.items()}


def cka_table(matrix, keys, cells):
    """The long table of a CKA matrix over ``keys`` ((network, layer) pairs): one row per
    unordered pair, a key with itself included, in ``keys``' order."""
    rows = []
    for i, (network_a, layer_a) in enumerate(keys):
        for j in range(i, len(keys)):
            network_b, layer_b = keys[j]
            rows.append({"network_a": network_a, "layer_a": layer_a, "network_b": network_b, "layer_b": layer_b,
                         "cka": matrix[i, j], "cells": cells})
    return pd.DataFrame(rows)


def cross_matrix(table, network_a, layers_a, network_b, layers_b):
    """The CKA of ``network_a``'s layers (rows) against ``network_b``'s (columns) from the long
    table (either orientation of each pair)."""
    value = {}
    for row in table.itertuples(index=False):
        value[(row.network_a, row.layer_a, row.network_b, row.layer_b)] = row.cka
        value[(row.network_b, row.layer_b, row.network_a, row.layer_a)] = row.cka
    return np.array([[value.get((network_a, a, network_b, b), np.nan) for b in layers_b] for a in layers_a])
