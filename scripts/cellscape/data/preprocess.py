"""Turn one raw event into a clean, normalised cell image (paper section II.B), channel by kind.

Order: bring to ``image_size`` -> per channel, by its kind (:mod:`cellscape.data.channels`):
fluorescence and darkfield (dark background): subtract the border's level, zero pixels below a
fraction (20%) of the channel's maximum; brightfield (bright background, the cell darker or
brighter than it): the absolute deviation from the border's level, relative to that level, kept
inside the cell's outline (deviations above the border's noise floor, closed and filled) and 0
outside -> quality checks -> normalise each channel.
"""
import numpy as np
from scipy import ndimage
from skimage.transform import resize

from .channels import outline_channels

#: in the order an event's ``reason`` (its first failed check) is decided: a channel without signal
#: first, because the shape checks of the other channel alone then fail too and would hide the cause
QC_CHECKS = ("qc_signal_both", "qc_one_object", "qc_area", "qc_compact", "qc_not_touching_border",
             "qc_not_saturated", "qc_unique")
#: what a failed check means for the event, in the words qc.csv's ``problem`` column and Fig. 2 use
#: (an unreadable event's problem is its InputError's ``kind``)
QC_PROBLEMS = {"qc_one_object": "no object or several objects", "qc_area": "cell area out of range",
               "qc_compact": "not compact (doublet?)", "qc_not_touching_border": "cut by the frame border",
               "qc_signal_both": "weak or constant channel", "qc_not_saturated": "saturated",
               "qc_unique": "copy of another image (data.duplicates: drop_copies)"}


def fit_to_size(image, size, mode):
    """Bring (C, H, W) to (C, size, size).

    ``pad_crop`` keeps the pixel scale (cytometer images share one magnification): centre crop
    where larger, pad with the border median where smaller. ``resize`` scales the image with
    anti-aliasing (for photographs, after their centre crop), first padding it to a square.
    """
    c, h, w = image.shape
    if mode == "resize":
        side = max(h, w)
        image = _pad_to(image, side, side)
        if side != size:
            image = resize(image, (c, size, size), order=1, anti_aliasing=True,
                           preserve_range=True).astype(np.float32)
        return image
    image = _crop_to(image, size)
    return _pad_to(image, size, size)


def _crop_to(image, size):
    h, w = image.shape[-2:]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return image[:, top:top + min(size, h), left:left + min(size, w)]


def _pad_to(image, height, width):
    c, h, w = image.shape
    if (h, w) == (height, width):
        return image
    out = np.empty((c, height, width), dtype=image.dtype)
    for k in range(c):
        out[k] = border_median(image[k])
    top, left = (height - h) // 2, (width - w) // 2
    out[:, top:top + h, left:left + w] = image
    return out


def border_median(plane):
    return float(np.median(np.concatenate([plane[0], plane[-1], plane[1:-1, 0], plane[1:-1, -1]])))


def border_noise(plane):
    """Robust standard deviation (MAD x 1.4826) of the frame border's pixels."""
    border = np.concatenate([plane[0], plane[-1], plane[1:-1, 0], plane[1:-1, -1]])
    return float(np.median(np.abs(border - np.median(border))) * 1.4826)


def subtract_background(image):
    """Remove each channel's background offset, estimated as the median of the frame border."""
    bg = np.array([border_median(p) for p in image], dtype=np.float32)[:, None, None]
    return np.clip(image - bg, 0, None)


def threshold_channels(image, fraction):
    """Zero every pixel below ``fraction`` of its channel's maximum (the paper's 20% rule);
    ``fraction`` is one number or one per channel."""
    peak = image.reshape(len(image), -1).max(axis=1)[:, None, None]
    fraction = np.broadcast_to(np.asarray(fraction, dtype=np.float32), (len(image),))[:, None, None]
    return np.where(image >= fraction * peak, image, 0).astype(np.float32)


def brightfield_contrast(plane, noise_floor_sd=4.0, close_px=2):
    """A brightfield plane as the cell's deviation from the bright background, 0 outside the cell.

    The background level is the border's median; the cell is where the deviation, in either
    direction (absorbing interior darker, phase rim brighter), exceeds ``noise_floor_sd`` border
    noise sds, closed over ``close_px`` and hole-filled so the zero crossing between a dark
    interior and a bright rim does not split it. Inside, the deviation (at least the floor) over
    the background level: contrast in the illumination's units, whatever the lamp's brightness.
    """
    level = border_median(plane)
    deviation = np.abs(plane - level)
    floor = max(noise_floor_sd * border_noise(plane), 1e-6 * max(abs(level), 1.0))
    cell = ndimage.binary_closing(deviation > floor, structure=np.ones((3, 3)), iterations=close_px,
                                  border_value=0)
    cell = ndimage.binary_fill_holes(cell | (deviation > floor))
    scale = abs(level) if abs(level) > 0 else 1.0
    return np.where(cell, np.maximum(deviation, floor) / scale, 0).astype(np.float32)


