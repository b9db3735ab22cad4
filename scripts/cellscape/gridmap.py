"""Map a 2-D embedding onto a regular grid (paper Figs. 10-11) by a linear assignment.

Each point gets its own grid cell, chosen so that the total squared distance between the
points (scaled to the grid's extent) and their cells is minimal: a linear assignment
problem solved with the Jonker-Volgenant algorithm.

- ``method="dense"``: the full n x cells cost matrix, ``lap.lapjv`` (or scipy's
  ``linear_sum_assignment`` with ``solver="scipy"``): exact, O(n^2) memory.
- ``method="lapmod"``: the sparse solver ``lap.lapmod`` over a few candidate cells per
  point. Candidates are the point's nearest cells *and* the cells near where a cheap
  feasible assignment puts it (a sort-based, Knothe-Rosenblatt-like one: points sorted
  into columns by x, each column by y), so a perfect matching always exists even when
  the embedding is clustered and points must travel far. Then it refines: candidates are
  widened around each point's current cell and the problem solved again, until the cost
  stops improving by more than ``tol``.

No I/O here.
"""
import numpy as np
from scipy.spatial import cKDTree


def grid_shape(n):
    """(columns, rows) of the square-ish grid with at least n cells: columns = ceil(sqrt n)."""
    if n < 1:
        raise ValueError("need at least one point")
    columns = int(np.ceil(np.sqrt(n)))
    return columns, int(np.ceil(n / columns))


def grid_cells(shape):
    """(cells, 2) float coordinates (gx, gy) of every cell, row-major (cell = gy * columns + gx)."""
    columns, rows = shape
    gy, gx = np.divmod(np.arange(columns * rows), columns)
    return np.stack([gx, gy], axis=1).astype(np.float64)


def scale_to_grid(Y, shape):
    """Min-max scale each axis of Y onto the grid's extent [0, columns-1] x [0, rows-1]."""
    Y = np.asarray(Y, dtype=np.float64)
    low, span = Y.min(0), np.ptp(Y, axis=0)
    unit = (Y - low) / np.where(span > 0, span, 1)
    return unit * (np.array(shape, dtype=np.float64) - 1)


def _sorted_assignment(P, shape):
    """A feasible assignment without solving: sort points into columns by x, then by y."""
    columns, rows = shape
    n = len(P)
    by_x = np.argsort(P[:, 0], kind="stable")
    cells = np.empty(n, dtype=np.int64)
    # groups of `rows` points fill at most `columns` columns since columns * rows >= n; inside a
    # group the y slots are spread over the column and stay distinct (spacing >= 1 before rounding)
    for c, start in enumerate(range(0, n, rows)):
        members = by_x[start:start + rows]
        members = members[np.argsort(P[members, 1], kind="stable")]
        ys = np.round(np.linspace(0, rows - 1, len(members))).astype(np.int64)
        cells[members] = ys * columns + c
    return cells


