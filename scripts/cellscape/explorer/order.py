"""The order of the cells in the page's table: along a Hilbert curve over the deepest layer's map.

Thumbnails ship in tiles of consecutive cells; a user zooming into a region of a map needs the
tiles of the cells in view. Where consecutive cells sit next to each other on the map, a few
tiles hold a region's cells instead of one tile per cell. The deepest layer's map is the one a
user zooms into for cell images (the paper's Fig. 9), so the table follows it.
"""
import numpy as np


def hilbert_index(x, y, order=16):
    """Position along a Hilbert curve of 2**order x 2**order cells of points in [0, 1]^2."""
    side = 2 ** order
    xi = np.clip((np.asarray(x) * (side - 1)).astype(np.int64), 0, side - 1)
    yi = np.clip((np.asarray(y) * (side - 1)).astype(np.int64), 0, side - 1)
    d = np.zeros(len(xi), dtype=np.int64)
    s = side // 2
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant so the curve stays continuous
        flip = ~ry
        swap_x = np.where(flip & rx, s - 1 - xi, xi)
        swap_y = np.where(flip & rx, s - 1 - yi, yi)
        xi, yi = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s //= 2
    return d


def map_order(x, y):
    """Permutation putting cells in Hilbert order of their (x, y) in [0, 1]^2 (ties: table order)."""
    return np.argsort(hilbert_index(x, y), kind="stable")
