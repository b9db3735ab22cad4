"""What guides MDA on a layer: the guide columns of the cell table, as the estimator takes them."""
import logging

import numpy as np

log = logging.getLogger(__name__)


def mda_guide(cells, columns, fallback=()):
    """The guide of ``columns`` (one column: its values, class names or numbers; several: a float
    matrix). A one-column class guide with a single class (a network that predicts one class for
    every shown cell: undertrained, or a test split of one class) cannot form MDA's class groups:
    the ``fallback`` columns (the softmax probabilities) guide instead, and the log says so."""
    guide = cells[list(columns)].to_numpy()
    if guide.shape[1] == 1:
        guide = guide[:, 0]
        if fallback and guide.dtype.kind in "OUSb" and len(np.unique(guide)) < 2:
            log.warning("MDA guide %s holds one value (%r) for all %d cells: guided by %s instead",
                        columns[0], guide[0] if len(guide) else None, len(guide), ", ".join(fallback))
            return cells[list(fallback)].to_numpy().astype(np.float64)
        return guide
    return guide.astype(np.float64)
