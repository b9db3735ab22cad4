"""Every layer x every feature: the rows of probes.csv. Continuous features that are finite on the
same cells are probed together (one SVD per layer, network and fold: :func:`ridge_scores`)."""
import sys

import numpy as np
import pandas as pd
from tqdm import tqdm

from .probe import fold_splits, probe_feature, ridge_scores, shuffle, skipped, summarise, usable_target


def _continuous_groups(features, names, n_folds):
    """{tuple of usable-cell flags: [feature, ...]} of the probeable continuous ``names``, and
    {feature: reason} of those that cannot be probed."""
    groups, reasons = {}, {}
    for name in names:
        ok, reason = usable_target(features[name].to_numpy(dtype=np.float64), "continuous", n_folds)
        if reason:
            reasons[name] = (int(ok.sum()), reason)
        else:
            groups.setdefault(tuple(ok), []).append(name)
    return groups, reasons


def _probe_continuous(trained, untrained, features, names, n_folds, seed, level):
    """{feature: ProbeResult} of the continuous ``names`` in one layer."""
    groups, reasons = _continuous_groups(features, names, n_folds)
    results = {name: skipped("continuous", n, reason) for name, (n, reason) in reasons.items()}
    for flags, members in groups.items():
        ok = np.array(flags)
        Y = features.loc[ok, members].to_numpy(dtype=np.float64)
        splits = fold_splits(Y[:, 0], "continuous", n_folds, seed)
        real = ridge_scores(trained[ok], Y, splits)
        random_network = ridge_scores(untrained[ok], Y, splits)
        shuffled = ridge_scores(trained[ok], shuffle(Y, seed), splits)
        for j, name in enumerate(members):
            results[name] = summarise("continuous", int(ok.sum()), real[:, j], random_network[:, j], shuffled[:, j],
                                      level)
    return results


def probe_layers(trained, untrained, features, catalogue, n_folds=5, seed=0, level=0.95, progress=True):
    """DataFrame with one row per layer and feature (layers in the order of ``trained``, features in
    the order of ``catalogue``): ``layer, feature, group, kind`` and a :class:`ProbeResult`'s
    columns. ``trained`` / ``untrained``: {layer: (n, k) reduced features} of the same cells, in
    the rows' order of ``features`` (a DataFrame of the features, one column each);
    ``catalogue``: DataFrame ``feature, group, kind`` (:func:`cellscape.features.catalogue`)."""
    missing = sorted(set(trained) ^ set(untrained))
    if missing:
        raise ValueError(f"layers {missing} are in one network's dumps and not the other's")
    features = features.reset_index(drop=True)
    continuous = catalogue.loc[catalogue["kind"] == "continuous", "feature"].tolist()
    rows = []
    for layer in tqdm(list(trained), desc="probes", unit="layer", file=sys.stderr, disable=not progress):
        X, X0 = np.asarray(trained[layer], dtype=np.float64), np.asarray(untrained[layer], dtype=np.float64)
        for name, array in (("trained", X), ("untrained", X0)):
            if len(array) != len(features):
                raise ValueError(f"layer {layer}: the {name} network's reduced features have {len(array)} rows and "
                                 f"the feature table {len(features)}: they must describe the same cells")
        results = _probe_continuous(X, X0, features, continuous, n_folds, seed, level)
        for item in catalogue.itertuples(index=False):
            result = results.get(item.feature) or probe_feature(X, X0, features[item.feature].to_numpy(), item.kind,
                                                                n_folds, seed, level)
            rows.append({"layer": layer, "feature": item.feature, "group": item.group, "kind": item.kind,
                         **result.as_dict()})
    return pd.DataFrame(rows)
