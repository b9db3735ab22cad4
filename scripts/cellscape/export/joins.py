"""Joins on the cell id that fail loudly instead of silently dropping or repeating cells.

``pandas.merge`` keeps going when a table lacks a cell (NaN, or the row vanishes with ``how="inner"``)
or holds one twice (the row doubles); an export would then carry wrong or missing cells without a
word. :func:`checked_join` aligns a table to the ordered ids of the embedded cells and raises a
:class:`JoinError` that names the table and the offending ids.
"""
import pandas as pd

#: how a table must cover the embedded cells
COVERAGES = ("exact", "covers", "partial")
#: ids quoted in an error message
SHOWN_IDS = 5


class JoinError(ValueError):
    """A table does not line up with the embedded cells (missing, extra or duplicated ids)."""


def _quote(ids):
    ids = list(ids)
    shown = ", ".join(repr(i) for i in ids[:SHOWN_IDS])
    return shown + (f" and {len(ids) - SHOWN_IDS} more" if len(ids) > SHOWN_IDS else "")


def duplicated_ids(ids):
    """The ids that occur more than once, each once, in first-seen order."""
    ids = pd.Series(ids, dtype=object)
    return list(dict.fromkeys(ids[ids.duplicated()]))


def checked_join(base_ids, table, name, coverage="exact", key="id"):
    """``table``'s rows in the order of ``base_ids`` (a new RangeIndex), one per id.

    ``coverage`` is what ``table`` must hold:
    - ``exact``: the same cells as ``base_ids`` (an embedding of the embedded cells);
    - ``covers``: every cell of ``base_ids``, others allowed (predictions.csv holds every image);
    - ``partial``: any of them (the regression net has no prediction for a cell without a
      measurable target); cells it lacks get NaN and the result's ``_present`` column is False.

    Duplicated ids (in ``table`` or ``base_ids``), a base id the table lacks (unless ``partial``),
    and with ``exact`` an id the base lacks are a :class:`JoinError` naming ``name`` and the ids.
    """
    if coverage not in COVERAGES:
        raise ValueError(f"coverage {coverage!r}: use one of {COVERAGES}")
    base = pd.Index(pd.Series(base_ids, dtype=object).astype(str), dtype=object)
    if key not in table.columns:
        raise JoinError(f"{name}: no {key!r} column (columns: {', '.join(map(str, table.columns))})")
    base_dups = duplicated_ids(base)
    if base_dups:
        raise JoinError(f"the embedded cells (activations/selection.csv) repeat ids {_quote(base_dups)} "
                        f"(joining {name})")
    ids = table[key].astype(str).astype(object)
    dups = duplicated_ids(ids)
    if dups:
        raise JoinError(f"{name}: {len(dups)} ids occur more than once: {_quote(dups)}")
    indexed = table.assign(**{key: ids}).set_index(key)
    missing = base.difference(indexed.index, sort=False)
    if len(missing) and coverage != "partial":
        raise JoinError(f"{name}: {len(missing)} of the {len(base)} embedded cells are missing: {_quote(missing)}")
    if coverage == "exact":
        extra = indexed.index.difference(base, sort=False)
        if len(extra):
            raise JoinError(f"{name}: {len(extra)} ids are not embedded cells "
                            f"(activations/selection.csv): {_quote(extra)}")
    joined = indexed.reindex(base)
    joined["_present"] = base.isin(indexed.index)
    joined = joined.reset_index(names=key)
    if len(joined) != len(base):  # cannot happen after the checks above; guards the contract
        raise JoinError(f"{name}: joined {len(joined)} rows for {len(base)} embedded cells")
    return joined
