"""Neighbourhood sizes fitted to the cells a stage has.

A first export is often a few hundred events, and the stages after training see only the test
split (a fifth of them). Settings made for thousands of cells (15 UMAP neighbours, perplexity 30,
DBSCAN's 10 samples) then ask for more neighbours than there are cells. Every stage asks here
for the size its cells can carry and records the value it used (docs/formats.md): the requested
setting where the cells suffice, the largest that fits otherwise. No I/O here.
"""


def fit_neighbours(requested, n_cells, cells_per_neighbour=1):
    """The largest neighbourhood size up to ``requested`` that ``n_cells`` cells carry: each
    neighbour needs ``cells_per_neighbour`` other cells (1: a k-NN search among the others;
    2: trustworthiness, which needs k < n / 2). 0 when even one neighbour does not fit."""
    if cells_per_neighbour < 1:
        raise ValueError(f"cells_per_neighbour must be at least 1, got {cells_per_neighbour}")
    return int(max(0, min(int(requested), (int(n_cells) - 1) // cells_per_neighbour)))


def fit_perplexity(requested, n_cells):
    """t-SNE's perplexity up to ``requested`` that ``n_cells`` carry: its neighbourhood spans three
    perplexities, so at most (n - 1) / 3 (openTSNE's own bound)."""
    return float(max(0.0, min(float(requested), (int(n_cells) - 1) / 3)))


def fitted(requested, used):
    """The record of one fitted setting: ``{"requested": ..., "used": ...}``."""
    return {"requested": requested, "used": used}
