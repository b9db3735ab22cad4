"""Cell thumbnails as tiles of a few hundred cells, each its own script the page loads on demand.

One sprite sheet of every cell stops working past ~44,000 cells (Chromium's 16,384 px limit)
and decodes to hundreds of MB; tiles of ``cells_per_tile`` cells keep each image small and let
the page fetch only the cells that are hovered or zoomed into.
"""
import math

import numpy as np

from ..runtime.io import read_rows
from .encode import image_data_uri, js_assignment, rgb_uint8, sprite_sheet


def tile_layout(n_cells, cells_per_tile=256, size=78):
    """The ``meta.tile`` entry: cells per tile, columns per tile row, tile count, cell size."""
    columns = max(1, math.ceil(math.sqrt(cells_per_tile)))
    return {"size": int(size), "cells": int(cells_per_tile), "columns": columns,
            "count": math.ceil(n_cells / cells_per_tile)}


def tile_scripts(images, rows, layout, colour):
    """Yield ``(file name, script text)`` for each tile of the cells at ``rows`` of ``images``.

    ``images``: (N, C, S, S) array or memory map; ``rows``: the image row of each cell, in cell
    order; ``colour``: (n, C, S, S) -> (n, S, S, 3) floats in [0, 1] (the composite shown).
    Reads one tile's images at a time, so memory stays bounded whatever the cell count.
    """
    rows = np.asarray(rows)
    per_tile = layout["cells"]
    for t in range(layout["count"]):
        block = read_rows(images, rows[t * per_tile:(t + 1) * per_tile])
        sheet, _ = sprite_sheet(rgb_uint8(colour(block)), layout["columns"])
        yield f"tiles/tile_{t:05d}.js", js_assignment(f"tiles.{t}", image_data_uri(sheet))
