"""``data.source: cif``: the objects of ImageStream .cif/.rif files as the workflow's events.

``data.files`` names the files, either one per class (``{class: path}``, a path or a list of
paths) or as a list whose objects ``data.labels.table`` labels: a CSV with the columns
``object`` (the object number), ``class`` and, when several files are listed, ``file`` (the
file's name or its path as listed). An object the table does not label is an event with the
problem ``no label``: qc.csv records it and nothing reads its pixels.

Channels are chosen by the instrument's channel number (``data.channels[].file``: ``Ch1`` to
``Ch12``, as the per-object TIFF exports name them), found among the file's channels in use.
``mask: instrument`` (per channel, or ``data.mask`` for all) takes the instrument's own mask of
the channel for the cell in place of the threshold rule: pixels outside it become the
channel's background level (their median), which background removal then sets to 0.

Identity: an event's object is its object number (``12``) when one file is configured, else
``<file name without suffix>_<number>``; its source is ``<path>#<number>``.
"""
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..events import NO_LABEL, Event, InputError
from .container import CifError, CifFile, object_count
from .objects import ObjectLocation, locate_objects, read_object

SUFFIXES = (".cif", ".rif")
#: the cameras' data are 12-bit: a pixel at this value is saturated
SATURATION = 4095.0


def configured_files(data_cfg, classes):
    """``[(path, class or None)]`` of ``data.files``, in the configured order."""
    files = data_cfg.get("files")
    if not files:
        raise InputError("config data.files: required when data.source is cif (a {class: file} mapping, "
                         "or a list of .cif/.rif files with data.labels.table)")
    if isinstance(files, dict):
        unknown = sorted(set(files) - set(classes))
        if unknown:
            raise InputError(f"config data.files: {unknown} are not among classes {list(classes)}")
        return [(Path(p), cls) for cls, paths in files.items()
                for p in ([paths] if isinstance(paths, str) else paths)]
    return [(Path(p), None) for p in ([files] if isinstance(files, str) else files)]


def input_files(data_cfg, classes):
    """The files ingestion reads: the .cif/.rif files and the label table (rule inputs)."""
    table = (data_cfg.get("labels") or {}).get("table")
    return [str(p) for p, _ in configured_files(data_cfg, classes)] + ([table] if table else [])


def total_objects(data_cfg):
    """The objects of every configured file by their headers (planning sizes the run by them), or
    None when a file cannot be opened (planning then stops with :func:`check_config`'s message)."""
    files = data_cfg.get("files")
    paths = (files.values() if isinstance(files, dict) else [files] if isinstance(files, str) else files or [])
    try:
        return sum(object_count(p) for entry in paths for p in ([entry] if isinstance(entry, str) else entry))
    except (InputError, OSError):
        return None


def check_config(data_cfg, classes):
    """Stop at planning for a cif source that cannot work: missing files, a labelling that
    cannot label, channels the files do not hold. Returns the object count of every file."""
    files = configured_files(data_cfg, classes)
    table = (data_cfg.get("labels") or {}).get("table")
    per_class = isinstance(data_cfg["files"], dict)
    if per_class and table:
        raise InputError("config data.labels.table: the files are already one per class (data.files is a "
                         "mapping); give a list of files with a table, or a mapping without one")
    if not per_class and not table:
        raise InputError("config data.files: a list of files needs data.labels.table (object number -> class), "
                         "or give one file per class as a mapping {class: file}")
    counts = {}
    for path, _ in files:
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"config data.files: {path} is not a .cif or .rif file")
        if not path.is_file():
            raise InputError(f"config data.files: {path} does not exist")
        with CifFile(path) as cif:
            channel_positions(cif.metadata, data_cfg["channels"], path)
            counts[str(path)] = cif.metadata.object_count
    if table:
        read_label_table(table, [p for p, _ in files], classes)
    return counts