def _transport_targets(P, shape, block=5, blur=1.0, n_iter=2000, tol=1e-3):
    """Where each point should roughly go: entropic optimal transport to a coarse grid.

    The grid is cut into ``block`` x ``block`` blocks (capacity = cells in the block); a
    Sinkhorn plan between the points and the block centres (entropy eps = (blur * block)^2,
    cost = squared distance) is solved and each point's target is its barycentric
    projection. This is where a clustered point has to travel under the optimal
    assignment, up to about one block, so the sparse solver only needs candidates near it.
    """
    columns, rows = shape
    cells = grid_cells(shape)
    block_id = (cells[:, 1] // block) * int(np.ceil(columns / block)) + cells[:, 0] // block
    _, block_id, capacity = np.unique(block_id, return_inverse=True, return_counts=True)
    centres = np.stack([np.bincount(block_id, cells[:, 0]), np.bincount(block_id, cells[:, 1])], 1) / capacity[:, None]
    cost = ((P[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
    eps = (blur * block) ** 2
    kernel = np.exp(-(cost - cost.min(1, keepdims=True)) / eps)  # row shift: absorbed in u
    a = np.ones(len(P))
    b = capacity * len(P) / capacity.sum()
    v = np.ones(len(centres))
    for _ in range(n_iter):
        u = a / np.maximum(kernel @ v, 1e-300)
        column_mass = kernel.T @ u
        v = b / np.maximum(column_mass, 1e-300)
        if np.abs(column_mass * v - b).max() <= tol * b.max() and _ > 10:
            break
    plan = kernel * v[None, :]
    plan /= plan.sum(1, keepdims=True)
    return plan @ centres


def _solve_sparse(P, cells_xy, candidates):
    """lapmod over the candidate sets (list of int arrays per point); dummy rows fill the square."""
    import lap
    n, m = len(P), len(cells_xy)
    ii = np.zeros(m + 1, dtype=np.int64)
    kk, cc = [], []
    for i, cand in enumerate(candidates):
        cand = np.unique(cand)
        kk.append(cand)
        cc.append(((cells_xy[cand] - P[i]) ** 2).sum(1))
        ii[i + 1] = ii[i] + len(cand)
    if m > n:  # dummy points may take any cell at no cost
        every = np.arange(m)
        for i in range(n, m):
            kk.append(every)
            cc.append(np.zeros(m))
            ii[i + 1] = ii[i] + m
    kk, cc = np.concatenate(kk).astype(np.int32), np.concatenate(cc)
    cost, x, _ = lap.lapmod(m, cc, ii.astype(np.int32), kk)
    return x[:n].astype(np.int64)


def _assignment_cost(P, cells_xy, assigned):
    return float(((cells_xy[assigned] - P) ** 2).sum())


def grid_positions(Y, method="lapmod", n_neighbors=32, max_rounds=6, tol=1e-4, solver="lapjv"):
    """Assign every point of the (n, 2) embedding Y a distinct grid cell.

    Returns ``(G, cost)``: G int (n, 2) of grid coordinates (gx, gy), cost the total squared
    distance between the grid-scaled points (:func:`scale_to_grid`) and their cells.
    ``method``: ``lapmod`` (sparse, fast, near-optimal) or ``dense`` (exact; ``solver``
    ``lapjv`` or ``scipy``).
    """
    Y = np.asarray(Y, dtype=np.float64)
    n = len(Y)
    shape = grid_shape(n)
    P = scale_to_grid(Y, shape)
    cells_xy = grid_cells(shape)
    if method == "dense":
        cost_matrix = ((P[:, None, :] - cells_xy[None, :, :]) ** 2).sum(-1)
        if solver == "scipy":
            from scipy.optimize import linear_sum_assignment
            rows, assigned = linear_sum_assignment(cost_matrix)
            assigned = assigned[np.argsort(rows)]
        else:
            import lap
            _, assigned, _ = lap.lapjv(cost_matrix, extend_cost=cost_matrix.shape[0] != cost_matrix.shape[1])
        assigned = np.asarray(assigned, dtype=np.int64)
    elif method == "lapmod":
        tree = cKDTree(cells_xy)
        k = min(n_neighbors, len(cells_xy))
        targets = _transport_targets(P, shape)
        near_target = tree.query(targets, k=k)[1].reshape(n, -1)
        feasible = _sorted_assignment(P, shape)  # guarantees a perfect matching exists
        assigned = _solve_sparse(P, cells_xy, np.concatenate([near_target, feasible[:, None]], axis=1))
        cost = _assignment_cost(P, cells_xy, assigned)
        for _ in range(max_rounds):
            near_assigned = tree.query(cells_xy[assigned], k=k)[1].reshape(n, -1)
            candidates = np.concatenate([near_target, near_assigned], axis=1)
            new = _solve_sparse(P, cells_xy, candidates)
            new_cost = _assignment_cost(P, cells_xy, new)
            improved = cost - new_cost
            if new_cost <= cost:
                assigned, cost = new, new_cost
            if improved <= tol * max(cost, 1e-12):
                break
    else:
        raise ValueError(f"unknown grid method {method!r}; choose lapmod or dense")
    if len(np.unique(assigned)) != n:
        raise RuntimeError("assignment is not one-to-one")
    G = cells_xy[assigned].astype(np.int64)
    return G, _assignment_cost(P, cells_xy, assigned)


def interpolate(Y, G, t):
    """Positions a fraction ``t`` (0..1) of the way from the grid-scaled embedding to the grid.

    t = 0 gives ``scale_to_grid(Y)``, t = 1 gives G exactly; in between the straight line
    (paper Fig. 10 shows 0%, 100% and five stages between).
    """
    G = np.asarray(G, dtype=np.float64)
    P = scale_to_grid(Y, grid_shape(len(G)))
    return (1 - t) * P + t * G
