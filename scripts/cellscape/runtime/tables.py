"""Tables keyed by the cell id: one reader and one join, both checked.

Every table passed between rules that describes cells (``data/index.csv``, ``qc.csv``,
``model/predictions.csv``, ``activations/selection.csv``, the embeddings and their grids,
``clusters.csv``...) carries the cell's ``id`` (``<class>/<object>``, docs/formats.md). A
repeated id makes a later join pick the wrong cell or the wrong number of rows, mostly without
a word, so:

- :func:`read_cell_table` reads such a table with ``id`` (and the file's own ``object`` number)
  as text, never as numbers (``007`` stays ``007``), and refuses a table that repeats an id,
  naming the file, the ids and, where the table has a ``source`` column, the source files;
- :func:`join_on_id` joins two of them and refuses a join that would drop, repeat or invent
  cells, naming both tables and the ids that are wrong.
"""
import pandas as pd

#: how the right table of :func:`join_on_id` must cover the left one
HOW = ("exact", "covers", "partial")
#: ids quoted in an error message (the count is always given)
SHOWN = 5
#: columns read as text: the cell id and the source file's own object number
TEXT_COLUMNS = {"id": str, "object": str}


class TableError(ValueError):
    """A table keyed by cell id repeats, lacks or adds cells: names the table(s) and the ids."""


def quoted(values):
    """The first few values, quoted, and how many more there are."""
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (f" and {len(values) - SHOWN} more" if len(values) > SHOWN else "")


def repeated_ids(ids):
    """The ids that occur more than once, each once, in first-seen order."""
    ids = pd.Series(ids, dtype=object)
    return list(dict.fromkeys(ids[ids.duplicated(keep=False)]))


def check_unique_ids(table, name):
    """Raise :class:`TableError` when ``table``'s ``id`` column is missing or repeats an id.

    With a ``source`` column the message names every source file of each repeated id (the
    files that claim to be the same cell)."""
    if "id" not in table.columns:
        raise TableError(f"{name}: no 'id' column (columns: {', '.join(map(str, table.columns))})")
    repeated = repeated_ids(table["id"])
    if not repeated:
        return
    detail = ""
    if "source" in table.columns:
        sources = table[table["id"].isin(repeated[:SHOWN])].groupby("id", sort=False)["source"].agg(list)
        detail = "; " + "; ".join(f"{i!r} from {' and '.join(map(str, files))}" for i, files in sources.items())
    raise TableError(f"{name}: {len(repeated)} cell ids occur more than once: {quoted(repeated)}{detail}")


def read_cell_table(path, name=None):
    """The CSV table at ``path`` with ``id`` and ``object`` as text; every id once.

    ``name`` (default: the path) is how error messages call the table."""
    table = pd.read_csv(path, dtype=TEXT_COLUMNS)
    check_unique_ids(table, name or str(path))
    return table


def join_on_id(left, right, left_name, right_name, how="exact", expected_rows=None, suffixes=None):
    """``right``'s columns beside ``left``'s, matched by ``id``: one row per row of ``left``, in
    ``left``'s order.

    ``how`` is what ``right`` must hold:
    - ``exact``: the same cells as ``left`` (an embedding beside its selection);
    - ``covers``: every cell of ``left``, others allowed and dropped (predictions.csv holds every
      image, a selection only some);
    - ``partial``: any of them; a left row without a partner gets NaN.
    An id repeated on either side, an id of ``left`` that ``right`` lacks (unless ``partial``)
    and, with ``exact``, an id ``right`` adds are a :class:`TableError` naming the tables and the
    ids. ``expected_rows``: the row count the result must have (an array the rows line up with).
    Columns both tables hold besides ``id`` are an error unless ``suffixes`` says how to rename
    them (as in ``pandas.merge``).
    """
    if how not in HOW:
        raise ValueError(f"how={how!r}: use one of {HOW}")
    what = f"joining {left_name} with {right_name}"
    for table, name in ((left, left_name), (right, right_name)):
        try:
            check_unique_ids(table, name)
        except TableError as err:
            raise TableError(f"{what}: {err}") from None
    left_ids = pd.Index(left["id"].astype(str), dtype=object)
    right_ids = pd.Index(right["id"].astype(str), dtype=object)
    missing = left_ids.difference(right_ids, sort=False)
    if len(missing) and how != "partial":
        raise TableError(f"{what}: {right_name} lacks {len(missing)} of the {len(left_ids)} cells of "
                         f"{left_name}: {quoted(missing)}")
    extra = right_ids.difference(left_ids, sort=False)
    if len(extra) and how == "exact":
        raise TableError(f"{what}: {right_name} holds {len(extra)} cells that {left_name} lacks: {quoted(extra)}")
    shared = sorted((set(left.columns) & set(right.columns)) - {"id"})
    if shared and suffixes is None:
        raise TableError(f"{what}: both hold the columns {shared}; select the columns to join or pass suffixes")
    joined = pd.merge(left.assign(id=left_ids), right.assign(id=right_ids), on="id", how="left", sort=False,
                      validate="one_to_one", suffixes=suffixes or ("_x", "_y"))
    want = len(left_ids) if expected_rows is None else int(expected_rows)
    if len(joined) != want:
        raise TableError(f"{what}: {len(joined)} rows where {want} are expected "
                         f"({left_name} has {len(left_ids)}, {right_name} {len(right_ids)})")
    return joined


def join_to_ids(ids, table, ids_name, table_name, how="exact", expected_rows=None):
    """``table``'s rows for the cell ids ``ids`` (a list or array), in that order:
    :func:`join_on_id` with ``ids`` as the left table."""
    left = pd.DataFrame({"id": pd.Series([str(i) for i in ids], dtype=object)})
    return join_on_id(left, table, ids_name, table_name, how=how, expected_rows=expected_rows)
