"""Which cells are dumped, embedded, grid-mapped and shown: a split (test or all), capped.

Everything after training costs time and disk in proportion to these cells (a conv1 dump is
389 KB per cell; t-SNE, grid mapping and the explorer grow faster than linearly), so the cap
``activations.max_cells`` keeps those stages bounded however many events an experiment has.
The capped set is a seeded sample stratified by split and class (each stratum keeps its share,
rounded by largest remainder), drawn from the cells' ids alone: every layer, every method and
both networks (the classifier and MDA's regression net) see the same cells.
"""
import numpy as np
import pandas as pd

#: the columns the sample is stratified by
STRATA = ("split", "class")


def stratum_quotas(sizes, total):
    """Cells to keep from strata of ``sizes`` so that they add up to ``total``: each stratum's
    proportional share, the remainder given to the largest fractional parts (ties: first)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    exact = sizes * total / sizes.sum()
    quotas = np.floor(exact).astype(np.int64)
    left = int(total - quotas.sum())
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[:left]] += 1
    return np.minimum(quotas, sizes)


def capped_cells(table, max_cells, seed, strata=STRATA):
    """The rows of ``table`` (a cell table with ``id`` and the ``strata`` columns) to keep:
    all of them when there are at most ``max_cells`` (or ``max_cells`` is None), else a seeded
    sample stratified by ``strata``, in the table's own order.

    The draw depends only on the cells' ids and strata, not on the table's row order.
    """
    if max_cells is None or len(table) <= max_cells:
        return table
    missing = [c for c in strata if c not in table.columns]
    if missing:
        raise ValueError(f"capping the selection needs the columns {missing} (has {list(table.columns)})")
    groups = sorted(table.groupby(list(strata), sort=True).indices.items())
    quotas = stratum_quotas([len(rows) for _, rows in groups], max_cells)
    rng = np.random.default_rng(seed)
    ids = table["id"].astype(str).to_numpy()
    keep = []
    for (_, rows), quota in zip(groups, quotas):
        rows = rows[np.argsort(ids[rows], kind="stable")]
        keep.append(rng.choice(rows, size=int(quota), replace=False))
    keep = np.sort(np.concatenate(keep))
    return table.iloc[keep]


def select_cells(predictions, split, max_cells, seed):
    """The cells whose activations are dumped: ``split`` ("test", or "all" cells) of the
    ``predictions`` table, capped at ``max_cells`` (:func:`capped_cells`), index reset."""
    table = predictions if split == "all" else predictions[predictions["split"] == split]
    return pd.DataFrame(capped_cells(table, max_cells, seed)).reset_index(drop=True)


def misclassified_first(cells, max_cells, seed):
    """Positions (in ``cells``' order, sorted) of at most ``max_cells`` cells: every misclassified
    cell first (most confidently wrong first, up to the cap), the rest a seeded class-stratified
    sample of the correctly classified ones. The explorer's attribution and feature-localisation
    sets: the cells a user most wants explained are always in, the others spread over the classes.
    """
    cells = pd.DataFrame(cells).reset_index(drop=True)
    if max_cells is None or len(cells) <= max_cells:
        return np.arange(len(cells))
    wrong = cells["label"].to_numpy() != cells["predicted_label"].to_numpy()
    wrong_rows = np.flatnonzero(wrong)
    wrong_rows = wrong_rows[np.argsort(-cells["certainty"].to_numpy()[wrong_rows], kind="stable")][:max_cells]
    left = max_cells - len(wrong_rows)
    right = cells[~wrong]
    sample = capped_cells(right, left, seed, strata=("class",)).index.to_numpy() if left > 0 else []
    return np.sort(np.concatenate([wrong_rows, np.asarray(sample, dtype=np.int64)])).astype(np.int64)
