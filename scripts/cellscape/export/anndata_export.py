"""The embedded cells as an AnnData ``.h5ad`` file for scanpy.

- ``obs``: the per-cell table (index = cell id; class, predicted, split as categoricals in the
  run's class order; probabilities, certainty, DBSCAN cluster per layer, regression target and
  prediction, ``measured_<name>`` measurements of mda/targets.csv, the index's per-cell columns);
- ``X``: the reduced features of one layer (``x_layer``, dense1 by default; ``var`` names
  ``<layer>_pc1``...), so ``sc.pp.neighbors`` and ``sc.tl.umap`` work on it directly;
- ``obsm["X_<layer>_<method>"]``: every 2-D map (the ``pca`` method's as ``X_<layer>_pca_2d``);
  ``obsm["X_<layer>_pca"]``: the layer's reduced features (activations/{layer}/reduced.npy);
- ``uns``: ``classes``, ``layers``, ``methods``, ``x_layer``, ``mda_target``, ``layer_shapes`` ({layer: [C, H, W]}),
  ``image_channels`` ({name, kind, colour}: one array each, in the images' channel order; ``obs`` holds
  ``intensity_<name>``, ``max_<name>``, ``mean_<name>`` of each),
  ``config`` (the run's configuration as JSON text: h5ad cannot store null or ragged lists).

Text is written as plain HDF5 string arrays (numpy object dtype), readable by anndata >= 0.7 and
by readers outside Python: pandas 3's ``str`` dtype would need anndata's nullable-string encoding.
"""
import json

import numpy as np
import pandas as pd

from ..runtime.io import atomic_path


def embedding_key(layer, method):
    """The obsm key of one 2-D map; ``X_<layer>_pca`` is taken by the reduced features."""
    return f"X_{layer}_pca_2d" if method == "pca" else f"X_{layer}_{method}"


def _obs_frame(cells):
    obs = cells.obs.copy()
    obs.index = pd.Index(obs.pop("id").astype(str).to_numpy(dtype=object), dtype=object, name="id")
    for column in obs.columns:  # pandas 3 str columns -> object (plain HDF5 string arrays)
        if pd.api.types.is_string_dtype(obs[column]) and not isinstance(obs[column].dtype, pd.CategoricalDtype):
            values = obs[column].to_numpy(dtype=object)
            if len(set(values)) < len(values):  # anndata would make it categorical with str categories
                obs[column] = pd.Categorical(values, categories=pd.Index(list(dict.fromkeys(values)), dtype=object))
            else:
                obs[column] = pd.Series(values, index=obs.index, dtype=object)
    for layer in cells.layers:
        if f"cluster_{layer}" in obs:  # categorical, so scanpy colours clusters as groups
            codes = obs[f"cluster_{layer}"].to_numpy(dtype=np.int64)
            obs[f"cluster_{layer}"] = pd.Categorical(codes, categories=np.unique(codes))
    return obs


def build_anndata(cells, x_layer, layer_shapes, config):
    """The AnnData of a :class:`~cellscape.export.cells.CellTable`."""
    import anndata

    if x_layer not in cells.features:
        raise ValueError(f"X layer {x_layer}: no reduced features (have {sorted(cells.features)})")
    x = cells.features[x_layer]
    var = pd.DataFrame(index=pd.Index([f"{x_layer}_pc{k + 1}" for k in range(x.shape[1])], dtype=object,
                                      name="feature"))
    obsm = {embedding_key(layer, method): xy for (layer, method), xy in cells.embeddings.items()}
    obsm.update({f"X_{layer}_pca": features for layer, features in cells.features.items()})
    uns = {
        "classes": np.array(cells.classes, dtype=object),
        "layers": np.array(cells.layers, dtype=object),
        "methods": np.array(cells.methods, dtype=object),
        "x_layer": x_layer,
        "mda_target": cells.mda_target,  # "" when the regression stage is off
        "layer_shapes": {layer: np.asarray(shape, dtype=np.int64) for layer, shape in layer_shapes.items()},
        "image_channels": {key: np.array([c[key] for c in cells.channels], dtype=object)
                           for key in ("name", "kind", "colour")},
        "config": json.dumps(config, sort_keys=True),
    }
    return anndata.AnnData(X=x, obs=_obs_frame(cells), var=var, obsm=obsm, uns=uns)


def write_h5ad(path, adata):
    """Write ``adata`` atomically (gzip-compressed arrays)."""
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
