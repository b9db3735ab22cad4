"""Write the interactive explorer: static pages plus data scripts, opened from disk (no server).

``index.html`` shows every layer's map at once with linked selection, cell images loaded as
tiles on demand, each cell's neighbours across layers, attribution maps and feature localisation
between cells; ``gallery.html`` shows the feature images. docs/explorer.md describes every file.
Files grow linearly in the shown cells: the thumbnails, one map per (layer, method), one
neighbour list per layer and the capped attribution and feature-localisation sets.
"""
import json
import os
import shutil
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import numpy as np

from ..data.channels import display, resolve_channels
from ..figures.common import CLASS_COLOURS
from ..runtime.tables import check_unique_ids, join_to_ids
from .boundary_overlay import boundary_rgba, unit_square_probabilities
from .cells import aligned_coordinates
from .columns import cell_columns, colour_choices
from .encode import b64_array, image_data_uri, js_assignment, rgb_uint8, rounded, unit_uint16
from .feature_store import store_scripts
from .knowledge import feature_list, probe_payload
from .order import map_order
from .planes import packed_sheets
from .tiles import tile_layout, tile_scripts

#: static files the builder copies: everything in static/
STATIC = "static"
#: no image file of the explorer may exceed this (Chromium decodes one image at a time)
MAX_IMAGE_BYTES = 16 * 2 ** 20


def checked_coordinates(ids, embedding, grid, name):
    """:func:`aligned_coordinates`, an error naming the map and the cells when any lacks a position."""
    coords = aligned_coordinates(ids, embedding, grid)
    missing = ~(np.isfinite(coords["x"]) & np.isfinite(coords["y"]))
    if missing.any():
        raise ValueError(f"map {name}: {int(missing.sum())} shown cells have no coordinates, "
                         f"e.g. {list(np.asarray(ids)[missing][:3])}")
    return coords


def map_payload(ids, embedding, grid, predicted, n_classes, colours, boundary=None, name=""):
    """One (layer, method) map: coordinates (uint16 over the unit square) and its boundary image."""
    coords = checked_coordinates(ids, embedding, grid, name)
    if boundary is None and len(ids) >= 4:
        boundary = unit_square_probabilities(np.column_stack([coords["x"], coords["y"]]), predicted, n_classes)
    return {key: b64_array(unit_uint16(coords[key])) for key in ("x", "y", "gx", "gy")} | {
        "boundary": None if boundary is None else image_data_uri(boundary_rgba(boundary, colours))}


def _grey_uri(heat):
    heat = np.asarray(heat, dtype=np.float32)
    top = np.percentile(heat, 99.5)
    return image_data_uri(rgb_uint8(np.repeat((heat / top if top > 0 else heat)[..., None], 3, axis=-1)))


def attribution_payload(maps, verdicts, positions, classes):
    """``cellscape.payload.attribution``: per cell (by index) the maps of ``maps["methods"]`` (the methods
    that pass the checks) and Grad-CAM per layer of ``maps["gradcam_layers"]``, as grey PNGs, and
    every method's verdict (:func:`cellscape.attribution.verdict.verdicts`)."""
    methods = [str(m) for m in maps["methods"]]
    layers = [str(layer) for layer in maps.get("gradcam_layers", [])]
    cells = {}
    for i, (cid, target) in enumerate(zip(maps["ids"], maps["targets"])):
        entry = {"target": int(target)} | {m: _grey_uri(maps[m][i]) for m in methods}
        if layers:
            entry["gradcam"] = {layer: _grey_uri(maps[f"gradcam_{layer}"][i]) for layer in layers}
        cells[str(positions[str(cid)])] = entry
    return {"methods": methods, "gradcam_layers": layers, "cells": cells, "verdict": verdicts,
            "target_note": "maps of the predicted class's logit; brighter = more important (99.5th percentile = white)"}