def channel_positions(metadata, channels, path):
    """Where each configured channel (``file``: ``Ch<k>``) lies among the file's channels in use."""
    names = list(metadata.channel_names)
    positions = []
    for channel in channels:
        token = channel["file"]
        if token is None:
            raise InputError(f"config data.channels ({channel['name']}): set file (Ch1..Ch12) to name the "
                             f"instrument channel of {path} (channels in use: {', '.join(names)})")
        if token.capitalize() not in names:
            raise InputError(f"config data.channels ({channel['name']}): {path} did not record {token} "
                             f"(channels in use: {', '.join(names)})", kind="channel not in file")
        positions.append(names.index(token.capitalize()))
    return positions


def read_label_table(table, paths, classes):
    """``{(file index, object number): class}`` from the CSV ``table``."""
    import pandas as pd
    try:
        labels = pd.read_csv(table, dtype={"class": str})
    except Exception as err:  # pandas raises several types for unreadable tables
        raise InputError(f"config data.labels.table: {table}: unreadable ({err})") from err
    missing = [c for c in ("object", "class") if c not in labels.columns]
    if missing or len(paths) > 1 and "file" not in labels.columns:
        need = ["object", "class"] + (["file"] if len(paths) > 1 else [])
        raise InputError(f"config data.labels.table: {table}: needs the columns {need}, has {list(labels.columns)}")
    unknown = sorted(set(labels["class"]) - set(classes))
    if unknown:
        raise InputError(f"config data.labels.table: {table}: classes {unknown} are not among classes {list(classes)}")
    if "file" in labels.columns:
        names = {}
        for k, p in enumerate(paths):
            names[str(p)] = names[p.name] = k
        where = labels["file"].astype(str).map(names)
        if where.isna().any():
            bad = sorted(set(labels.loc[where.isna(), "file"].astype(str)))[:5]
            raise InputError(f"config data.labels.table: {table}: files {bad} are not in data.files")
    else:
        where = pd.Series(0, index=labels.index)
    keys = list(zip(where.astype(int), labels["object"].astype(int)))
    if len(set(keys)) < len(keys):
        raise InputError(f"config data.labels.table: {table}: an object is labelled twice")
    return dict(zip(keys, labels["class"]))


def cif_events(data_cfg, classes):
    """Every object of ``data.files`` as an :class:`Event` (layout ``cif``), in file then object order."""
    files = configured_files(data_cfg, classes)
    table = (data_cfg.get("labels") or {}).get("table")
    labels = read_label_table(table, [p for p, _ in files], classes) if table else None
    events = []
    for k, (path, cls) in enumerate(files):
        with CifFile(path) as cif:
            channel_positions(cif.metadata, data_cfg["channels"], path)
            for location in locate_objects(cif):
                name = str(location.number) if len(files) == 1 else f"{path.stem}_{location.number}"
                locator = (location.number, location.image_offset, location.mask_offset)
                label = cls if labels is None else labels.get((k, location.number))
                problem = None
                if label is None:
                    problem = InputError(f"{path}#{location.number}: object {location.number} has no class in "
                                         f"{table} (data.labels.table)", kind=NO_LABEL)
                events.append(Event(name, label, "cif", (path,), problem, locator))
    return events


@lru_cache(maxsize=8)
def _open(path):
    """One open file per process and path (reads use pread: forked workers share nothing)."""
    return CifFile(path)


def read_cif_event(event, data_cfg):
    """float32 (C, H, W) of one cif event in the order of ``data.channels``, and the saturation level."""
    path = event.files[0]
    cif = _open(str(path))
    number, image_offset, mask_offset = event.locator
    obj = read_object(cif, ObjectLocation(-1, number, image_offset, mask_offset))
    channels = data_cfg["channels"]
    positions = channel_positions(cif.metadata, channels, path)
    image = obj.image[positions].astype(np.float32)
    for k, channel in enumerate(channels):
        if channel.get("mask") != "instrument":
            continue
        if obj.mask is None:
            raise CifError(f"{event.source}: mask instrument for channel {channel['name']}, and the file holds no masks",
                           kind="no instrument mask")
        inside = obj.mask[positions[k]] > 0
        if (~inside).any():
            image[k][~inside] = np.median(image[k][~inside])
    return image, SATURATION
