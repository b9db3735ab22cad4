"""Cell thumbnails as tiles of a few hundred cells, each its own script the page loads on demand.

One sprite sheet of every cell stops working past ~44,000 cells (Chromium's 16,384 px limit)
and decodes to hundreds of MB; tiles of ``cells_per_tile`` cells keep each image small and let
the page fetch only the cells that are hovered or zoomed into. Each tile holds every channel apart
(:mod:`.planes`), so the page composes only the channels that are switched on.
"""
import math

import numpy as np

from ..runtime.io import read_rows
from .encode import js_assignment
from .planes import packed_sheets


def tile_layout(n_cells, cells_per_tile=256, size=78):
    """The ``meta.tile`` entry: cells per tile, columns per tile row, tile count, cell size."""
    columns = max(1, math.ceil(math.sqrt(cells_per_tile)))
    return {"size": int(size), "cells": int(cells_per_tile), "columns": columns,
            "count": math.ceil(n_cells / cells_per_tile)}


def tile_scripts(images, rows, layout):
    """Yield ``(file name, script text)`` for each tile of the cells at ``rows`` of ``images``.

    ``images``: (N, C, S, S) array or memory map in [0, 1]; ``rows``: the image row of each cell,
    in cell order. A tile is the list of its packed PNG sprite sheets (:func:`.planes.packed_sheets`).
    Reads one tile's images at a time, so memory stays bounded whatever the cell count.
    """
    rows = np.asarray(rows)
    per_tile = layout["cells"]
    for t in range(layout["count"]):
        block = read_rows(images, rows[t * per_tile:(t + 1) * per_tile])
        uris, _ = packed_sheets(block, layout["columns"])
        yield f"tiles/tile_{t:05d}.js", js_assignment(f"tiles.{t}", uris)
