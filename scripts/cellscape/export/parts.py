"""How many FCS files the layers need: planned from the configuration alone, so the rule knows its
outputs before any data exist (the Snakefile imports this module; standard library only).

The FCS 3.1 standard sets no maximum for ``$PAR`` and flowio checks none; a file here keeps to
:data:`FCS_MAX_PARAMETERS` (docs/formats.md, export/, says why 200), with room for the per-cell
channels, and the layers that do not fit go, whole, to further files.
"""
from pathlib import Path

#: parameters per FCS file (a conservative limit: FCS 3.1 and flowio have none)
FCS_MAX_PARAMETERS = 200
#: channels kept free in every file for the per-cell channels (class, probabilities, index columns...)
#: of an image set of the paper's two channels; each further image channel adds its index columns
FCS_PER_CELL_BUDGET = 64
#: index.csv columns per image channel: intensity_<name>, max_<name>, mean_<name>
INDEX_COLUMNS_PER_CHANNEL = 3
#: cell features (data/features.csv) a file holds at most: the whole cell's, then each channel's in
#: channel order (27 for the paper's two channels, 43 for four); the .h5ad holds every one
FCS_FEATURE_BUDGET = 64


def per_cell_budget(n_image_channels, n_features=0):
    """Channels kept for the per-cell channels of an image set of ``n_image_channels`` channels
    with ``n_features`` cell features (data/features.csv; at most FCS_FEATURE_BUDGET of them)."""
    return (FCS_PER_CELL_BUDGET + INDEX_COLUMNS_PER_CHANNEL * max(0, n_image_channels - 2)
            + min(n_features, FCS_FEATURE_BUDGET))


def layer_channel_count(n_methods):
    """Channels one layer adds: its DBSCAN cluster and two coordinates per embedding method."""
    return 1 + 2 * n_methods


def plan_fcs_parts(layers, methods, max_parameters=FCS_MAX_PARAMETERS, per_cell_budget=FCS_PER_CELL_BUDGET):
    """The layers of each FCS file, in order: as many whole layers per file as fit beside the
    per-cell channels (``per_cell_budget``) within ``max_parameters``; one file when all fit."""
    per_layer = layer_channel_count(len(methods))
    room = (max_parameters - per_cell_budget) // per_layer
    if room < 1:
        raise ValueError(f"an FCS file of at most {max_parameters} parameters has no room for one layer "
                         f"({per_layer} channels) beside {per_cell_budget} per-cell channels")
    layers = list(layers)
    return [layers[k:k + room] for k in range(0, len(layers), room)] or [[]]


def fcs_part_paths(path, n_parts):
    """``cells.fcs`` for the first file, ``cells_part2.fcs``... beside it for the others."""
    path = Path(path)
    return [str(path)] + [str(path.with_name(f"{path.stem}_part{k}{path.suffix}")) for k in range(2, n_parts + 1)]
