"""Write the interactive explorer: static HTML/JS pages plus ``data_*.js`` files, no server needed.

Pages (open ``index.html`` from disk):

* ``embedding.html``: every layer's UMAP/t-SNE embedding with class colours, misclassified
  cells, certainty-sized points, the grid-mapping slider, a decision-boundary overlay, cell
  images on hover/tap and pie charts of a box or lasso selection;
* ``ifealid.html``: feature localisation (IFeaLiD): angular similarity of the hovered position's
  feature vector to every other position of a cell's conv feature map, computed in the page;
* ``gallery.html``: per conv layer the feature images, their activation-filtered versions, the
  feedback score and the cells that activate each channel most.

Large per-layer data (feature maps, gallery sprites) live in their own ``data_*_{layer}.js``
files that a page loads only when that layer is chosen.
"""
import json
import os
import shutil
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from ..figures.common import CLASS_COLOURS, false_colour
from ..runtime.tables import join_on_id, join_to_ids
from .boundary_overlay import boundary_rgba, unit_square_probabilities
from .cells import aligned_coordinates, cell_table
from .encode import b64_bytes, image_data_uri, js_assignment, rgb_uint8, rounded, sprite_sheet

STATIC_FILES = ["index.html", "embedding.html", "ifealid.html", "gallery.html", "common.css",
                "common.js", "embedding.js", "ifealid.js", "gallery.js"]


def viridis_lut():
    """256 x RGB uint8 viridis, the IFeaLiD heat-map colours."""
    from matplotlib import colormaps
    return rgb_uint8(colormaps["viridis"](np.linspace(0, 1, 256))[:, :3]).ravel().tolist()


def cells_payload(table, images, index, classes):
    """Cell table + a sprite sheet of the cells' false-colour images (PNG: mostly black)."""
    rows = join_on_id(table[["id"]], index[["id", "row"]], "the cell table", "index.csv", how="covers")
    rows = rows["row"].to_numpy(dtype=int)
    tiles = rgb_uint8(false_colour(np.asarray(images[np.sort(rows)])[np.argsort(np.argsort(rows))]))
    sheet, columns = sprite_sheet(tiles)
    return {
        "classes": list(classes),
        "colours": [CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(len(classes))],
        "ids": table["id"].tolist(),
        "label": table["label"].astype(int).tolist(),
        "predicted": table["predicted"].astype(int).tolist(),
        "certainty": rounded(table["certainty"], 4),
        "proba": [rounded(table[f"p_{c}"], 4) for c in classes],
        "sprite": {"uri": image_data_uri(sheet), "columns": columns, "size": int(tiles.shape[1])},
    }, tiles


def embedding_payload(table, embeddings, grids, boundaries, classes, colours):
    """Coordinates of every (layer, method) in cell-table order and its boundary overlay image."""
    layers = list(dict.fromkeys(layer for layer, _ in embeddings))
    methods = list(dict.fromkeys(method for _, method in embeddings))
    views = {}
    for (layer, method), df in embeddings.items():
        coords = aligned_coordinates(table["id"], df, (grids or {}).get((layer, method)))
        present = np.isfinite(coords["x"]) & np.isfinite(coords["y"])
        proba = (boundaries or {}).get((layer, method))
        if proba is None and present.sum() >= 2:
            points = np.column_stack([coords["x"][present], coords["y"][present]])
            proba = unit_square_probabilities(points, table["predicted"].to_numpy()[present], len(classes))
        view = {key: [None if not np.isfinite(v) else round(float(v), 4) for v in values]
                for key, values in coords.items()}
        view["boundary"] = None if proba is None else image_data_uri(boundary_rgba(proba, colours))
        views[f"{layer}/{method}"] = view
    return {"layers": layers, "methods": methods, "views": views}


def ifealid_payloads(featuremaps, cell_ids, tiles_by_id):
    """The page's index (cells, layer shapes, colour map) and one payload per layer."""
    layers = list(featuremaps)
    index = {"layers": [], "cells": [], "viridis": viridis_lut()}
    for cid in cell_ids:
        index["cells"].append({"id": cid, "image": image_data_uri(tiles_by_id[cid])})
    per_layer = {}
    for layer in layers:
        codes, low, high = featuremaps[layer]
        n, h, w, c = codes.shape
        if n != len(cell_ids):
            raise ValueError(f"{layer}: feature maps for {n} cells, ids for {len(cell_ids)}")
        index["layers"].append({"name": layer, "height": h, "width": w, "channels": c})
        per_layer[layer] = {"height": h, "width": w, "channels": c, "min": float(low),
                            "max": float(high), "maps": [b64_bytes(m) for m in codes]}
    return index, per_layer


