"""The one reader and the one join of tables keyed by cell id: wrong cells are errors that say where."""
import pandas as pd
import pytest

from cellscape.runtime.tables import TableError, join_on_id, read_cell_table


def test_reader_keeps_ids_and_object_numbers_as_text(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("row,id,object,label\n0,lymphocyte/007,007,0\n1,neutrophil/007,007,1\n2,12,12,1\n")
    table = read_cell_table(path)
    assert table["id"].tolist() == ["lymphocyte/007", "neutrophil/007", "12"]
    assert table["object"].tolist() == ["007", "007", "12"]
    assert table["label"].tolist() == [0, 1, 1]


def test_reader_names_the_file_the_ids_and_their_source_files(tmp_path):
    path = tmp_path / "index.csv"
    path.write_text("row,id,source\n0,a/1,/x/a/1_Ch2.tif\n1,a/2,/x/a/2_Ch2.tif\n2,a/1,/y/a/1_Ch2.tif\n")
    with pytest.raises(TableError) as err:
        read_cell_table(path, "data/index.csv")
    message = str(err.value)
    assert "data/index.csv" in message and "'a/1'" in message and "'a/2'" not in message
    assert "/x/a/1_Ch2.tif" in message and "/y/a/1_Ch2.tif" in message


def test_reader_without_a_name_names_the_path(tmp_path):
    path = tmp_path / "clusters.csv"
    path.write_text("id,cluster\n5,0\n5,1\n")
    with pytest.raises(TableError, match="clusters.csv.*'5'"):
        read_cell_table(path)


def test_reader_requires_an_id_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("cell,x\n1,2\n")
    with pytest.raises(TableError, match="no 'id' column"):
        read_cell_table(path)


LEFT = pd.DataFrame({"id": ["c", "a", "b"], "x": [3.0, 1.0, 2.0]})


def test_join_keeps_the_left_order_and_adds_the_right_columns():
    right = pd.DataFrame({"id": ["a", "b", "c"], "cluster": [10, 20, 30]})
    joined = join_on_id(LEFT, right, "selection", "clusters")
    assert joined["id"].tolist() == ["c", "a", "b"]
    assert joined["x"].tolist() == [3.0, 1.0, 2.0]
    assert joined["cluster"].tolist() == [30, 10, 20]


def test_join_matches_ids_written_as_numbers_and_as_text():
    right = pd.DataFrame({"id": [1, 2], "v": ["one", "two"]})
    joined = join_on_id(pd.DataFrame({"id": ["2", "1"]}), right, "left", "right")
    assert joined["v"].tolist() == ["two", "one"]


def test_exact_join_names_the_ids_the_right_table_lacks():
    right = pd.DataFrame({"id": ["a", "b"], "cluster": [1, 2]})
    with pytest.raises(TableError) as err:
        join_on_id(LEFT, right, "selection.csv", "clusters.csv")
    assert "clusters.csv lacks 1 of the 3 cells of selection.csv: 'c'" in str(err.value)


def test_exact_join_names_the_ids_the_right_table_adds():
    right = pd.DataFrame({"id": ["a", "b", "c", "z"], "cluster": [1, 2, 3, 4]})
    with pytest.raises(TableError, match="clusters.csv holds 1 cells that selection.csv lacks: 'z'"):
        join_on_id(LEFT, right, "selection.csv", "clusters.csv")
    covered = join_on_id(LEFT, right, "selection.csv", "predictions.csv", how="covers")
    assert covered["cluster"].tolist() == [3, 1, 2]


@pytest.mark.parametrize("side", ["left", "right"])
def test_join_names_an_id_repeated_on_either_side(side):
    twice = pd.DataFrame({"id": ["a", "b", "c", "b"], "cluster": [1, 2, 3, 4]})
    left, right = (twice[["id"]], LEFT) if side == "left" else (LEFT, twice)
    with pytest.raises(TableError) as err:
        join_on_id(left, right, "L.csv", "R.csv", how="covers")
    message = str(err.value)
    assert "joining L.csv with R.csv" in message
    assert f"{'L.csv' if side == 'left' else 'R.csv'}: 1 cell ids occur more than once: 'b'" in message


def test_partial_join_gives_nan_where_the_right_table_lacks_a_cell():
    right = pd.DataFrame({"id": ["b"], "target": [0.5]})
    joined = join_on_id(LEFT, right, "selection", "mda targets", how="partial")
    assert joined["id"].tolist() == ["c", "a", "b"]
    assert joined["target"].isna().tolist() == [True, True, False]


def test_join_checks_the_expected_row_count():
    right = pd.DataFrame({"id": ["a", "b", "c"], "cluster": [1, 2, 3]})
    with pytest.raises(TableError, match="3 rows where 4 are expected"):
        join_on_id(LEFT, right, "selection", "clusters", expected_rows=4)


def test_join_refuses_columns_both_tables_hold_unless_told_how_to_rename():
    right = pd.DataFrame({"id": ["a", "b", "c"], "x": [9.0, 8.0, 7.0]})
    with pytest.raises(TableError, match=r"both hold the columns \['x'\]"):
        join_on_id(LEFT, right, "a", "b")
    joined = join_on_id(LEFT, right, "a", "b", suffixes=("", "_b"))
    assert joined["x"].tolist() == [3.0, 1.0, 2.0] and joined["x_b"].tolist() == [7.0, 9.0, 8.0]


def test_join_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="how='left'"):
        join_on_id(LEFT, LEFT, "a", "b", how="left")
