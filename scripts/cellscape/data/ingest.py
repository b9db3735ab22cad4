"""Stream raw events into the filtered, normalised, split image set.

Raw files are read one at a time (in worker processes when threads > 1): each event is measured
(:func:`cellscape.data.preprocess.measure_event`) and hashed (:mod:`cellscape.data.duplicates`),
its filtered image spilled to an unnamed temporary file beside the output. Once every event is
measured, the shape bounds are decided from them (:mod:`cellscape.data.quality`), every event is
judged, and the kept rows are copied into the image set: memory does not grow with the number
of events.
"""
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..runtime.io import NpyRowWriter, write_csv, write_json
from ..runtime.tables import join_on_id
from .channels import channel_names
from .duplicates import duplicate_groups, duplicate_report, image_hash
from .normalisation import cell_factors, factor_columns, normalisation_evidence, write_evidence
from .preprocess import QC_CHECKS, QC_PROBLEMS, judge, measure_processed, measured_columns, normalise_per_image
from .quality import auto_bounds, removal_rates, removal_warnings, sized_pixel_um
from .readers import NO_LABEL, InputError, check_unique_events, discover_all, metadata_pixel_size, read_event
from .split import stratified_split


def intensity_columns(names):
    """Integrated intensity of each channel: the sum of the cell's cleaned values (fluorescence:
    background-subtracted counts after the 20% rule) before any normalisation (what ``normalise:
    per_image`` scales away)."""
    return tuple(f"intensity_{name}" for name in names)


def qc_columns(channels):
    """qc.csv's columns (docs/formats.md): identity, verdicts, then every measured value."""
    names = channel_names(channels)
    return ("id", "class", "object", "source", "qc_readable", *QC_CHECKS, "kept", "reason", "problem",
            "duplicate_of", "image_hash", "frame_h", "frame_w", *measured_columns(channels),
            "pixel_size_um", "area_um2", *intensity_columns(names), *factor_columns(names))


def _process(event, data_cfg, qc_cfg, image_size, want_pixel_size):
    """Worker: one event -> (filtered unnormalised image or None, qc row with every measured
    value, no verdict yet). Bad input is an InputError recorded as unreadable."""
    channels = data_cfg["channels"]
    row = {"id": event.id, "class": event.cls, "object": event.object, "source": event.source,
           "qc_readable": True}
    try:
        raw, saturation = read_event(event, data_cfg)
        if np.ptp(raw) == 0:
            raise InputError(f"{event.source}: image is constant (every pixel {raw.flat[0]:g})",
                             kind="constant image")
    except InputError as err:
        if data_cfg["on_bad_event"] == "error" and err.kind != NO_LABEL:
            raise
        row.update({"qc_readable": False, **{c: False for c in QC_CHECKS}, "kept": False,
                    "reason": f"qc_readable: {err}", "problem": err.kind})
        return None, row
    image, measured = measure_processed(raw, saturation, data_cfg, qc_cfg, image_size)
    pixel_um = data_cfg.get("pixel_size_um") or (metadata_pixel_size(event) if want_pixel_size else None)
    if pixel_um:
        pixel_um = sized_pixel_um(pixel_um, raw.shape[1], raw.shape[2], image_size, data_cfg["fit"])
    names = channel_names(channels)
    row.update(measured, image_hash=image_hash(raw), frame_h=raw.shape[1], frame_w=raw.shape[2],
               pixel_size_um=pixel_um or np.nan,
               area_um2=measured["area_px"] * pixel_um ** 2 if pixel_um else np.nan,
               **dict(zip(intensity_columns(names), image.reshape(len(image), -1).sum(axis=1, dtype=np.float64))),
               **cell_factors(image, names))
    return image, row


def ingest_job(settings, raw_chunks, images, index, qc, classes, normalisation, threads=1, summary=None):
    """What rule ``ingest`` does with its ``params.settings`` (:func:`cellscape.data.settings.data_settings`):
    ingest the simulator's ``raw_chunks`` (with their ground-truth properties) or, for an export,
    ``data.directory`` (``data.files`` for a cif source), into the output files (``summary``:
    qc_summary.json). Returns ingest's (index, qc)."""
    data = settings["data"]
    if data["source"] == "synthetic":
        roots = [str(r) for r in raw_chunks]
        properties = read_properties(Path(r) / "properties.csv" for r in roots)
    else:
        roots, properties = [data["directory"]], None
    return ingest(roots, data, settings["qc"], settings["classes"], settings["image_size"], settings["seed"],
                  images, index, qc, classes, normalisation, threads=threads, properties=properties,
                  out_summary=summary)