def clean_channels(sized, channels):
    """Each channel of a sized raw image cleaned by its kind (module docstring)."""
    out = np.empty(sized.shape, np.float32)
    dark = [i for i, c in enumerate(channels) if c["kind"] != "brightfield"]
    if dark:
        out[dark] = threshold_channels(subtract_background(sized[dark]), [channels[i]["threshold"] for i in dark])
    for i, c in enumerate(channels):
        if c["kind"] == "brightfield":
            out[i] = brightfield_contrast(sized[i])
    return out


def object_labels(mask, min_object_px):
    """Connected objects (8-connectivity) of ``mask``, ignoring specks under ``min_object_px``."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return labels, np.zeros(0, dtype=int)
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(sizes >= min_object_px) + 1
    return labels, keep


def central_channel(channels, name=None):
    """Index of the channel keep_central_object looks for (``data.central_channel``; default the
    channel named nucleus), or None: every channel."""
    names = [c["name"] for c in channels]
    if name is not None:
        if name not in names:
            raise ValueError(f"config data.central_channel: {name!r} is not one of data.channels ({', '.join(names)})")
        return names.index(name)
    return names.index("nucleus") if "nucleus" in names else None


def keep_central_object(image, min_object_px, reference=1):
    """Zero everything but the object holding the ``reference`` channel's signal (a nucleus
    stain; None: any channel) nearest the centre (for smears, where neighbouring red cells
    surround the white cell)."""
    labels, keep = object_labels(image.any(axis=0), min_object_px)
    if len(keep) == 0:
        return image
    nucleus = image[reference] > 0 if reference is not None else image.any(axis=0)
    h, w = nucleus.shape
    yy, xx = np.mgrid[:h, :w]
    dist = np.hypot(yy - h / 2, xx - w / 2)
    best, best_score = keep[0], np.inf
    for lab in keep:
        region = (labels == lab) & nucleus
        if region.any():
            score = dist[region].min()
            if score < best_score:
                best, best_score = lab, score
    return np.where(labels == best, image, 0).astype(np.float32)


def aspect_ratio(mask):
    """Longest over shortest axis of the mask's second-moment ellipse (touching doublets are long)."""
    yy, xx = np.nonzero(mask)
    if len(yy) < 3:
        return np.inf
    eig = np.linalg.eigvalsh(np.cov(np.stack([yy, xx]).astype(float)))
    return float(np.sqrt(eig[1] / max(eig[0], 1e-9)))


def signal_to_noise(raw_plane, background=None, bright_background=False):
    """Peak above background in units of the background's robust standard deviation.

    ``bright_background`` (brightfield): the peak of the deviation from the background level in
    either direction, since a brightfield cell may be darker than its background.
    ``background``: a mask of the pixels that show background (default: every pixel, which is
    only right while the cell covers well under half the frame; a large cell in a small export
    frame would otherwise count as noise)."""
    if bright_background:
        level = np.median(raw_plane[background] if background is not None else raw_plane)
        raw_plane = np.abs(raw_plane - level)
    values = raw_plane[background] if background is not None else raw_plane
    med = np.median(values)
    mad = np.median(np.abs(values - med)) * 1.4826
    peak = np.percentile(raw_plane, 99.9)
    return (peak - med) / (mad + 1e-6 * (abs(med) + 1.0))


def background_mask(filtered, margin_px=2, min_share=0.1, footprint=None):
    """Pixels at least ``margin_px`` away from every object of the filtered image (any channel)
    and inside ``footprint`` (the raw frame, not the constant padding around a small one, which
    would look noiseless), or None when they are under ``min_share`` of the frame (too few to
    measure the noise on)."""
    background = ~ndimage.binary_dilation(filtered.any(axis=0), iterations=margin_px)
    if footprint is not None:
        background &= footprint
    return background if background.mean() >= min_share else None


