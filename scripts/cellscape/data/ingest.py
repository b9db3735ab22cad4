"""Stream raw events into the filtered, normalised, split image set.

Raw files are read one at a time (in worker processes when threads > 1) and kept cells are
appended to the output array as they come, so memory does not grow with the number of events.
"""
import sys
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from ..runtime.io import NpyRowWriter, write_csv, write_json
from ..runtime.tables import join_on_id
from .channels import channel_names
from .normalisation import cell_factors, factor_columns, normalisation_evidence, write_evidence
from .preprocess import QC_CHECKS, QC_PROBLEMS, normalise_per_image, process_event
from .readers import InputError, check_unique_events, discover_events, read_event
from .split import stratified_split



def intensity_columns(names):
    """Integrated intensity of each channel: the sum of the cell's cleaned values (fluorescence:
    background-subtracted counts after the 20% rule) before any normalisation (what ``normalise:
    per_image`` scales away)."""
    return tuple(f"intensity_{name}" for name in names)


def qc_columns(names):
    return ("id", "class", "object", "source", "qc_readable", *QC_CHECKS, "kept", "reason", "problem",
            *intensity_columns(names), *factor_columns(names))


def _process(event, data_cfg, qc_cfg, image_size):
    """Worker: one event -> (image or None, qc row). Bad input is an InputError or a rejection."""
    names = channel_names(data_cfg["channels"])
    measured = intensity_columns(names) + factor_columns(names)
    row = {"id": event.id, "class": event.cls, "object": event.object, "source": event.source,
           "qc_readable": True}
    try:
        raw, saturation = read_event(event, data_cfg)
        if np.ptp(raw) == 0:
            raise InputError(f"{event.source}: image is constant (every pixel {raw.flat[0]:g})",
                             kind="constant image")
    except InputError as err:
        if data_cfg["on_bad_event"] == "error":
            raise
        row.update({"qc_readable": False, **{c: False for c in QC_CHECKS},
                    "kept": False, "reason": f"qc_readable: {err}", "problem": err.kind,
                    **{c: np.nan for c in measured}})
        return None, row
    image, checks = process_event(raw, saturation, data_cfg, qc_cfg, image_size)
    failed = [c for c in QC_CHECKS if not checks[c]]
    row.update(checks, kept=not failed, reason=failed[0] if failed else "",
               problem=QC_PROBLEMS[failed[0]] if failed else "",
               **dict(zip(intensity_columns(names), image.reshape(len(image), -1).sum(axis=1, dtype=np.float64))),
               **cell_factors(image, names))
    if failed:
        return None, row
    if data_cfg["normalise"] == "per_image":
        image = normalise_per_image(image)
    return image, row


def ingest_job(settings, raw_chunks, images, index, qc, classes, normalisation, threads=1):
    """What rule ``ingest`` does with its ``params.settings`` (:func:`cellscape.data.settings.data_settings`):
    ingest the simulator's ``raw_chunks`` (with their ground-truth properties) or, for an export,
    ``data.directory``, into the five output files. Returns ingest's (index, qc)."""
    data = settings["data"]
    if data["source"] == "synthetic":
        roots = [str(r) for r in raw_chunks]
        properties = read_properties(Path(r) / "properties.csv" for r in roots)
    else:
        roots, properties = [data["directory"]], None
    return ingest(roots, data, settings["qc"], settings["classes"], settings["image_size"], settings["seed"],
                  images, index, qc, classes, normalisation, threads=threads, properties=properties)


def ingest(roots, data_cfg, qc_cfg, classes, image_size, seed, out_images, out_index, out_qc,
           out_classes, out_normalisation, threads=1, properties=None):
    """Read every event under ``roots`` (each holding one folder per class) and write the set.

    ``properties``: optional table of simulator ground truth, joined to the index by id.
    ``out_normalisation``: the evidence whether per-image scaling removes a class signal, and
    the normalisation used (``auto`` decides from it, after every training cell is read).
    """
    events = []
    for root in roots:
        events.extend(discover_events(root, classes, data_cfg["channels"]))
    check_unique_events(events)  # across roots too (simulator chunks)
    if data_cfg["on_bad_event"] == "error":  # stop before reading anything
        for event in events:
            if event.problem is not None:
                raise event.problem
    work = partial(_process, data_cfg=data_cfg, qc_cfg=qc_cfg, image_size=image_size)
    qc_rows = []
    names = channel_names(data_cfg["channels"])
    with NpyRowWriter(out_images, (len(names), image_size, image_size), np.float32) as writer:
        if threads > 1:
            pool = ProcessPoolExecutor(threads)
            results = pool.map(work, events, chunksize=32)
        else:
            pool, results = None, map(work, events)
        try:
            for image, row in tqdm(results, total=len(events), desc="ingest", unit="event",
                                   file=sys.stderr, mininterval=2):
                if image is not None:
                    writer.append(image[None])
                qc_rows.append(row)
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        qc = pd.DataFrame(qc_rows, columns=list(qc_columns(names)))
        kept = qc[qc["kept"]].reset_index(drop=True)
        _require_classes(kept, classes, qc)
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
    return index, qc


def _require_classes(kept, classes, qc):
    counts = kept["class"].value_counts()
    short = [c for c in classes if counts.get(c, 0) < 3]
    if short:
        reasons = qc[~qc["kept"]].groupby("class")["reason"].agg(
            lambda r: r.str.split(":").str[0].value_counts().to_dict())
        raise InputError(f"class(es) {short} have fewer than 3 cells after quality control "
                         f"(rejections per class: {reasons.to_dict()}); check the qc settings")


def _index_table(kept, classes, split_cfg, seed, properties, names):
    label = {c: i for i, c in enumerate(classes)}
    index = pd.DataFrame({"row": np.arange(len(kept)), "id": kept["id"].astype(str),
                          "class": kept["class"], "label": kept["class"].map(label),
                          "source": kept["source"], "object": kept["object"].astype(str),
                          **{c: kept[c] for c in intensity_columns(names) + factor_columns(names)}})
    index["split"] = stratified_split(index["label"].to_numpy(), split_cfg, seed)
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