def gallery_payloads(featvis, top_cells, images_for_ids, image_channels, max_channels=None):
    """Per conv layer: the feature and filtered images and the cells that activate each channel
    most (``images_for_ids``: ids -> (n, C, S, S) in [0, 1]), as packed channel planes
    (:mod:`.planes`; feature images as JPEG), and their scores; the index names the image channels."""
    index, per_layer = {"layers": [], "channels": image_channels}, {}
    for layer, fv in featvis.items():
        channels = np.asarray(fv["channels"]).astype(int)[:max_channels]
        n = len(channels)
        images = np.asarray(fv["images"])[:n]
        if images.shape[1] != len(image_channels):
            raise ValueError(f"feature images of {layer}: {images.shape[1]} channels, the image set "
                             f"{len(image_channels)} ({', '.join(c['name'] for c in image_channels)})")
        sheets, columns = packed_sheets(images, fmt="jpeg")
        filtered, _ = packed_sheets(np.asarray(fv["filtered"])[:n], columns, fmt="jpeg")
        payload = {
            "channels": channels.tolist(), "objective": rounded(np.asarray(fv["objective"])[:n], 4),
            "feedback": rounded(np.asarray(fv["feedback"])[:n], 4), "top": [], "top_ids": [],
            "size": int(images.shape[-1]), "columns": columns, "images": sheets, "filtered": filtered,
        }
        if top_cells is not None and layer in top_cells:
            by_channel = [[str(c) for c in np.asarray(top_cells[layer])[ch]] for ch in channels]
            unique = list(dict.fromkeys(c for row in by_channel for c in row))
            position = {c: i for i, c in enumerate(unique)}
            top_sheets, top_columns = packed_sheets(images_for_ids(unique))
            payload.update(top=[[position[c] for c in row] for row in by_channel], top_ids=unique,
                           top_sprite={"images": top_sheets, "columns": top_columns, "size": int(images.shape[-1])})
        index["layers"].append({"name": layer, "channels": n})
        per_layer[layer] = payload
    return index, per_layer


def build_explorer(out_dir, cells, layers, maps, neighbours, images, classes, methods, *, boundaries=None, attribution=None, ifealid=None, featvis=None, top_cells=None,
                   channels=None, cells_per_tile=128, title="cellscape explorer", max_gallery_channels=None,
                   features=None, probes=None):
    """Write the explorer to ``out_dir`` (replaced atomically); return ``{relative file: bytes}``.

    ``cells``: the export's cell table (``cellscape.export.cells.assemble_cells(...).obs``: id, row,
    split, label, predicted_label, certainty, p_<class>, cluster_<layer>, further numbers), in the
    order of the cell table; ``layers``: ``[{name, kind, shape}]``; ``maps``: ``{(layer, method):
    (embedding, grid)}`` tables (id, x, y / id, gx, gy); ``neighbours``: ``{layer: (n, k) int}``
    in cell order (a layer's ``label`` is the name shown, e.g. a module path; default ``name``);
    ``images``: (N, C, S, S) (memmap fine) indexed by ``cells.row``;
    ``channels``: ``[{name, kind, colour}]`` of the images' channels
    (:func:`cellscape.data.channels.display`; default the paper's cytoplasm red, nucleus green);
    ``attribution``: ``(maps npz dict, verdicts)``; ``ifealid``: ``(store, cell positions)`` from
    :func:`cellscape.explorer.feature_store.feature_store`; ``featvis``/``top_cells``: the gallery;
    ``features``: the cell features among ``cells``' columns (:func:`cellscape.features.catalogue`:
    feature, group, kind, unit, formula), listed in the cell panel; ``probes``: probes.csv
    (:mod:`cellscape.probes`), the panel of what each layer knows (none without it).
    """
    out_dir = Path(out_dir)
    classes = list(classes)
    channels = display(channels or resolve_channels({}))
    if images.shape[1] != len(channels):
        raise ValueError(f"images have {images.shape[1]} channels, the channel list {len(channels)} "
                         f"({', '.join(c['name'] for c in channels)})")
    check_unique_ids(cells, "the shown cells")
    cells, neighbours, ifealid = in_tile_order(cells.reset_index(drop=True), layers, methods, maps, neighbours,
                                               ifealid)
    ids = cells["id"].astype(str)
    n = len(cells)
    colours = [CLASS_COLOURS[i % len(CLASS_COLOURS)] for i in range(len(classes))]
    files = {}

    columns = cell_columns(cells, classes, colours)
    files["data/cells.js"] = js_assignment("cells", {"ids": ids.tolist(), "columns": columns})
    meta_probes = None
    if probes is not None:
        payload = probe_payload(probes, layers, columns)
        files["data/probes.js"] = js_assignment("probes", payload)
        meta_probes = {"layers": len(payload["layers"]), "features": len(payload["features"])}
    predicted = cells["predicted_label"].to_numpy(dtype=int)
    for (layer, method), (embedding, grid) in maps.items():
        payload = map_payload(ids, embedding, grid, predicted, len(classes), colours,
                              (boundaries or {}).get((layer, method)), f"{layer}/{method}")
        files[f"data/map_{layer}_{method}.js"] = js_assignment(("maps", f"{layer}/{method}"), payload)
    k = None
    for layer, table in neighbours.items():
        table = np.asarray(table)
        if table.shape[0] != n or (table.size and (table.min() < 0 or table.max() >= n)):
            raise ValueError(f"neighbours of {layer}: shape {table.shape} or indices do not fit {n} cells")
        k = table.shape[1]
        files[f"data/neighbours_{layer}.js"] = js_assignment(("neighbours", layer), b64_array(table.astype(np.uint32)))

    rows = cells["row"].to_numpy(dtype=int)
    layout = tile_layout(n, cells_per_tile, images.shape[-1])
    files.update(tile_scripts(images, rows, layout))

    positions = {cid: i for i, cid in enumerate(ids)}
    meta_attribution = None
    if attribution is not None:
        maps_npz, verdicts = attribution
        join_to_ids([str(i) for i in maps_npz["ids"]], cells[["id"]], "the attribution cells", "the shown cells",
                    how="covers")
        payload = attribution_payload(maps_npz, verdicts, positions, classes)
        files["data/attribution.js"] = js_assignment("attribution", payload)
        meta_attribution = {"methods": payload["methods"], "gradcam_layers": payload["gradcam_layers"],
                            "cells": sorted(int(c) for c in payload["cells"])}
    meta_ifealid = None
    if ifealid is not None:
        store, stored_positions = ifealid
        meta_ifealid, store_files = store_scripts(store, stored_positions)
        files.update(store_files)

    def images_for_ids(wanted):
        found = join_to_ids(wanted, cells[["id", "row"]], "the gallery's top cells", "the shown cells", how="covers")
        from ..runtime.io import read_rows
        return read_rows(images, found["row"].to_numpy(dtype=int))

    gallery_index, gallery_layers = gallery_payloads(featvis or {}, top_cells, images_for_ids, channels,
                                                     max_gallery_channels)
    files["data_gallery.js"] = js_assignment("gallery", gallery_index)
    for layer, payload in gallery_layers.items():
        files[f"data_gallery_{layer}.js"] = js_assignment(("galleryLayers", layer), payload)

    meta = {
        "title": title, "n_cells": n, "classes": classes, "class_colours": colours,
        "layers": [{"name": l["name"], "label": l.get("label", l["name"]), "kind": l["kind"],
                    "shape": [int(s) for s in l["shape"]]} for l in layers],
        "methods": list(methods), "grid": True, "colour_by": colour_choices(columns),
        "k_neighbours": k, "tile": layout,
        "channels": channels,
        "attribution": meta_attribution, "ifealid": meta_ifealid,
        "features": feature_list(features, columns) if features is not None else [], "probes": meta_probes,
    }
    files["data/meta.js"] = js_assignment("meta", meta)
    sizes = write_atomically(out_dir, files)
    largest = max((s for name, s in sizes.items() if name.startswith("tiles/")), default=0)
    if largest > MAX_IMAGE_BYTES:
        warnings.warn(f"an explorer tile is {largest / 1e6:.1f} MB (> {MAX_IMAGE_BYTES / 1e6:.0f} MB): "
                      "fewer cells per tile keep the page fast")
    return sizes


