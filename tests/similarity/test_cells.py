"""The same cells in the same order in every network's dump, and the CKA tables."""
import numpy as np
import pandas as pd
import pytest

from cellscape.similarity.cells import cka_table, cross_matrix, shared_cells


def selection(ids):
    return pd.DataFrame({"id": ids, "row": range(len(ids))})


def test_shared_cells_lines_up_each_dump_on_the_reference_order():
    reference = [f"lymphocyte/{k}" for k in range(20)]
    other = list(reversed(reference[5:])) + ["neutrophil/99"]  # other order, 5 cells missing, one extra
    rows = shared_cells({"classifier": (selection(reference), "a.csv"), "regression": (selection(other), "b.csv")},
                        max_cells=None, seed=0)
    kept = [reference[r] for r in rows["classifier"]]
    assert kept == reference[5:]  # the reference's order
    assert [other[r] for r in rows["regression"]] == kept  # the same cell at each position


def test_shared_cells_samples_at_most_max_cells_in_order_and_seeded():
    ids = [f"neutrophil/{k}" for k in range(100)]
    tables = {"classifier": (selection(ids), "a.csv"), "seed1": (selection(ids), "a.csv")}
    first = shared_cells(tables, max_cells=30, seed=4)
    assert len(first["classifier"]) == 30 and np.all(np.diff(first["classifier"]) > 0)
    np.testing.assert_array_equal(first["classifier"], shared_cells(tables, 30, seed=4)["classifier"])
    assert not np.array_equal(first["classifier"], shared_cells(tables, 30, seed=5)["classifier"])


def test_too_few_shared_cells_is_an_error_naming_the_tables():
    tables = {"classifier": (selection([f"a/{k}" for k in range(20)]), "activations/selection.csv"),
              "regression": (selection([f"b/{k}" for k in range(20)]), "mda/activations/selection.csv")}
    with pytest.raises(ValueError, match="mda/activations/selection.csv"):
        shared_cells(tables, None, 0)


def test_cka_table_holds_each_unordered_pair_once_and_cross_matrix_reads_either_orientation():
    keys = [("classifier", "conv1"), ("classifier", "dense1"), ("seed1", "conv1"), ("seed1", "dense1")]
    matrix = np.array([[1.0, 0.2, 0.9, 0.1],
                       [0.2, 1.0, 0.3, 0.8],
                       [0.9, 0.3, 1.0, 0.25],
                       [0.1, 0.8, 0.25, 1.0]])
    table = cka_table(matrix, keys, cells=50)
    assert len(table) == 10 and (table["cells"] == 50).all()
    cross = cross_matrix(table, "seed1", ["conv1", "dense1"], "classifier", ["conv1", "dense1"])
    np.testing.assert_array_equal(cross, [[0.9, 0.3], [0.1, 0.8]])
