"""Plausible fabricated inputs for ``build_explorer``: for tests, benchmarks and development.

Cells are simulated (``cellscape.data.simulate``), embeddings are two noisy class clusters with the
network's mistakes in the overlap, feature maps come from a random-weights model, and feature
images are smooth random textures. Nothing here is a result; it only has the right shapes.
"""
import numpy as np
import pandas as pd
import torch
from scipy.ndimage import gaussian_filter

from cellscape.model.architecture import layer_shapes
from cellscape.model.network import build_model
from cellscape.explorer.featuremaps import channel_scores, stored_feature_maps, top_activating_cells

SMALL_MODEL = {"conv_stages": [[8, 8], [16]], "dense": [8], "dropout": 0.25}
DEFAULT_MODEL = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]],
                 "dense": [256], "dropout": 0.25}
CLASSES = ["lymphocyte", "neutrophil"]


def simulated_cells(n, image_size, seed, channels=None):
    """(n, C, S, S) float32 images in [0, 1], normalised as the data rule does, and labels.

    ``channels``: resolved channels (:func:`cellscape.data.channels.resolve_channels`, with file
    suffixes the simulator images); default the paper's two, cytoplasm and nucleus.
    """
    from cellscape.data.preprocess import clean_channels
    from cellscape.data.simulate import simulate_event
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % len(CLASSES)
        if channels is None:
            raw, _ = simulate_event(rng, CLASSES[label])
            x = raw.astype(np.float32)[:, :image_size, :image_size]
            peak = x.max(axis=(1, 2), keepdims=True) + 1e-6
            images.append(np.where(x < 0.2 * peak, 0.0, x / peak))
        else:
            raw, _ = simulate_event(rng, CLASSES[label], channels=[c["file"] for c in channels])
            x = clean_channels(raw.astype(np.float32)[:, :image_size, :image_size], channels)
            images.append(x / (x.max(axis=(1, 2), keepdims=True) + 1e-6))
        labels.append(label)
    return np.stack(images).astype(np.float32), np.array(labels)


#: the channels of configs/four_channels.yaml, resolved
FOUR_CHANNELS = [{"name": "brightfield", "file": "Ch1", "kind": "brightfield", "colour": "#bbbbbb"},
                 {"name": "cytoplasm", "file": "Ch2", "kind": "fluorescence", "colour": "#ff0000"},
                 {"name": "nucleus", "file": "Ch4", "kind": "fluorescence", "colour": "#00ff00"},
                 {"name": "darkfield", "file": "Ch6", "kind": "darkfield", "colour": "#ff00ff"}]


def grid_positions(xy):
    """A cheap stand-in for the Jonker-Volgenant grid: columns by x rank, rows by y within."""
    n = len(xy)
    side = int(np.ceil(np.sqrt(n)))
    gx, gy = np.empty(n, int), np.empty(n, int)
    by_x = np.argsort(xy[:, 0], kind="stable")
    for col in range(side):
        members = by_x[col * side:(col + 1) * side]
        gx[members] = col
        gy[members[np.argsort(xy[members, 1], kind="stable")]] = np.arange(len(members))
    return gx, gy


