"""The cap on the cells that are dumped, embedded and shown: stratified, seeded, the same cells
whatever the table's order or which network's predictions it comes from."""
import numpy as np
import pandas as pd
import pytest

from cellscape.activations.selection import capped_cells, select_cells, stratum_quotas


def predictions(n=1000, seed=1):
    """A predictions-like table: 60:20:20 split, two classes at 70:30, ids '<class>/<object>'."""
    rng = np.random.default_rng(seed)
    cls = np.where(rng.random(n) < 0.7, "lymphocyte", "neutrophil")
    split = rng.choice(["train", "val", "test"], size=n, p=[0.6, 0.2, 0.2])
    return pd.DataFrame({"row": np.arange(n), "id": [f"{c}/{k:05d}" for k, c in enumerate(cls)],
                         "split": split, "class": cls, "certainty": rng.random(n)})


def test_quotas_add_up_and_follow_the_shares():
    quotas = stratum_quotas([700, 300], 101)
    assert quotas.sum() == 101
    assert list(quotas) == [71, 30]  # 70.7 and 30.3: the larger remainder gets the extra cell


def test_cap_keeps_each_class_and_splits_share():
    table = predictions()
    kept = capped_cells(table, 200, seed=0)
    assert len(kept) == 200 and kept["id"].is_unique
    share = table.groupby(["split", "class"]).size() / len(table)
    kept_share = kept.groupby(["split", "class"]).size() / len(kept)
    # every stratum within one cell of its proportional share
    assert ((kept_share - share).abs() * len(kept) <= 1).all()


def test_cap_does_not_depend_on_row_order_or_other_columns():
    table = predictions()
    shuffled = table.sample(frac=1, random_state=5)
    other_net = table.drop(columns="certainty").assign(target=np.arange(len(table)))  # e.g. MDA's predictions
    ids = set(capped_cells(table, 150, seed=3)["id"])
    assert set(capped_cells(shuffled, 150, seed=3)["id"]) == ids
    assert set(capped_cells(other_net, 150, seed=3)["id"]) == ids
    assert set(capped_cells(table, 150, seed=4)["id"]) != ids  # the seed matters


def test_cap_keeps_table_order():
    kept = capped_cells(predictions(), 100, seed=0)
    assert kept["row"].is_monotonic_increasing


def test_cap_larger_than_the_split_keeps_every_cell():
    table = predictions()
    test = select_cells(table, "test", 10 ** 6, seed=0)
    assert list(test["id"]) == list(table.loc[table["split"] == "test", "id"])
    assert len(select_cells(table, "all", None, seed=0)) == len(table)


def test_select_caps_the_test_split_only():
    table = predictions()
    test = select_cells(table, "test", 50, seed=0)
    assert len(test) == 50 and set(test["split"]) == {"test"}
    assert list(test.index) == list(range(50))


def test_cap_needs_the_strata_columns():
    with pytest.raises(ValueError, match="class"):
        capped_cells(predictions().drop(columns="class"), 10, seed=0)
