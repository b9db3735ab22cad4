"""Every layer x every feature: the rows of probes.csv."""
import sys

import pandas as pd
from tqdm import tqdm

from .probe import probe_feature


def probe_layers(trained, untrained, features, catalogue, n_folds=5, seed=0, level=0.95, progress=True):
    """DataFrame with one row per layer and feature (layers in the order of ``trained``, features in
    the order of ``catalogue``): ``layer, feature, group, kind`` and a :class:`ProbeResult`'s
    columns. ``trained`` / ``untrained``: {layer: (n, k) reduced features} of the same cells, in
    the rows' order of ``features`` (a DataFrame of the features, one column each);
    ``catalogue``: DataFrame ``feature, group, kind`` (:func:`cellscape.features.catalogue`)."""
    missing = sorted(set(trained) ^ set(untrained))
    if missing:
        raise ValueError(f"layers {missing} are in one network's dumps and not the other's")
    rows = []
    jobs = [(layer, item) for layer in trained for item in catalogue.itertuples(index=False)]
    for layer, item in tqdm(jobs, desc="probes", unit="probe", file=sys.stderr, mininterval=5, disable=not progress):
        for name, X in (("trained", trained[layer]), ("untrained", untrained[layer])):
            if len(X) != len(features):
                raise ValueError(f"layer {layer}: the {name} network's reduced features have {len(X)} rows and the "
                                 f"feature table {len(features)}: they must describe the same cells")
        result = probe_feature(trained[layer], untrained[layer], features[item.feature].to_numpy(), item.kind,
                               n_folds, seed, level)
        rows.append({"layer": layer, "feature": item.feature, "group": item.group, "kind": item.kind,
                     **result.as_dict()})
    return pd.DataFrame(rows)