def in_tile_order(cells, layers, methods, maps, neighbours, ifealid):
    """The cell table reordered along the deepest layer's first map (:mod:`.order`), with the
    neighbour indices and the stored feature maps renumbered to match."""
    deepest = (layers[-1]["name"], methods[0])
    embedding, grid = maps[deepest]
    coords = checked_coordinates(cells["id"].astype(str), embedding, grid, "/".join(deepest))
    perm = map_order(coords["x"], coords["y"])
    inverse = np.empty(len(perm), dtype=np.int64)
    inverse[perm] = np.arange(len(perm))
    cells = cells.iloc[perm].reset_index(drop=True)
    neighbours = {layer: inverse[np.asarray(table)[perm]] for layer, table in neighbours.items()}
    if ifealid is not None:
        store, stored = ifealid
        moved = inverse[np.asarray(stored)]
        order = np.argsort(moved, kind="stable")
        store = {layer: {**entry, "codes": entry["codes"][order]} for layer, entry in store.items()}
        ifealid = (store, moved[order])
    return cells, neighbours, ifealid


def static_files():
    """``{relative path: Traversable}`` of every file the pages need."""
    root = resources.files(__package__) / STATIC
    found = {}

    def walk(node, prefix):
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
            elif not child.name.startswith("."):
                found[prefix + child.name] = child
    walk(root, "")
    return found


def write_atomically(out_dir, files):
    """Write the static pages + ``files`` into a temporary sibling, then swap it into place.

    Returns ``{relative path: bytes}`` of every file, also written to ``manifest.json``.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    static = static_files()
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, source in static.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(source.read_bytes())
        for name, text in files.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_text(text, encoding="utf-8")
        sizes = {str(p.relative_to(tmp)): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()}
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