def fabricate_inputs(n_cells=60, model_cfg=None, image_size=78, methods=("umap", "tsne"), n_images=None,
                     n_ifealid=None, n_attribution=8, n_top=4, with_top_cells=True, cells_per_tile=256, seed=0,
                     channels=None):
    """Keyword arguments for ``build_explorer`` plus ``model`` for reference.

    ``channels``: the image channels as ``data.channels`` lists them (name, file, kind, colour;
    e.g. :data:`FOUR_CHANNELS`); default the paper's two.
    ``n_images``: distinct simulated images, reused cyclically (a 100,000-cell benchmark needs
    the cells, not 100,000 simulations); ``n_ifealid``: cells with stored feature maps (all).
    """
    from cellscape.activations.selection import misclassified_first
    from cellscape.data.channels import display, resolve_channels
    from cellscape.embeddings.neighbours import nearest_neighbours
    model_cfg = model_cfg or SMALL_MODEL
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    n_images = min(n_images or n_cells, n_cells)
    resolved = resolve_channels({"channels": channels} if channels else {})
    images, image_labels = simulated_cells(n_images, image_size, seed, resolved if channels else None)
    n_channels = images.shape[1]
    rows = np.arange(n_cells) % n_images
    labels = image_labels[rows]
    ids = [f"cell{i:06d}" for i in range(n_cells)]
    # the network is right ~85% of the time, less sure near the class overlap
    p1 = np.clip(np.where(labels == 1, rng.beta(5, 1.5, n_cells), rng.beta(1.5, 5, n_cells)), 0.01, 0.99)
    predicted = (p1 > 0.5).astype(int)
    cells = pd.DataFrame({"id": ids, "row": rows, "split": "test", "class": [CLASSES[k] for k in labels],
                          "label": labels, "predicted": [CLASSES[k] for k in predicted],
                          "predicted_label": predicted, "certainty": np.maximum(p1, 1 - p1),
                          f"p_{CLASSES[0]}": 1 - p1, f"p_{CLASSES[1]}": p1})
    shapes = layer_shapes(model_cfg, image_size, len(CLASSES))
    maps, neighbours = {}, {}
    for depth, shape in enumerate(shapes):
        separation = 1 + 4 * depth / max(1, len(shapes) - 1)  # deeper layers separate classes more
        centre = np.where(p1[:, None] > 0.5, separation, -separation) * np.array([1.0, 0.4])
        features = centre * np.abs(p1[:, None] - 0.5) * 2 + rng.normal(0, 1, (n_cells, 2))
        neighbours[shape.name] = nearest_neighbours(features, 10)
        cells[f"cluster_{shape.name}"] = np.where(rng.random(n_cells) < 0.05, -1, (features[:, 0] > 0).astype(int))
        for method in methods:
            xy = features + rng.normal(0, 0.2, (n_cells, 2))
            gx, gy = grid_positions(xy)
            maps[(shape.name, method)] = (pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1]}),
                                          pd.DataFrame({"id": ids, "gx": gx, "gy": gy}))
    cells["mda_target"] = rng.normal(0.5, 0.1, n_cells)
    model = build_model(model_cfg, image_size, len(CLASSES), in_channels=n_channels).eval()
    conv = [s for s in shapes if s.kind == "conv"]
    conv_names = [s.name for s in conv]
    featvis = {}
    for s in conv:
        noise = gaussian_filter(rng.random((s.channels, n_channels, image_size, image_size)), (0, 0, 3, 3))
        low, high = noise.min(axis=(2, 3), keepdims=True), noise.max(axis=(2, 3), keepdims=True)
        fv_images = ((noise - low) / (high - low)).astype(np.float32)
        mask = gaussian_filter(rng.random((s.channels, 1, image_size, image_size)), (0, 0, 6, 6))
        mask = (mask - mask.min()) / (mask.max() - mask.min())
        featvis[s.name] = {"channels": np.arange(s.channels), "images": fv_images,
                           "filtered": (fv_images * mask).astype(np.float32),
                           "objective": rng.gamma(2, 2, s.channels).astype(np.float32),
                           "feedback": rng.uniform(0.2, 1, s.channels).astype(np.float32)}
    top_cells = None
    if with_top_cells:
        scores = channel_scores(model, images, conv_names)
        top_cells = {name: top_activating_cells(sc, ids[:n_images], n_top) for name, sc in scores.items()}
    store, stored = stored_feature_maps(model, images, cells, conv_names, n_ifealid, seed, batch_size=64)
    chosen = misclassified_first(cells, n_attribution, seed)
    heat = gaussian_filter(rng.random((len(chosen), image_size, image_size)), (0, 4, 4)).astype(np.float16)
    # the maps of the pixel methods that pass (saliency, SmoothGrad) and Grad-CAM at every conv layer
    attribution = ({"ids": np.array(ids)[chosen], "targets": predicted[chosen],
                    "methods": np.array(["saliency", "smoothgrad"]), "saliency": heat, "smoothgrad": heat[:, ::-1],
                    "gradcam_layers": np.array(conv_names),
                    **{f"gradcam_{layer}": np.roll(heat, k, axis=1) for k, layer in enumerate(conv_names)}},
                   {"saliency": {"passes": True, "text": "saliency passes every check (fabricated)"},
                    "smoothgrad": {"passes": True, "text": "smoothgrad passes every check (fabricated)"},
                    "integrated_gradients": {"passes": False, "text": "integrated gradients FAILS (fabricated)"},
                    "guided_backprop": {"passes": False, "text": "guided backprop FAILS (fabricated)"},
                    **{f"gradcam_{layer}": {"passes": k == len(conv_names) - 1,
                                            "text": f"Grad-CAM {layer}: {'passes' if k == len(conv_names) - 1 else 'fails'} (fabricated)"}
                       for k, layer in enumerate(conv_names)}})
    layers = [{"name": s.name, "kind": s.kind, "shape": [s.channels, s.height, s.width] if s.kind == "conv"
               else [s.channels]} for s in shapes]
    return {"cells": cells, "layers": layers, "maps": maps, "neighbours": neighbours, "images": images,
            "classes": CLASSES, "methods": list(methods), "attribution": attribution, "ifealid": (store, stored),
            "featvis": featvis, "top_cells": top_cells, "channels": display(resolved),
            "cells_per_tile": cells_per_tile}, model


