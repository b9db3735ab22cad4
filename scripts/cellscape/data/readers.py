"""Find and read raw events from a folder per class, in the formats cytometry software exports.

Three layouts, detected per file:
- per-channel TIFF: one file per channel and event, ``<id>_Ch<k>.ome.tif`` (IDEAS/ImageStream export);
- stack: one multi-channel ``.tif``/``.tiff``/``.npy`` per event, channels first or last;
- RGB: a stained smear photograph (``.jpg``/``.jpeg``/``.png``/``.bmp``), a channel per band's optical density.
A fourth, ``cif``, is an object of an ImageStream .cif/.rif file (``data.source: cif``,
:mod:`cellscape.data.cif.source`); :func:`discover_all` finds the events of either source.

Every reader returns the event as float32 ``(C, H, W)`` in the order of ``data.channels``
(:mod:`cellscape.data.channels`), with the value at which the detector saturates (for the
saturation check).

Classes come from a folder per class, or, for an export in one folder, from each file's name
(``data.labels.pattern``) or a table (``data.labels.table``): :func:`label_events`.

Identity: an event's ``object`` is the file's own name for it (``123`` of ``123_Ch2.ome.tif``,
``cell7`` of ``cell7.tif``); cytometry software numbers objects per file or acquisition, so the
same number turns up in several class folders. Its ``id`` is always ``<class>/<object>`` (the
event's path below the data directory without the channel suffix), unique within one class
folder by construction: two files that claim the same object of one class (``7.tif`` beside
``7.npy``, two ``7_Ch2`` files) are an error naming both (:func:`check_unique_events`).
"""
import re
from pathlib import Path

import numpy as np

from . import stain
from .events import NO_LABEL, Event, InputError

PER_CHANNEL = re.compile(r"^(?P<object>.+)_(?P<ch>Ch\d+)(\.ome)?\.tiff?$", re.IGNORECASE)
STACK_SUFFIXES = {".tif", ".tiff", ".npy"}
RGB_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
def object_name(path):
    """The file's own name for its object: the name without ``.ome.tif``/``.tif``/... suffixes."""
    name = Path(path).name
    stem = name[:-len(Path(name).suffix)] if Path(name).suffix else name
    return stem[:-4] if stem.lower().endswith(".ome") else stem