def ingest(roots, data_cfg, qc_cfg, classes, image_size, seed, out_images, out_index, out_qc,
           out_classes, out_normalisation, threads=1, properties=None, out_summary=None):
    """Read every event under ``roots`` (each holding one folder per class, or one folder
    labelled by ``data.labels``) and write the set.

    ``properties``: optional table of simulator ground truth, joined to the index by id.
    ``out_normalisation``: the evidence whether per-image scaling removes a class signal, and
    the normalisation used (``auto`` decides from it, after every training cell is read).
    ``out_summary``: optional JSON of the shape bounds used, removals per check and class,
    duplicate groups and every warning (qc_summary.json). qc.csv is written also when ingestion
    then stops (too few cells in a class, ``data.duplicates: error``).
    """
    events = discover_all(roots, data_cfg, classes)
    check_unique_events(events)  # across roots too (simulator chunks)
    if data_cfg["on_bad_event"] == "error":  # stop before reading anything
        for event in events:
            if event.problem is not None and event.problem.kind != NO_LABEL:
                raise event.problem
    want_pixel_size = qc_cfg["area_bounds"] == "um2" and not data_cfg.get("pixel_size_um")
    work = partial(_process, data_cfg=data_cfg, qc_cfg=qc_cfg, image_size=image_size,
                   want_pixel_size=want_pixel_size)
    channels = data_cfg["channels"]
    row_shape = (len(channels), image_size, image_size)
    Path(out_images).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=Path(out_images).parent) as spill:
        spilled, rows = [], []
        if threads > 1:
            pool = ProcessPoolExecutor(threads)
            results = pool.map(work, events, chunksize=32)
        else:
            pool, results = None, map(work, events)
        try:
            for image, row in tqdm(results, total=len(events), desc="ingest", unit="event",
                                   file=sys.stderr, mininterval=2):
                spilled.append(len(rows) if image is not None else -1)
                if image is not None:
                    spill.write(np.ascontiguousarray(image, dtype=np.float32).tobytes())
                rows.append(row)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        qc = pd.DataFrame(rows, columns=list(qc_columns(channels)))
        spill_row = np.cumsum(np.array(spilled) >= 0) - 1
        bounds = judge_events(qc, data_cfg, qc_cfg, classes)
        summary = qc_summary(qc, classes, bounds, data_cfg) | {"image_size": image_size}
        for text in summary["warnings"]:
            print(f"cellscape warning: {text}", file=sys.stderr)
        try:
            _require_classes(qc[qc["kept"]], classes, qc)
            if data_cfg["duplicates"] == "error" and summary["duplicates"]["groups"]:
                raise InputError(duplicates_error(qc))
        except InputError as err:
            write_csv(qc, out_qc)
            if out_summary is not None:
                write_json(summary | {"error": str(err)}, out_summary)
            raise
        kept = qc[qc["kept"]].reset_index(drop=True)
        spill.flush()
        stored = np.memmap(spill, dtype=np.float32, mode="r", shape=(max(int(spill_row[-1]) + 1, 1), *row_shape)) \
            if len(rows) and spill_row[-1] >= 0 else None
        with NpyRowWriter(out_images, row_shape, np.float32) as writer:
            for position in np.flatnonzero(qc["kept"].to_numpy()):
                image = np.asarray(stored[spill_row[position]])
                writer.append((normalise_per_image(image) if data_cfg["normalise"] == "per_image" else image)[None])
        del stored
    names = channel_names(channels)
    index = _index_table(kept, classes, data_cfg["split"], seed, properties, names)
    evidence = normalisation_evidence(index, classes, data_cfg["normalise"], data_cfg["normalise_auc"], names)
    if evidence["used"] == "dataset":
        _normalise_by_training_set(out_images, index)
    elif data_cfg["normalise"] == "auto":  # per_image, decided after the images were written
        _normalise_each_image(out_images)
    write_evidence(evidence, out_normalisation)
    write_csv(qc, out_qc)
    write_csv(index, out_index)
    write_json(list(classes), out_classes)
    if out_summary is not None:
        write_json(summary, out_summary)
    return index, qc