#: the hand-made cell features of :func:`cell_knowledge`: (feature, group, kind, unit), in an
#: order that interleaves the channels (the page groups them)
KNOWLEDGE_FEATURES = [("cell_area", "cell", "continuous", "px^2"),
                      ("nucleus_mean_intensity", "nucleus", "continuous", "a.u."),
                      ("cell_circularity", "cell", "continuous", ""),
                      ("cytoplasm_glcm_contrast", "cytoplasm", "continuous", ""),
                      ("truth_nucleus_area", "truth", "continuous", ""),
                      ("truth_nucleus_lobes", "truth", "count", "")]


def cell_knowledge(cells, layers, seed=0):
    """Hand-made cell features and probes of them, with known answers: ``(cells`` with the measured
    features and the simulator's nucleus area (index.csv's ``nucleus_area_px``) added, ``catalogue``
    (feature, group, kind, unit, formula of the measured features), ``probes`` (probes.csv of
    ``input`` and every layer of ``layers`` x :data:`KNOWLEDGE_FEATURES`, rows in reverse layer
    order)). Planted: the largest |selectivity|, +0.8, is cell_area's in the deepest layer; 0 is
    nucleus_mean_intensity's in the first layer; -0.4 is cell_circularity's in the input pixels;
    cytoplasm_glcm_contrast is not probed in the input pixels (NaN, a reason). Every interval is
    the selectivity +- 0.1; the score is the selectivity + 0.15, the untrained network's 0.15."""
    rng = np.random.default_rng(seed)
    n = len(cells)
    cells = cells.assign(cell_area=rng.uniform(200, 900, n), nucleus_mean_intensity=rng.uniform(0.1, 0.6, n),
                         cell_circularity=rng.uniform(0.5, 1.0, n), cytoplasm_glcm_contrast=rng.gamma(2.0, 3.0, n),
                         nucleus_area_px=rng.uniform(50, 300, n))
    measured = [f for f in KNOWLEDGE_FEATURES if f[1] != "truth"]
    catalogue = pd.DataFrame([{"feature": f, "group": g, "kind": k, "unit": u, "formula": f"how {f} is measured"}
                              for f, g, k, u in measured])
    names = ["input"] + list(layers)
    rows = []
    for r, layer in enumerate(names):
        for feature, group, kind, _ in KNOWLEDGE_FEATURES:
            value = round(float(rng.uniform(-0.3, 0.6)), 3)
            value = {(names[-1], "cell_area"): 0.8, (names[1], "nucleus_mean_intensity"): 0.0,
                     ("input", "cell_circularity"): -0.4}.get((layer, feature), value)
            skipped = layer == "input" and feature == "cytoplasm_glcm_contrast"
            nan = float("nan")
            rows.append({"layer": layer, "feature": feature, "group": group, "kind": kind,
                         "metric": "balanced_accuracy" if kind == "count" else "r2", "n_cells": n,
                         "score": nan if skipped else value + 0.15, "score_low": nan if skipped else value + 0.05,
                         "score_high": nan if skipped else value + 0.25, "untrained": nan if skipped else 0.15,
                         "shuffled": nan if skipped else 0.01, "selectivity": nan if skipped else value,
                         "selectivity_low": nan if skipped else value - 0.1,
                         "selectivity_high": nan if skipped else value + 0.1,
                         "skipped": "constant or too few values" if skipped else ""})
    probes = pd.DataFrame(rows)
    order = {layer: k for k, layer in enumerate(names)}
    probes = probes.sort_values("layer", key=lambda s: -s.map(order), kind="stable").reset_index(drop=True)
    return cells, catalogue, probes