def class_folders(root, classes):
    """The folder of each configured class; errors for a missing or empty class folder."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: data directory does not exist")
    if len(classes) < 2:
        raise InputError(f"config classes: need at least two classes, got {list(classes)}")
    folders = {}
    for cls in classes:
        folder = root / cls
        if not folder.is_dir():
            present = sorted(p.name for p in root.iterdir() if p.is_dir())
            raise InputError(f"{folder}: class folder missing (found folders: {present})")
        if not any(f.is_file() for f in folder.iterdir()):
            raise InputError(f"{folder}: class folder is empty")
        folders[cls] = folder
    return folders


def discover_events(root, classes, channels, labels=None):
    """List the events under ``root``, sorted by class then object (deterministic order).

    ``channels``: the resolved channels; their ``file`` tokens (e.g. ``Ch2``/``Ch4``) name the
    per-channel files, other channels' files are ignored. A per-channel event missing one of its
    files is listed with that problem (reading it raises it: quality control records it or, with
    ``data.on_bad_event: error``, stops). Two files claiming one cell are an error.

    ``labels`` (``data.labels``): where the classes are. Without a ``pattern`` or a ``table``, a
    folder per class (``root/<class>/``); else every image in ``root`` itself, each labelled by
    :func:`label_events`.
    """
    want = tuple(c["file"] for c in channels)
    labels = labels or {}
    if labels.get("pattern") or labels.get("table"):
        root = Path(root)
        if not root.is_dir():
            raise InputError(f"{root}: data directory does not exist")
        events = label_events(_scan_folder(root, None, channels, want), classes, labels)
    else:
        events = []
        for cls, folder in class_folders(root, classes).items():
            events.extend(_scan_folder(folder, cls, channels, want))
    events = sorted(events, key=lambda e: (e.cls or "", e.object))
    check_unique_events(events)
    return events


def _scan_folder(folder, cls, channels, want):
    """The events of the image files in ``folder`` (not below it), all of class ``cls``."""
    per_channel, events = {}, []
    for f in sorted(folder.iterdir()):
        if not f.is_file() or f.name.startswith("."):
            continue
        m = PER_CHANNEL.match(f.name)
        suffix = f.suffix.lower()
        if m:
            per_channel.setdefault(m["object"], {}).setdefault(m["ch"].capitalize(), []).append(f)
        elif suffix in STACK_SUFFIXES:
            events.append(Event(object_name(f), cls, "stack", (f,)))
        elif suffix in RGB_SUFFIXES:
            events.append(Event(object_name(f), cls, "rgb", (f,)))
    if per_channel and None in want:
        unnamed = [c["name"] for c in channels if c["file"] is None]
        raise InputError(f"{folder}: per-channel files (*_Ch<k>.ome.tif), and channel(s) {', '.join(unnamed)} "
                         "name no file suffix: set file (e.g. Ch6) for every channel in data.channels")
    for obj, chans in per_channel.items():
        events.append(_per_channel_event(folder, obj, cls, chans, want))
    if not events:  # only hidden files, notes, other suffixes
        tokens = " + ".join(f"*_{token}.ome.tif" for token in want if token)
        raise InputError(f"{folder}: no image files (expected {tokens or 'per-channel files'}, "
                         f"{'/'.join(sorted(STACK_SUFFIXES))} stacks "
                         f"or {'/'.join(sorted(RGB_SUFFIXES))} photographs)")
    return events


def label_events(events, classes, labels):
    """Give each event of one folder its class, from its name (the file name without the
    channel suffix and extension: ``Ciliated_1078`` of ``Ciliated_1078_Ch1.ome.tif``).

    ``labels.pattern``: a regular expression matching the whole name, with named groups ``class``
    and ``object`` (the event's object, so ids stay ``<class>/<object>``); ``labels.table``: a CSV
    file with columns ``object`` (the name) and ``class``. The label found is looked up in
    ``labels.map`` (keys compared case-insensitively), then matched to ``classes`` case-insensitively.
    An event without a label, or with one that is not a configured class, keeps its name as
    object, has no class and carries an :class:`InputError` of kind ``no label``.
    """
    pattern, table = labels.get("pattern"), labels.get("table")
    if pattern and table:
        raise InputError("config data.labels: give a pattern or a table, not both")
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error as err:
            raise InputError(f"config data.labels.pattern {pattern!r}: not a regular expression ({err})") from err
        if not {"class", "object"} <= set(regex.groupindex):
            raise InputError(f"config data.labels.pattern {pattern!r}: needs the named groups "
                             "(?P<class>...) and (?P<object>...)")
    else:
        lookup = read_label_table(table)
    mapping = {str(k).lower(): v for k, v in (labels.get("map") or {}).items()}
    by_name = {c.lower(): c for c in classes}
    out = []
    for event in events:
        obj, found, why = event.object, None, None
        if pattern:
            m = regex.fullmatch(event.object)
            if m:
                obj, found = m["object"], m["class"]
            else:
                why = f"name {event.object!r} does not match data.labels.pattern {pattern!r}"
        else:
            found = lookup.get(event.object)
            if found is None:
                why = f"object {event.object!r} is not in the label table {table}"
        if found is not None:
            label = mapping.get(found.lower(), found)
            cls = by_name.get(str(label).lower())
            if cls is None:
                why = f"label {found!r} is not one of the classes {list(classes)} (data.labels.map maps labels to classes)"
            else:
                out.append(Event(obj, cls, event.layout, event.files, event.problem))
                continue
        out.append(Event(event.object, None, event.layout, event.files,
                         InputError(f"{event.source}: no class: {why}", kind=NO_LABEL)))
    return out


def read_label_table(path):
    """{object name: label} of a CSV file with columns ``object`` and ``class``."""
    import csv
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise InputError(f"config data.labels.table: cannot read {path} ({err})") from err
    if not rows or not {"object", "class"} <= set(rows[0]):
        raise InputError(f"{path}: a label table needs the columns object and class")
    table = {}
    for row in rows:
        name, label = str(row["object"]).strip(), str(row["class"]).strip()
        if table.get(name, label) != label:
            raise InputError(f"{path}: object {name!r} has two classes, {table[name]!r} and {label!r}")
        table[name] = label
    return table


def discover_all(roots, data_cfg, classes):
    """The events of the configured source: the objects of ``data.files`` (``data.source: cif``),
    else those of each root's class folders."""
    if data_cfg.get("source") == "cif":
        from .cif.source import cif_events
        return cif_events(data_cfg, classes)
    labels = data_cfg.get("labels") if data_cfg.get("source") == "directory" else None
    return [event for root in roots for event in discover_events(root, classes, data_cfg["channels"], labels)]


def _per_channel_event(folder, obj, cls, chans, want):
    """The event of one object's per-channel files ``{channel token: [files]}``."""
    for token in want:
        if len(chans.get(token, [])) > 1:
            raise InputError(f"{folder / obj}: one cell, several {token} files: "
                             f"{' and '.join(str(f) for f in chans[token])}", kind="duplicate cell")
    missing = [token for token in want if token not in chans]
    if not missing:
        return Event(obj, cls, "per_channel", tuple(chans[token][0] for token in want))
    present = [chans[token][0] for token in want if token in chans] or sorted(f for fs in chans.values() for f in fs)
    found = ", ".join(sorted(f.name for fs in chans.values() for f in fs))
    problem = InputError(f"{folder / obj}: missing partner channel file(s) {', '.join(missing)} (found {found})",
                         kind="missing partner channel")
    return Event(obj, cls, "per_channel", tuple(present), problem)


def check_unique_events(events):
    """Raise an :class:`InputError` naming both source files when two events share one id."""
    first = {}
    for event in events:
        if event.id in first:
            raise InputError(f"cell id {event.id!r} claimed twice: by {first[event.id].source} and by "
                             f"{event.source} (ids are <class>/<object>; rename or remove one of them)",
                             kind="duplicate cell")
        first[event.id] = event


def _read_tiff(path):
    import tifffile
    try:
        image = tifffile.imread(path)
    except Exception as err:  # tifffile raises several types for corrupt files
        raise InputError(f"{path}: unreadable TIFF ({err})") from err
    if image.size == 0:  # a broken first-page offset reads as an empty array, with a warning
        raise InputError(f"{path}: unreadable TIFF (no image data)")
    return image


def _read_array(path):
    if Path(path).suffix.lower() == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except Exception as err:
            raise InputError(f"{path}: unreadable .npy ({err})") from err
    return _read_tiff(path)


def metadata_pixel_size(event):
    """The pixel size (um) the event's first file declares (OME-XML PhysicalSizeX, in um), or None."""
    f = event.files[0]
    if Path(f).suffix.lower() not in {".tif", ".tiff"}:
        return None
    import tifffile
    try:
        with tifffile.TiffFile(f) as tif:
            xml = tif.ome_metadata
    except Exception:  # an unreadable file is reported by read_event; no size here
        return None
    m = re.search(r'PhysicalSizeX="([0-9.eE+-]+)"', xml or "")
    unit = re.search(r'PhysicalSizeXUnit="([^"]+)"', xml or "")
    if not m or (unit and unit[1] not in ("\u00b5m", "um", "\u03bcm")):
        return None
    value = float(m[1])
    return value if value > 0 else None


def frame_shape(event):
    """(H, W) of an event's frame from its file's header, without decoding the pixels (None when
    the header does not say): TIFF page shape, .npy header, a photograph's size."""
    f = event.files[0]
    try:
        if event.layout == "rgb":
            from PIL import Image
            with Image.open(f) as im:
                return im.size[1], im.size[0]
        if Path(f).suffix.lower() == ".npy":
            with open(f, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                shape = np.lib.format._read_array_header(handle, version)[0]
        else:
            import tifffile
            with tifffile.TiffFile(f) as tif:
                shape = tif.series[0].shape
    except Exception:  # an unreadable file is reported by ingestion
        return None
    shape = tuple(int(n) for n in shape if n > 1)
    if event.layout == "stack" and len(shape) == 3:  # drop the channel axis (the short one, as read_stack)
        shape = shape[1:] if shape[0] <= min(shape[1:]) else shape[:2]
    return shape if len(shape) == 2 else None


def auto_image_size(events, fit, crop=None, quantile=0.99, sample=2000):
    """``image_size: auto``: the frames' longer side at ``quantile`` over up to ``sample`` events
    spread over the list, rounded up to an even number (at least 16), so ``pad_crop`` centre-crops
    only the largest frames (a cell cut there fails the border check, counted in qc.csv). Frames
    are read from headers only. Returns (size, {frames, largest, quantile}); None when no frame
    says its shape. Photographs are centre-cropped to ``crop`` first (data.rgb.crop)."""
    if not events:
        return None
    step = max(1, len(events) // sample)
    sides = []
    for event in events[::step]:
        shape = frame_shape(event)
        if shape is not None:
            side = max(shape)
            sides.append(min(side, crop) if event.layout == "rgb" and crop else side)
    if not sides:
        return None
    size = int(np.ceil(np.quantile(sides, quantile)))
    size = max(16, size + size % 2)
    return size, {"frames": len(sides), "largest": int(max(sides)), "quantile": quantile}


def saturation_level(dtype):
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else np.inf


def read_per_channel(event):
    planes = []
    for f in event.files:
        a = _read_tiff(f)
        a = np.squeeze(a)
        if a.ndim != 2:
            raise InputError(f"{f}: expected one 2-D channel image, got shape {a.shape}", kind="wrong image shape")
        planes.append(a)
    for f, plane in zip(event.files[1:], planes[1:]):
        if plane.shape != planes[0].shape:
            raise InputError(f"{f}: channel size {plane.shape} differs from "
                             f"{event.files[0].name} {planes[0].shape}", kind="channel sizes differ")
    return np.stack(planes).astype(np.float32), saturation_level(planes[0].dtype)


def read_stack(event, channels):
    """Multi-channel stack; channels-first or channels-last decided by which axis is short."""
    f = event.files[0]
    a = np.squeeze(_read_array(f))
    if a.ndim != 3:
        raise InputError(f"{f}: expected a multi-channel stack (3-D), got shape {a.shape}", kind="wrong image shape")
    first = a.shape[0] <= min(a.shape[1:]) and a.shape[0] <= 16
    last = a.shape[-1] <= min(a.shape[:2]) and a.shape[-1] <= 16
    if not (first or last):
        raise InputError(f"{f}: cannot tell the channel axis of shape {a.shape}", kind="wrong image shape")
    if not first:
        a = np.moveaxis(a, -1, 0)
    idx = [c["stack"] for c in channels]
    if max(idx) >= a.shape[0]:
        raise InputError(f"{f}: has {a.shape[0]} channels, config asks for channels {idx} "
                         f"(the stack index of each of data.channels)", kind="too few channels")
    return a[list(idx)].astype(np.float32), saturation_level(a.dtype)


def read_rgb(event, channels, crop):
    from PIL import Image
    f = event.files[0]
    try:
        with Image.open(f) as im:
            bands = im.getbands()
            rgb = np.asarray(im.convert("RGB"))
    except Exception as err:  # PIL raises OSError, SyntaxError, ValueError... for broken files
        raise InputError(f"{f}: unreadable image ({err})") from err
    if len(bands) < 3 and bands != ("P",):
        raise InputError(f"{f}: expected an RGB smear photograph, got a {len(bands)}-band "
                         f"image ({''.join(bands)}); stain separation needs colour", kind="not an RGB photograph")
    unnamed = [c["name"] for c in channels if c["band"] is None]
    if unnamed:
        raise InputError(f"{f}: an RGB photograph, and channel(s) {', '.join(unnamed)} name no band: set band "
                         "(red, green or blue) for every channel in data.channels", kind="channel without a band")
    return stain.band_channels(rgb, [c["band"] for c in channels], crop), np.inf


def read_event(event, data_cfg):
    """Read one event as float32 (C, H, W), C = len(data_cfg["channels"]) resolved channels, plus
    its saturation level; InputError when bad."""
    if event.problem is not None:
        raise event.problem
    if event.layout == "per_channel":
        image, sat = read_per_channel(event)
    elif event.layout == "stack":
        image, sat = read_stack(event, data_cfg["channels"])
    elif event.layout == "cif":
        from .cif.source import read_cif_event
        image, sat = read_cif_event(event, data_cfg)
    else:
        image, sat = read_rgb(event, data_cfg["channels"], data_cfg["rgb"]["crop"])
    if not np.all(np.isfinite(image)):
        raise InputError(f"{event.source}: image contains NaN or infinite values",
                         kind="NaN or infinite values")
    if image.shape[1] < 8 or image.shape[2] < 8:
        raise InputError(f"{event.source}: image too small ({image.shape[1]}x{image.shape[2]} px)",
                         kind="image too small")
    return image, sat