def event_bounds(row, bounds, qc_cfg):
    """The shape bounds one event is judged by, in pixels of its sized image (``um2``: through
    its own pixel size; an event without one fails the area check)."""
    if bounds["area_bounds"] != "um2":
        return bounds
    pixel = row["pixel_size_um"]
    if not np.isfinite(pixel):
        return {**bounds, "min_area_px": np.inf, "max_area_px": -np.inf}
    return {**bounds, "min_area_px": qc_cfg["min_area_um2"] / pixel ** 2,
            "max_area_px": qc_cfg["max_area_um2"] / pixel ** 2}


def judge_events(qc, data_cfg, qc_cfg, classes):
    """Decide every readable event's checks, ``kept``, ``reason``, ``problem`` and
    ``duplicate_of`` in ``qc`` (in place); returns the shape bounds used."""
    channels = data_cfg["channels"]
    readable = qc["qc_readable"].astype(bool).to_numpy()
    mode = qc_cfg["area_bounds"]
    fixed = {"area_bounds": mode, "min_area_px": qc_cfg["min_area"], "max_area_px": qc_cfg["max_area"],
             "max_aspect": qc_cfg["max_aspect"]}
    if mode == "um2":
        fixed.update(min_area_um2=qc_cfg["min_area_um2"], max_area_um2=qc_cfg["max_area_um2"])
    measured = qc[list(measured_columns(channels))].to_dict("records")

    def verdicts(bounds):
        return [judge(m, qc_cfg, event_bounds(r, bounds, qc_cfg), channels) if ok else None
                for m, r, ok in zip(measured, qc[["pixel_size_um"]].to_dict("records"), readable)]

    bounds = fixed
    if mode == "auto":
        first = verdicts(fixed)
        eligible = [bool(v and v["qc_one_object"] and v["qc_signal_both"]) for v in first]
        bounds = auto_bounds(qc.assign(eligible=eligible), qc_cfg, classes)
    checks = verdicts(bounds)
    qc["duplicate_of"] = duplicate_groups(qc["id"], qc["image_hash"].where(readable, ""))
    if data_cfg["duplicates"] == "drop_copies":  # keep the first event of a group that passes the rest
        seen = set()
        for i, result in enumerate(checks):
            group = qc.at[i, "duplicate_of"]
            if result is None or not group or not all(result.values()):
                continue
            result["qc_unique"] = group not in seen
            seen.add(group)
    columns = {c: qc[c].tolist() for c in (*QC_CHECKS, "kept", "reason", "problem")}
    for i, result in enumerate(checks):
        if result is None:
            continue
        failed = [c for c in QC_CHECKS if not result[c]]
        for c in QC_CHECKS:
            columns[c][i] = result[c]
        columns["kept"][i] = not failed
        columns["reason"][i] = failed[0] if failed else ""
        columns["problem"][i] = QC_PROBLEMS[failed[0]] if failed else ""
    for c, values in columns.items():
        qc[c] = pd.Series(values, index=qc.index, dtype=bool if c in (*QC_CHECKS, "kept") else object)
    qc["qc_readable"] = qc["qc_readable"].astype(bool)
    return bounds


def qc_summary(qc, classes, bounds, data_cfg):
    """qc_summary.json: bounds, events and kept cells per class, removals per problem and class,
    duplicate groups, unlabelled objects and the warnings said where the user looks."""
    duplicates = duplicate_report(qc)
    unlabelled = int((qc["problem"] == NO_LABEL).sum())
    warnings = removal_warnings(qc, classes)
    if duplicates["groups"]:
        shown = ", ".join(f"{cls} {v['groups']} groups ({v['images']} images)" for cls, v in duplicates["per_class"].items())
        handled = {"keep_together": "each group is kept in one split",
                   "drop_copies": "only the first image of each group is kept",
                   "error": "data.duplicates: error stops ingestion"}[data_cfg["duplicates"]]
        warnings.append(f"{duplicates['images']} images are exact, rotated or mirrored copies of each other "
                        f"({duplicates['groups']} groups: {shown}); {handled} (qc.csv: duplicate_of)")
        if duplicates["across_classes"]:
            warnings.append(f"{len(duplicates['across_classes'])} duplicate groups hold images of different "
                            f"classes, e.g. {', '.join(duplicates['across_classes'][0])}")
    if unlabelled:
        warnings.append(f"{unlabelled} objects have no class (data.labels) and are not used "
                        f"(qc.csv: problem '{NO_LABEL}')")
    kept = qc[qc["kept"]].groupby("class").size().reindex(classes, fill_value=0)
    total = qc[qc["class"].isin(classes)].groupby("class").size().reindex(classes, fill_value=0)
    printable = {k: v for k, v in bounds.items() if k != "per_class"}
    if "per_class" in bounds:
        printable["per_class"] = {cls: {"min_area_px": v["area_px"][0], "max_area_px": v["area_px"][1],
                                        "max_aspect": v["max_aspect"]} for cls, v in bounds["per_class"].items()}
    return {"bounds": printable, "events": {c: int(total[c]) for c in classes},
            "kept": {c: int(kept[c]) for c in classes},
            "removed": {p: {c: n for c, (n, _) in v.items()} for p, v in removal_rates(qc, classes).items()},
            "duplicates": duplicates, "unlabelled": unlabelled, "warnings": warnings}