def gallery_payloads(featvis, top_cells, table, max_channels=None):
    """Per conv layer: JPEG sprite sheets of feature and filtered images, scores, top cells."""
    position = {cid: i for i, cid in enumerate(table["id"])}
    index, per_layer = {"layers": []}, {}
    for layer, fv in featvis.items():
        channels = np.asarray(fv["channels"]).astype(int)[:max_channels]
        n = len(channels)
        images = rgb_uint8(false_colour(np.asarray(fv["images"])[:n]))
        filtered = rgb_uint8(false_colour(np.asarray(fv["filtered"])[:n]))
        sheet, columns = sprite_sheet(images)
        filtered_sheet, _ = sprite_sheet(filtered, columns)
        top = []
        if top_cells is not None and layer in top_cells:
            by_channel = np.asarray(top_cells[layer])
            for ch in channels:
                top.append([position[str(c)] for c in by_channel[ch] if str(c) in position])
        index["layers"].append({"name": layer, "channels": n})
        per_layer[layer] = {
            "channels": channels.tolist(), "objective": rounded(np.asarray(fv["objective"])[:n], 4),
            "feedback": rounded(np.asarray(fv["feedback"])[:n], 4), "top": top,
            "size": int(images.shape[1]), "columns": columns,
            "images": image_data_uri(sheet, "jpeg"), "filtered": image_data_uri(filtered_sheet, "jpeg"),
        }
    return index, per_layer


def build_explorer(out_dir, embeddings, grids, predictions, images, index, featvis, featuremaps,
                   classes, featuremap_ids=None, top_cells=None, boundaries=None,
                   max_gallery_channels=None, size_budget_bytes=20_000_000):
    """Write the explorer to ``out_dir`` (replaced atomically); return ``{file: bytes}``.

    ``embeddings``/``grids``: ``{(layer, method): DataFrame}`` (id, x, y / id, gx, gy);
    ``predictions``, ``index``: predictions.csv and data/index.csv; ``images``: (N, 2, S, S)
    (memmap fine); ``featvis``: ``{layer: {channels, images, filtered, objective, feedback}}``;
    ``featuremaps``: ``{layer: (uint8 (n, H, W, C), min, max)}`` of the cells ``featuremap_ids``
    (default: the first n embedded cells); ``top_cells``: ``{layer: (C, k) ids}``;
    ``boundaries``: ``{(layer, method): (R, R, K) probabilities over the unit square}``, by
    default a kNN boundary of the predicted classes. Warns when the pages exceed
    ``size_budget_bytes`` (fewer feature-map cells or ``max_gallery_channels`` shrink them).
    """
    out_dir = Path(out_dir)
    classes = list(classes)
    table = cell_table(embeddings, predictions, classes)
    cells, tiles = cells_payload(table, images, index, classes)
    tiles_by_id = dict(zip(table["id"], tiles))
    files = {"data_cells.js": js_assignment("cells", cells),
             "data_embedding.js": js_assignment(
                 "embedding", embedding_payload(table, embeddings, grids, boundaries, classes, cells["colours"]))}

    n_maps = len(next(iter(featuremaps.values()))[0]) if featuremaps else 0
    ids = [str(i) for i in (featuremap_ids if featuremap_ids is not None else table["id"][:n_maps])]
    missing_tiles = [i for i in ids if i not in tiles_by_id]
    if missing_tiles:  # a feature-map cell outside the embeddings: draw it from the image set
        rows = join_to_ids(missing_tiles, index[["id", "row"]], "the feature-map cells", "index.csv",
                           how="covers")["row"].to_numpy(dtype=int)
        for i, row in zip(missing_tiles, rows):
            tiles_by_id[i] = rgb_uint8(false_colour(np.asarray(images[row])))
    ifealid_index, ifealid_layers = ifealid_payloads(featuremaps or {}, ids, tiles_by_id)
    files["data_ifealid.js"] = js_assignment("ifealid", ifealid_index)
    for layer, payload in ifealid_layers.items():
        files[f"data_ifealid_{layer}.js"] = js_assignment(f"ifealidLayers.{layer}", payload)

    gallery_index, gallery_layers = gallery_payloads(featvis or {}, top_cells, table, max_gallery_channels)
    files["data_gallery.js"] = js_assignment("gallery", gallery_index)
    for layer, payload in gallery_layers.items():
        files[f"data_gallery_{layer}.js"] = js_assignment(f"galleryLayers.{layer}", payload)
    sizes = write_atomically(out_dir, files)
    total = sum(sizes.values())
    if size_budget_bytes and total > size_budget_bytes:
        warnings.warn(f"explorer pages total {total / 1e6:.1f} MB > budget {size_budget_bytes / 1e6:.1f} MB")
    return sizes


def write_atomically(out_dir, files):
    """Write static pages + ``files`` into a temporary sibling, then swap it into place."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        static = resources.files(__package__) / "static"
        for name in STATIC_FILES:
            (tmp / name).write_text((static / name).read_text(encoding="utf-8"), encoding="utf-8")
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        sizes = {p.name: p.stat().st_size for p in sorted(tmp.iterdir())}
        (tmp / "manifest.json").write_text(json.dumps(
            {"files": sizes, "total_bytes": sum(sizes.values())}, indent=2) + "\n")
        old = None
        if out_dir.exists():
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return sizes
