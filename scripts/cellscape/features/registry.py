"""The feature registry: every per-cell feature is one function, registered by name with its unit,
formula and the channels it applies to, so the table, the docs and the probes read one list.

A feature's *scope* says which channels it is measured on and how its column is named:

- ``cell``: once per cell, on the cell mask (the union of the outlining channels): ``cell_<name>``;
- ``outline``: each outlining channel (fluorescence, brightfield): ``<channel>_<name>``;
- ``channel``: every channel: ``<channel>_<name>``;
- ``nucleus``: the channel named ``nucleus``, when there is one: ``nucleus_<name>``;
- ``darkfield``: each darkfield (side-scatter) channel: ``<channel>_<name>``.

A new feature is one decorated function ``f(view, c) -> float`` (``view``: a
:class:`~cellscape.features.masks.CellView`, ``c``: the channel index, None for ``cell``).
"""
from dataclasses import dataclass
from typing import Callable

from ..data.channels import OUTLINE_KINDS

SCOPES = ("cell", "outline", "channel", "nucleus", "darkfield")


@dataclass(frozen=True)
class Feature:
    """One registered feature: ``name`` (the column's suffix), ``scope`` (SCOPES), ``unit``,
    ``formula`` (how it is computed, in words and symbols), ``kind`` (``continuous`` or ``count``:
    which probe scores it) and the function."""
    name: str
    scope: str
    unit: str
    formula: str
    function: Callable
    kind: str = "continuous"


#: every registered feature, in registration order (the table's column order)
FEATURES = []


def register(name, scope, unit, formula, kind="continuous"):
    """Decorator: add ``f(view, c) -> float`` to :data:`FEATURES` under ``name``."""
    if scope not in SCOPES:
        raise ValueError(f"feature {name}: scope {scope!r} is not one of {SCOPES}")
    if kind not in ("continuous", "count"):
        raise ValueError(f"feature {name}: kind {kind!r} is not continuous or count")

    def add(function):
        if any(f.name == name and f.scope == scope for f in FEATURES):
            raise ValueError(f"feature {name} ({scope}) is registered twice")
        FEATURES.append(Feature(name, scope, unit, formula, function, kind))
        return function
    return add


def _applies(scope, channel):
    if scope == "outline":
        return channel["kind"] in OUTLINE_KINDS
    if scope == "channel":
        return True
    if scope == "nucleus":
        return channel["name"] == "nucleus"
    if scope == "darkfield":
        return channel["kind"] == "darkfield"
    return False


@dataclass(frozen=True)
class Column:
    """One column of the feature table: its name, the feature, the channel index (None: the whole
    cell) and the channel's name (``cell`` for the whole cell)."""
    name: str
    feature: Feature
    channel: int | None
    channel_name: str


def feature_columns(channels):
    """The table's columns for the image set's ``channels`` (dicts with ``name`` and ``kind``): the
    whole cell's first, then each channel's in channel order, each group in registration order. A channel named ``cell`` would give two columns one
    name: a ValueError naming it."""
    columns = []
    for feature in FEATURES:
        if feature.scope == "cell":
            columns.append(Column(f"cell_{feature.name}", feature, None, "cell"))
            continue
        for c, channel in enumerate(channels):
            if _applies(feature.scope, channel):
                columns.append(Column(f"{channel['name']}_{feature.name}", feature, c, channel["name"]))
    columns.sort(key=lambda column: -1 if column.channel is None else column.channel)  # stable: keeps registration order
    names = [column.name for column in columns]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"data.channels: feature columns {repeated} would be named twice (a channel named "
                         "'cell' clashes with the whole cell's features); rename the channel")
    return columns