def frame_footprint(shape, size, mode):
    """The pixels of the image brought to ``size`` (:func:`fit_to_size`) that hold the raw frame
    of ``shape`` (H, W), not padding: a cell cut by a small frame's edge stays cut after padding."""
    h, w = shape
    footprint = np.zeros((size, size), bool)
    if mode == "resize":
        side = max(h, w)
        top, left = (side - h) // 2, (side - w) // 2
        rows = slice(int(np.floor(top * size / side)), int(np.ceil((top + h) * size / side)))
        cols = slice(int(np.floor(left * size / side)), int(np.ceil((left + w) * size / side)))
    else:
        h, w = min(h, size), min(w, size)
        rows = slice((size - h) // 2, (size - h) // 2 + h)
        cols = slice((size - w) // 2, (size - w) // 2 + w)
    footprint[rows, cols] = True
    return footprint


def measure_event(raw, filtered, saturation, qc, channels, footprint=None):
    """Everything the checks judge, measured on one sized event ({name: value}; qc.csv's columns).

    The shape values (``n_objects``, ``area_px``, ``aspect``, ``border_px``: the object's pixels on
    the edge of the frame (of ``footprint``, the raw frame inside the sized image, when it is
    padded), ``bbox_h``/``bbox_w``) describe the cell in the channels that outline it
    (fluorescence and brightfield; darkfield scatter is speckled and faint in agranular cells);
    ``snr_<name>`` is each outline channel's peak over its background noise (NaN for the others);
    ``saturated_share`` the largest share of the frame's pixels at the detector's maximum over
    every channel (0 when the format has no maximum).
    """
    outline = outline_channels(channels)
    labels, keep = object_labels(filtered[outline].any(axis=0), qc["min_object_px"])
    mask = np.isin(labels, keep) if len(keep) else np.zeros(labels.shape, bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if footprint is None:
        footprint = np.ones(mask.shape, bool)
    edge = footprint & ~ndimage.binary_erosion(footprint, border_value=0)
    measured = {"n_objects": int(len(keep)), "area_px": int(mask.sum()),
                "aspect": aspect_ratio(mask) if len(keep) else np.nan, "border_px": int((mask & edge).sum()),
                "bbox_h": int(rows[-1] - rows[0] + 1) if len(rows) else 0,
                "bbox_w": int(cols[-1] - cols[0] + 1) if len(cols) else 0}
    background = background_mask(filtered, footprint=footprint)
    for i, channel in enumerate(channels):
        measured[f"snr_{channel['name']}"] = (float(signal_to_noise(raw[i], background, channel["kind"] == "brightfield"))
                                             if i in outline else np.nan)
    measured["saturated_share"] = (max(float((p[footprint] >= saturation).mean()) for p in raw)
                                   if np.isfinite(saturation) else 0.0)
    return measured


def measured_columns(channels):
    """The columns :func:`measure_event` fills, in order."""
    return ("n_objects", "area_px", "aspect", "border_px", "bbox_h", "bbox_w",
            *(f"snr_{c['name']}" for c in channels), "saturated_share")


def pixel_bounds(qc):
    """The shape bounds of ``qc.area_bounds: pixels``: the configured pixel counts and aspect."""
    return {"min_area_px": qc["min_area"], "max_area_px": qc["max_area"], "max_aspect": qc["max_aspect"]}


def judge(measured, qc, bounds, channels):
    """Each configured check on one event's measurements: {check name: passed}. Disabled checks
    pass. ``bounds``: ``min_area_px``, ``max_area_px``, ``max_aspect`` (pixels of the sized image)."""
    outline = outline_channels(channels)
    found = measured["n_objects"] > 0
    results = {"qc_unique": True}
    results["qc_one_object"] = measured["n_objects"] == 1 if qc["one_object"] else True
    results["qc_area"] = (bounds["min_area_px"] <= measured["area_px"] <= bounds["max_area_px"]) if qc["area"] else True
    results["qc_compact"] = (found and measured["aspect"] <= bounds["max_aspect"]) if qc["compact"] else True
    results["qc_not_touching_border"] = (found and measured["border_px"] == 0) if qc["not_touching_border"] else True
    results["qc_signal_both"] = (all(measured[f"snr_{channels[i]['name']}"] >= qc["min_snr"] for i in outline)
                                 if qc["signal_both"] else True)
    results["qc_not_saturated"] = (measured["saturated_share"] <= qc["max_saturated_fraction"]
                                   if qc["not_saturated"] else True)
    return {k: bool(results[k]) for k in QC_CHECKS}


def quality_checks(raw, filtered, saturation, qc, channels):
    """Each configured check on one event, with the pixel bounds of the config (``min_area``,
    ``max_area``, ``max_aspect``): {check name: passed}. Disabled checks pass."""
    return judge(measure_event(raw, filtered, saturation, qc, channels), qc, pixel_bounds(qc), channels)


def normalise_per_image(image):
    """Each channel to [0, 1] by its own maximum."""
    peak = image.reshape(len(image), -1).max(axis=1)[:, None, None]
    return (image / np.where(peak > 0, peak, 1)).astype(np.float32)


def process_event(raw, saturation, data_cfg, qc_cfg, image_size):
    """raw float32 (C, H, W) -> (filtered, unnormalised image at image_size; qc results with the
    config's pixel bounds: :func:`quality_checks`).

    ``data_cfg["channels"]``: the resolved channels (:func:`cellscape.data.channels.resolve_channels`)."""
    filtered, measured = measure_processed(raw, saturation, data_cfg, qc_cfg, image_size)
    return filtered, judge(measured, qc_cfg, pixel_bounds(qc_cfg), data_cfg["channels"])


def measure_processed(raw, saturation, data_cfg, qc_cfg, image_size):
    """raw float32 (C, H, W) -> (filtered, unnormalised image at image_size; :func:`measure_event`)."""
    channels = data_cfg["channels"]
    sized = fit_to_size(raw, image_size, data_cfg["fit"])
    filtered = clean_channels(sized, channels)
    if data_cfg["keep_central_object"]:
        filtered = keep_central_object(filtered, qc_cfg["min_object_px"],
                                       central_channel(channels, data_cfg.get("central_channel")))
    footprint = frame_footprint(raw.shape[1:], image_size, data_cfg["fit"])
    return filtered, measure_event(sized, filtered, saturation, qc_cfg, channels, footprint)
