"""Turn one raw event into a clean, normalised 2-channel cell image (paper section II.B).

Order: bring to ``image_size`` -> subtract the background level -> zero pixels below a fraction
(20%) of each channel's maximum -> quality checks -> normalise each channel.
"""
import numpy as np
from scipy import ndimage
from skimage.transform import resize

#: in the order an event's ``reason`` (its first failed check) is decided: a channel without signal
#: first, because the shape checks of the other channel alone then fail too and would hide the cause
QC_CHECKS = ("qc_signal_both", "qc_one_object", "qc_area", "qc_compact", "qc_not_touching_border",
             "qc_not_saturated")
#: what a failed check means for the event, in the words qc.csv's ``problem`` column and Fig. 2 use
#: (an unreadable event's problem is its InputError's ``kind``)
QC_PROBLEMS = {"qc_one_object": "no object or several objects", "qc_area": "cell area out of range",
               "qc_compact": "not compact (doublet?)", "qc_not_touching_border": "cut by the frame border",
               "qc_signal_both": "weak or constant channel", "qc_not_saturated": "saturated"}


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


def subtract_background(image):
    """Remove each channel's background offset, estimated as the median of the frame border."""
    bg = np.array([border_median(p) for p in image], dtype=np.float32)[:, None, None]
    return np.clip(image - bg, 0, None)


def threshold_channels(image, fraction):
    """Zero every pixel below ``fraction`` of its channel's maximum (the paper's 20% rule)."""
    peak = image.reshape(len(image), -1).max(axis=1)[:, None, None]
    return np.where(image >= fraction * peak, image, 0).astype(np.float32)


def object_labels(mask, min_object_px):
    """Connected objects (8-connectivity) of ``mask``, ignoring specks under ``min_object_px``."""
    labels, n = ndimage.label(mask, structure=np.ones((3, 3)))
    if n == 0:
        return labels, np.zeros(0, dtype=int)
    sizes = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(sizes >= min_object_px) + 1
    return labels, keep


def keep_central_object(image, min_object_px):
    """Zero everything but the object holding the nucleus nearest the centre (for smears,
    where neighbouring red cells surround the white cell)."""
    labels, keep = object_labels(image.any(axis=0), min_object_px)
    if len(keep) == 0:
        return image
    nucleus = image[1] > 0
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


def signal_to_noise(raw_plane, background=None):
    """Peak above background in units of the background's robust standard deviation.

    ``background``: a mask of the pixels that show background (default: every pixel, which is
    only right while the cell covers well under half the frame; a large cell in a small export
    frame would otherwise count as noise)."""
    values = raw_plane[background] if background is not None else raw_plane
    med = np.median(values)
    mad = np.median(np.abs(values - med)) * 1.4826
    peak = np.percentile(raw_plane, 99.9)
    return (peak - med) / (mad + 1e-6 * (abs(med) + 1.0))


def background_mask(filtered, margin_px=2, min_share=0.1):
    """Pixels at least ``margin_px`` away from every object of the filtered image (any channel),
    or None when they are under ``min_share`` of the frame (too few to measure the noise on)."""
    background = ~ndimage.binary_dilation(filtered.any(axis=0), iterations=margin_px)
    return background if background.mean() >= min_share else None


def quality_checks(raw, filtered, saturation, qc):
    """Each configured check on one event: {check name: passed}. Disabled checks pass."""
    labels, keep = object_labels(filtered.any(axis=0), qc["min_object_px"])
    results = {}
    results["qc_one_object"] = (len(keep) == 1) if qc["one_object"] else True
    area = int(np.isin(labels, keep).sum()) if len(keep) else 0
    results["qc_area"] = (qc["min_area"] <= area <= qc["max_area"]) if qc["area"] else True
    if qc["compact"]:
        results["qc_compact"] = bool(len(keep)) and aspect_ratio(np.isin(labels, keep)) <= qc["max_aspect"]
    else:
        results["qc_compact"] = True
    if qc["not_touching_border"]:
        mask = np.isin(labels, keep)
        edge = mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()
        results["qc_not_touching_border"] = bool(len(keep)) and not edge
    else:
        results["qc_not_touching_border"] = True
    if qc["signal_both"]:
        background = background_mask(filtered)
        results["qc_signal_both"] = all(signal_to_noise(p, background) >= qc["min_snr"] for p in raw)
    else:
        results["qc_signal_both"] = True
    if qc["not_saturated"] and np.isfinite(saturation):
        share = max(float((p >= saturation).mean()) for p in raw)
        results["qc_not_saturated"] = share <= qc["max_saturated_fraction"]
    else:
        results["qc_not_saturated"] = True
    return {k: bool(v) for k, v in results.items()}


def normalise_per_image(image):
    """Each channel to [0, 1] by its own maximum."""
    peak = image.reshape(len(image), -1).max(axis=1)[:, None, None]
    return (image / np.where(peak > 0, peak, 1)).astype(np.float32)


def process_event(raw, saturation, data_cfg, qc_cfg, image_size):
    """raw float32 (2, H, W) -> (filtered, unnormalised image at image_size; qc results)."""
    sized = fit_to_size(raw, image_size, data_cfg["fit"])
    clean = subtract_background(sized)
    filtered = threshold_channels(clean, data_cfg["threshold"])
    if data_cfg["keep_central_object"]:
        filtered = keep_central_object(filtered, qc_cfg["min_object_px"])
    return filtered, quality_checks(sized, filtered, saturation, qc_cfg)