def duplicates_error(qc):
    groups = qc[qc["duplicate_of"] != ""].groupby("duplicate_of")["id"].apply(list)
    shown = "; ".join(" = ".join(ids) for ids in groups.head(5))
    return (f"{len(groups)} groups of duplicate images (exact, rotated or mirrored copies; data.duplicates: error): "
            f"{shown}{' ...' if len(groups) > 5 else ''} (qc.csv: duplicate_of)")


def _require_classes(kept, classes, qc):
    counts = kept["class"].value_counts()
    short = [c for c in classes if counts.get(c, 0) < 3]
    if short:
        reasons = qc[~qc["kept"]].groupby("class")["reason"].agg(
            lambda r: r.str.split(":").str[0].value_counts().to_dict())
        raise InputError(f"class(es) {short} have fewer than 3 cells after quality control "
                         f"(rejections per class: {reasons.to_dict()}); check the qc settings (qc.csv has "
                         "every measured value)")


def _index_table(kept, classes, split_cfg, seed, properties, names):
    label = {c: i for i, c in enumerate(classes)}
    index = pd.DataFrame({"row": np.arange(len(kept)), "id": kept["id"].astype(str),
                          "class": kept["class"], "label": kept["class"].map(label),
                          "source": kept["source"], "object": kept["object"].astype(str),
                          **{c: kept[c] for c in intensity_columns(names) + factor_columns(names)}})
    # copies of one image (qc.csv's duplicate_of) go to one split
    index["split"] = stratified_split(index["label"].to_numpy(), split_cfg, seed, groups=kept["duplicate_of"].to_numpy())
    if properties is not None and len(properties):
        props = properties.assign(id=properties["class"].astype(str) + "/" + properties["event_id"].astype(str))
        props = props.drop(columns=["event_id", "class"])
        index = join_on_id(index, props, "the image set", "the simulator's properties.csv", how="covers")
    cols = ["row", "id", "class", "label", "split", "source", "object"]
    return index[cols + [c for c in index.columns if c not in cols]]


def _normalise_each_image(path, batch=512):
    """Per-image normalisation in place (``auto`` decides it only after every cell is written)."""
    images = np.load(path, mmap_mode="r+")
    for start in range(0, len(images), batch):
        block = np.asarray(images[start:start + batch])
        images[start:start + batch] = np.stack([normalise_per_image(image) for image in block])
    images.flush()


def _normalise_by_training_set(path, index, batch=512):
    """Scale each channel by the 99th percentile of the training cells' channel maxima."""
    images = np.load(path, mmap_mode="r+")
    train = index.loc[index["split"] == "train", "row"].to_numpy()
    maxima = np.stack([images[i].reshape(images.shape[1], -1).max(axis=1) for i in train])
    scale = np.percentile(maxima, 99, axis=0)
    for start in range(0, len(images), batch):
        block = np.asarray(images[start:start + batch])
        images[start:start + batch] = np.clip(block / scale[None, :, None, None], 0, 1)
    images.flush()


def read_properties(paths):
    """Concatenate the simulator's per-chunk properties tables (ground truth per event)."""
    frames = [pd.read_csv(p) for p in paths if Path(p).exists()]
    return pd.concat(frames, ignore_index=True) if frames else None
