"""Shape bounds that fit the data, and what quality control removed per class.

``qc.area_bounds`` decides the area (and aspect) bounds every event is judged by:

- ``auto`` (default): from the events themselves. Per class, over the events with one object and
  signal in every outline channel, the median +- ``qc.auto_k`` robust standard deviations
  (1.4826 x MAD, at least ``MIN_LOG_SD``) of log area; the bounds are the union of the classes'
  intervals: one interval for every event (quality control must not judge a cell by its label),
  wide enough for the typical cell of every class however the classes differ in size or number
  (a pooled median and MAD would sit on the largest class and cut a smaller class of other size).
  The aspect bound is the largest class's median + k sd of log aspect, never below
  ``qc.max_aspect`` (elongated classes widen it; round ones keep the doublet threshold). With k =
  4 a log-normal class keeps all but ~0.006% of its cells; doublets (twice the area, aspect ~2)
  and debris fall outside.
- ``pixels``: ``qc.min_area``/``qc.max_area`` pixels and ``qc.max_aspect`` as given (areas on the
  image brought to image_size).
- ``um2``: ``qc.min_area_um2``/``qc.max_area_um2`` square micrometres, through ``data.pixel_size_um``
  or, when that is null, the pixel size each file's metadata gives (OME PhysicalSizeX).
"""
import numpy as np

#: the smallest robust sd of log area or log aspect auto bounds use (5%): a set of near-identical
#: cells must not make the bounds so tight that measurement noise decides
MIN_LOG_SD = 0.05
#: a check (or an unreadable-file problem) that removes more than this share of a class is reported
CLASS_SHARE = 0.2
#: ... and one whose removal rates of two classes differ more than this factor (the larger at
#: least RATE_FLOOR and RATE_EVENTS events: 2% against 0.5%, or 4 events against none, is
#: chance as often as bias)
RATE_RATIO = 2.0
RATE_FLOOR = 0.05
RATE_EVENTS = 5


def robust_interval(values, k):
    """exp(median -+ k robust sd) of log ``values`` (positive)."""
    logs = np.log(np.asarray(values, dtype=float))
    median = float(np.median(logs))
    sd = max(1.4826 * float(np.median(np.abs(logs - median))), MIN_LOG_SD)
    return float(np.exp(median - k * sd)), float(np.exp(median + k * sd))


def auto_bounds(measured, qc, classes):
    """Auto bounds (module docstring) from the measured events: a table with ``class``,
    ``eligible`` (one object and signal), ``area_px``, ``aspect``. Returns the bounds and, per
    class, the interval it asked for."""
    per_class = {}
    for cls in classes:
        part = measured[(measured["class"] == cls) & measured["eligible"]]
        area = part["area_px"].to_numpy(dtype=float)
        area = area[area > 0]
        if len(area) < 3:
            continue
        aspect = part["aspect"].to_numpy(dtype=float)
        aspect = aspect[np.isfinite(aspect)]
        per_class[cls] = {"area_px": robust_interval(area, qc["auto_k"]),
                          "max_aspect": robust_interval(aspect, qc["auto_k"])[1] if len(aspect) >= 3 else qc["max_aspect"]}
    if not per_class:  # no class with three measurable cells: nothing to learn from, judge by the pixels
        return {"area_bounds": "pixels", "min_area_px": qc["min_area"], "max_area_px": qc["max_area"],
                "max_aspect": qc["max_aspect"], "note": "auto: too few measurable cells, used qc.min_area/max_area"}
    return {"area_bounds": "auto", "k": qc["auto_k"],
            "min_area_px": min(v["area_px"][0] for v in per_class.values()),
            "max_area_px": max(v["area_px"][1] for v in per_class.values()),
            "max_aspect": max(qc["max_aspect"], *(v["max_aspect"] for v in per_class.values())),
            "per_class": per_class}


def sized_pixel_um(pixel_um, frame_h, frame_w, image_size, fit):
    """The pixel size of the image brought to ``image_size`` (``resize`` scales it)."""
    return pixel_um * max(frame_h, frame_w) / image_size if fit == "resize" else pixel_um


def removal_rates(qc, classes):
    """{problem: {class: (removed, events)}} of qc.csv's rows with a class: each removed event
    counted once, under its ``problem`` (the first failed check, or why it could not be read)."""
    labelled = qc[qc["class"].isin(classes)]
    totals = labelled.groupby("class").size().reindex(classes, fill_value=0)
    removed = labelled[~labelled["kept"].astype(bool)]
    counts = removed.groupby(["problem", "class"]).size().unstack(fill_value=0).reindex(columns=classes, fill_value=0)
    return {problem: {cls: (int(row[cls]), int(totals[cls])) for cls in classes} for problem, row in counts.iterrows()}


def removal_warnings(qc, classes):
    """Sentences naming each check (problem) that removed more than CLASS_SHARE of a class, or
    removed classes at rates that differ more than RATE_RATIO times: a filter that may change
    what the classes look like, or the balance between them."""
    out = []
    for problem, per_class in removal_rates(qc, classes).items():
        rates = {cls: n / total for cls, (n, total) in per_class.items() if total}
        if not rates:
            continue
        shown = ", ".join(f"{cls} {rates[cls]:.0%} ({n} of {total})" for cls, (n, total) in per_class.items() if total)
        heavy = [cls for cls, r in rates.items() if r > CLASS_SHARE]
        high, low = max(rates.values()), min(rates.values())
        most = max(per_class.values(), key=lambda v: v[0] / v[1] if v[1] else 0)[0]
        uneven = high >= RATE_FLOOR and most >= RATE_EVENTS and high > RATE_RATIO * low
        if heavy or uneven:
            why = []
            if heavy:
                why.append(f"more than {CLASS_SHARE:.0%} of {', '.join(heavy)}")
            if uneven:
                why.append(f"classes at rates differing more than {RATE_RATIO:g}x")
            out.append(f"quality control '{problem}' removed {' and '.join(why)}: {shown}")
    return out
