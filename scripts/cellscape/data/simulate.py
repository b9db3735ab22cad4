"""Synthetic imaging flow cytometer: the workflow's data source when there is no real data.

It writes the same per-cell OME-TIFF layout the `directory` source reads (docs/formats.md,
"Raw events"), so the real-data path is exercised end to end. Cells come from
`cellscape.simulate_cells` (geometry); this module stains them (granules, chromatin),
images them (defocus, motion blur along the flow axis x, shot and read noise, background
with a gradient, 16-bit clipping), mixes in the bad events the quality checks must reject,
and writes one chunk atomically.

Parameters (the config's `simulator` section; every key has a default in DEFAULTS):

- frame_size: raw frame edge in px (square frames). Default 78 (= image_size).
- pixel_size_um: object-plane pixel size; converts the um diameters below. 0.33 (60x).
- class_fractions: {class: share} of events; only lymphocyte and neutrophil exist.
- bad_event_fraction: share of events that are bad (debris, doublet, ...). 0.08.
- bad_event_types: {type: weight} splitting bad events over debris, doublet, empty,
  saturated, border (weights are normalised).
- ambiguous_fraction: share of good cells with a mid-range morphology score (look like
  either class). 0.06.
- morphology_spread: standard deviation of each class's morphology score around its end
  (0.15 / 0.85); larger = more overlap. 0.1.
- lymphocyte_diameter_um, neutrophil_diameter_um: diameter at morphology 0 and 1.
- diameter_sd_um: per-cell diameter noise on top of the morphology trend.
- lymphocyte_nucleus_ratio, neutrophil_nucleus_ratio: target nucleus/cell area at
  morphology 0 and 1 (the recorded ratio is measured on the rendered masks).
- nucleus_ratio_sd: per-cell noise on that target.
- shape_morphology: null (the default: each cell's morphology score sets its diameter,
  nucleus ratio, lobes, kidney notch and granules) or a score in [0, 1] that every cell's
  diameter, lobes, notch and granules are drawn at, so that only the nucleus-to-cell ratio
  still follows the class (configs/concepts.yaml: one causal property).
- max_elongation: cell body axis ratio - 1 is drawn from U(0, max_elongation).
- max_offset_px: cell centre drawn uniformly within +-max_offset_px of the frame centre.
- brightness_cyto, brightness_nuc: median peak stain signal in counts (log-normal).
- brightness_sd_log: sigma of log brightness.
- granularity: granule contrast of a typical neutrophil's cytoplasm (scaled by morphology).
- cytoplasm_over_nucleus: cytoplasm stain left where the nucleus is (0..1).
- crosstalk: fraction of the nucleus signal bleeding into the cytoplasm channel.
- defocus_sigma_px: [low, high] of the per-event gaussian defocus sigma.
- motion_blur_px: [low, high] of the per-event box-blur length along x (flow axis).
- background_counts: camera offset added to every pixel (counts).
- background_gradient: largest background slope in counts per px (random direction).
- gain: counts per photo-electron (shot noise is Poisson in electrons).
- read_noise_counts: gaussian read noise sd in counts.
- saturation_factor: [low, high]: saturated events have their peak pushed to this multiple
  of 65535 before clipping.
- brightfield_level: brightfield illumination in counts (the bright background).
- brightfield_absorption: fraction of the light the cell absorbs at its centre (the nucleus a
  little more); negative: the cell is brighter than the background (another focus).
- brightfield_rim: brightness of the phase-like halo just outside the cell edge, as a
  fraction of the illumination.
- darkfield_scatter: side-scatter counts of a cell without granules.
- darkfield_granule_scatter: extra side scatter of a typical neutrophil's granules (scaled by
  morphology, so it grows from lymphocytes to neutrophils: granular cells scatter more).

Channels: the fluorescence markers Ch2 (cytoplasm) and Ch4 (nucleus) always; on request (the
`channels` argument, from data.channels' file suffixes) also brightfield Ch1 and Ch9 and
darkfield Ch6 (ImageStream's usual assignment). The extra channels draw their noise from a
random stream of their own, so asking for them leaves the fluorescence images unchanged.
"""
import argparse
import csv
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
from scipy import ndimage
from tqdm import tqdm

from .simulate_cells import (debris_geometry, draw_cell_geometry,
                                      draw_morphology_score, frame_grid, render_cell)

UINT16_MAX = 65535
CHANNELS = ("Ch2", "Ch4")  # cytoplasm marker (channel 0, red), nucleus marker (channel 1, green)
#: every channel the simulator can image, by file suffix, and what it is
CHANNEL_KINDS = {"Ch1": "brightfield", "Ch2": "cytoplasm", "Ch4": "nucleus", "Ch6": "darkfield", "Ch9": "brightfield"}
BAD_EVENT_TYPES = ("debris", "doublet", "empty", "saturated", "border")
EVENT_TYPES = ("cell",) + BAD_EVENT_TYPES
CLASSES = ("lymphocyte", "neutrophil")
PROPERTY_COLUMNS = ("cell_diameter_px", "nucleus_area_ratio", "lobes", "brightness_cyto",
                    "brightness_nuc", "offset_x", "offset_y", "rotation_deg",
                    "morphology_score", "defocus_sigma_px", "motion_blur_px",
                    "cell_area_px", "nucleus_area_px", "granularity")
CSV_COLUMNS = ("event_id", "class", "event_type") + PROPERTY_COLUMNS
EVENTS_PER_CHUNK_LIMIT = 1_000_000  # event_id = chunk * 1_000_000 + i

DEFAULTS = {
    "frame_size": 78,
    "pixel_size_um": 0.33,
    "class_fractions": {"lymphocyte": 0.5, "neutrophil": 0.5},
    "bad_event_fraction": 0.08,
    "bad_event_types": {"debris": 0.3, "doublet": 0.25, "empty": 0.1, "saturated": 0.15,
                        "border": 0.2},
    "ambiguous_fraction": 0.06,
    "morphology_spread": 0.1,
    "lymphocyte_diameter_um": 8.0,
    "neutrophil_diameter_um": 12.0,
    "diameter_sd_um": 0.8,
    "lymphocyte_nucleus_ratio": 0.62,
    "neutrophil_nucleus_ratio": 0.36,
    "nucleus_ratio_sd": 0.05,
    "shape_morphology": None,
    "max_elongation": 0.15,
    "max_offset_px": 4.0,
    "brightness_cyto": 3000.0,
    "brightness_nuc": 6000.0,
    "brightness_sd_log": 0.3,
    "granularity": 0.5,
    "cytoplasm_over_nucleus": 0.5,
    "crosstalk": 0.03,
    "defocus_sigma_px": [0.4, 1.4],
    "motion_blur_px": [0.0, 3.0],
    "background_counts": 100.0,
    "background_gradient": 0.5,
    "gain": 2.0,
    "read_noise_counts": 6.0,
    "saturation_factor": [1.5, 4.0],
    "brightfield_level": 20000.0,
    "brightfield_absorption": 0.3,
    "brightfield_rim": 0.15,
    "darkfield_scatter": 300.0,
    "darkfield_granule_scatter": 2500.0,
}


def resolve_params(params=None):
    """DEFAULTS overlaid with `params` (a plain dict, e.g. config["simulator"]); validated.

    Dict-valued keys are replaced as a whole, so a config can drop a class or a bad-event type.
    Unknown keys raise, so a typo in the config does not silently fall back to a default.
    """
    resolved = dict(DEFAULTS)
    unknown = set(params or {}) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown simulator parameter(s): {sorted(unknown)}")
    resolved.update(params or {})
    shape = resolved["shape_morphology"]
    if shape is not None and not (isinstance(shape, (int, float)) and 0 <= shape <= 1):
        raise ValueError(f"simulator.shape_morphology: null or a score within [0, 1], got {shape!r}")
    bad_classes = set(resolved["class_fractions"]) - set(CLASSES)
    if bad_classes or not resolved["class_fractions"]:
        raise ValueError(f"simulator.class_fractions: classes must be among {CLASSES}, "
                         f"got {sorted(resolved['class_fractions'])}")
    bad_types = set(resolved["bad_event_types"]) - set(BAD_EVENT_TYPES)
    if bad_types:
        raise ValueError(f"simulator.bad_event_types: unknown type(s) {sorted(bad_types)}")
    if not 0 <= resolved["bad_event_fraction"] <= 1:
        raise ValueError("simulator.bad_event_fraction must be within [0, 1]")
    if resolved["bad_event_fraction"] > 0 and sum(resolved["bad_event_types"].values()) <= 0:
        raise ValueError("simulator.bad_event_types: weights must sum to > 0")
    return resolved


def _normalised(weights):
    names = list(weights)
    p = np.array([weights[n] for n in names], dtype=float)
    return names, p / p.sum()


def draw_event_plan(rng, n_events, params):
    """Class and event type of every event of a chunk (drawn up front: cheap and testable)."""
    class_names, class_p = _normalised(params["class_fractions"])
    classes = rng.choice(class_names, size=n_events, p=class_p)
    event_types = np.full(n_events, "cell", dtype=object)
    bad = rng.random(n_events) < params["bad_event_fraction"]
    if bad.any():
        type_names, type_p = _normalised(params["bad_event_types"])
        event_types[bad] = rng.choice(type_names, size=int(bad.sum()), p=type_p)
    return [str(c) for c in classes], [str(t) for t in event_types]


# ---------------------------------------------------------------- staining and optics

def _texture(rng, shape, density, sigma):
    """Random bright specks (granules / chromatin clumps) with mean ~1."""
    specks = (rng.random(shape) < density).astype(np.float64)
    return ndimage.gaussian_filter(specks, sigma, mode="constant") / density


def check_channels(channels):
    """``channels`` (file suffixes) as a tuple; an error naming any the simulator cannot image."""
    channels = tuple(str(c).capitalize() for c in channels)
    unknown = [c for c in channels if c not in CHANNEL_KINDS]
    if unknown or not channels:
        raise ValueError(f"the simulator images {', '.join(f'{k} ({v})' for k, v in CHANNEL_KINDS.items())}; "
                         f"data.channels asks for {', '.join(unknown) or 'none'}")
    return channels


def stain(rendering, rng, brightness_cyto, brightness_nuc, granularity, params, extra=()):
    """Expected signal (counts above background) of both fluorescence channels, shape (2, H, W),
    then the ``extra`` channels' expected images (:func:`label_free_planes`)."""
    shape = rendering.cell_profile.shape
    granules = 1.0 + granularity * (_texture(rng, shape, 0.15, 0.8) - 1.0)
    cyto = (rendering.cell_profile
            * (1.0 - (1.0 - params["cytoplasm_over_nucleus"]) * rendering.nucleus_profile)
            * granules)
    chromatin = 1.0 + 0.25 * (_texture(rng, shape, 0.15, 1.2) - 1.0)
    nucleus = rendering.nucleus_profile * chromatin * brightness_nuc
    planes = [cyto * brightness_cyto + params["crosstalk"] * nucleus, nucleus]
    return np.stack(planes + label_free_planes(rendering, granules, granularity, params, extra))


def label_free_planes(rendering, granules, granularity, params, extra):
    """Expected images of the label-free channels ``extra`` (suffixes): brightfield as the
    deviation from the illumination (absorption inside, a bright halo outside the edge), as a
    fraction of it; darkfield as side-scatter counts, from the cell body plus its granules."""
    planes = []
    for token in extra:
        if CHANNEL_KINDS[token] == "brightfield":
            body = 0.55 * rendering.cell_profile + 0.45 * rendering.nucleus_profile
            halo = np.clip(ndimage.gaussian_filter(rendering.cell_profile, 2.0) - rendering.cell_profile, 0, None)
            planes.append(-params["brightfield_absorption"] * body + params["brightfield_rim"] * 4 * halo)
        else:  # darkfield: granules scatter; a neutrophil's (granularity high) the most
            granule_gain = granularity / max(params["granularity"], 1e-9)
            scatter = params["darkfield_scatter"] + params["darkfield_granule_scatter"] * granule_gain * granules ** 2
            planes.append(rendering.cell_profile * scatter)
    return planes


def apply_optics(expected, defocus_sigma, motion_px):
    """Defocus (gaussian, both axes) then motion blur: a box of motion_px along x."""
    blurred = ndimage.gaussian_filter(expected, sigma=(0, defocus_sigma, defocus_sigma),
                                      mode="constant")
    if motion_px > 0:
        blurred = ndimage.convolve1d(blurred, box_kernel(motion_px), axis=-1, mode="constant")
    return blurred


def box_kernel(length):
    """Normalised, centred 1-D box of fractional `length` px: each tap's overlap with it."""
    if length <= 1e-6:
        return np.ones(1)
    n = int(np.ceil(length / 2 - 0.5))
    k = np.arange(-n, n + 1)
    taps = np.clip(np.minimum(k + 0.5, length / 2) - np.maximum(k - 0.5, -length / 2), 0, None)
    return taps / taps.sum()


def expose(expected, rng, params):
    """Camera: shot noise (Poisson electrons), offset with a gradient, read noise, uint16."""
    n_channels, height, width = expected.shape
    if height != width:
        raise ValueError("frames are square")
    gain = params["gain"]
    electrons = rng.poisson(np.maximum(expected, 0.0) / gain)
    xx, yy = frame_grid(width)
    slope = rng.uniform(0, params["background_gradient"], n_channels)[:, None, None]
    direction = rng.uniform(0, 2 * np.pi, n_channels)[:, None, None]
    offset = params["background_counts"] * rng.uniform(0.9, 1.1, n_channels)[:, None, None]
    background = offset + slope * (np.cos(direction) * xx + np.sin(direction) * yy)
    counts = (electrons * gain + background
              + rng.normal(0, params["read_noise_counts"], expected.shape))
    return np.clip(np.rint(counts), 0, UINT16_MAX).astype(np.uint16)


# ---------------------------------------------------------------- events

def _brightness(rng, params):
    sd = params["brightness_sd_log"]
    return (float(params["brightness_cyto"] * np.exp(rng.normal(0, sd))),
            float(params["brightness_nuc"] * np.exp(rng.normal(0, sd))))


def _stained_cell(rng, cls, params, offset=None, at_border=False, extra=()):
    """One cell: (expected signal, geometry, rendering, morphology, brightness).

    `offset` fixes the centre; `at_border` moves it so that the frame edge cuts the cell.
    """
    m = draw_morphology_score(rng, cls, params["morphology_spread"], params["ambiguous_fraction"])
    geometry = draw_cell_geometry(rng, m, params, offset=offset)
    if at_border:
        x, y = _border_offset(rng, geometry.diameter_px, params["frame_size"])
        geometry = dataclasses.replace(geometry, offset_x=float(x), offset_y=float(y))
    rendering = render_cell(geometry, params["frame_size"])
    b_cyto, b_nuc = _brightness(rng, params)
    expected = stain(rendering, rng, b_cyto, b_nuc, _granularity(m, params), params, extra)
    return expected, geometry, rendering, m, (b_cyto, b_nuc)


def _granularity(m, params):
    """The granule contrast ``stain`` gives a cell of morphology ``m`` (or, with
    ``shape_morphology`` set, of that score whatever its class)."""
    shape_m = m if params["shape_morphology"] is None else params["shape_morphology"]
    return float(params["granularity"] * shape_m)


def _cell_properties(geometry, rendering, m, brightness, granularity=0.0):
    """The ground truth of one drawn cell; areas are counted on the noiseless masks, granularity is
    the granule contrast its cytoplasm was stained with (no random draw here: recording the truth
    leaves every image as it is)."""
    return {
        "cell_diameter_px": geometry.diameter_px,
        "nucleus_area_ratio": rendering.nucleus_area_ratio,
        "lobes": len(geometry.lobes),
        "brightness_cyto": brightness[0],
        "brightness_nuc": brightness[1],
        "offset_x": geometry.offset_x,
        "offset_y": geometry.offset_y,
        "rotation_deg": geometry.rotation_deg,
        "morphology_score": m,
        "cell_area_px": int(rendering.cell_mask.sum()),
        "nucleus_area_px": int(rendering.nucleus_mask.sum()),
        "granularity": granularity,
    }


def _border_offset(rng, diameter_px, frame_size):
    """A centre close enough to one frame edge that the cell is cut by it."""
    half = (frame_size - 1) / 2
    inside = rng.uniform(-0.3, 0.7) * diameter_px / 2  # centre-to-edge distance, < radius
    along = rng.uniform(-half * 0.5, half * 0.5)
    edge = half - inside
    side = rng.integers(4)
    return [(edge, along), (-edge, along), (along, edge), (along, -edge)][side]


def _draw_class(rng, params):
    names, p = _normalised(params["class_fractions"])
    return str(rng.choice(names, p=p))


def simulate_event(rng, cls, params=None, event_type="cell", channels=CHANNELS, extra_rng=None):
    """One raw event: (uint16 image (len(channels), frame_size, frame_size), properties dict).

    ``channels``: file suffixes in the order the image holds them (default the cytoplasm marker
    Ch2, then the nucleus marker Ch4); label-free ones (Ch1, Ch6, Ch9) take their noise from
    ``extra_rng`` (default ``rng``), so the fluorescence planes do not depend on them. Properties
    are ground truth: the geometry drawn, nucleus_area_ratio measured on the noiseless masks.
    For doublets they describe the first cell, for border events the in-frame part of the
    cell; debris has lobes 0 and ratio 0, empty events zeros and NaN.
    """
    params = resolve_params(params)
    channels = check_channels(channels)
    extra = tuple(c for c in channels if c not in CHANNELS)
    size = params["frame_size"]
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event_type {event_type!r}; expected one of {EVENT_TYPES}")
    if event_type in ("cell", "saturated"):
        expected, geometry, rendering, m, brightness = _stained_cell(rng, cls, params, extra=extra)
        if event_type == "saturated":  # the fluorescence channels saturate
            scale = rng.uniform(*params["saturation_factor"]) * UINT16_MAX / expected[:2].max()
            expected[:2] = expected[:2] * scale
            brightness = (brightness[0] * scale, brightness[1] * scale)
        properties = _cell_properties(geometry, rendering, m, brightness, _granularity(m, params))
    elif event_type == "border":
        expected, geometry, rendering, m, brightness = _stained_cell(rng, cls, params,
                                                                     at_border=True, extra=extra)
        properties = _cell_properties(geometry, rendering, m, brightness, _granularity(m, params))
    elif event_type == "doublet":
        first, geometry, rendering, m, brightness = _stained_cell(rng, cls, params, (0.0, 0.0), extra=extra)
        second, other, _, _, _ = _stained_cell(rng, _draw_class(rng, params), params, (0.0, 0.0), extra=extra)
        # cells stuck together are stained alike; a much dimmer partner would vanish below
        # any object threshold and the event would not be a doublet in the image
        second[:2] *= rng.uniform(0.6, 1.2) * first[0].max() / max(second[0].max(), 1e-9)
        distance = (geometry.diameter_px + other.diameter_px) / 2 * rng.uniform(0.8, 1.0)
        direction = rng.uniform(0, 2 * np.pi)
        step = np.array([np.cos(direction), np.sin(direction)]) * distance
        shift = rng.uniform(-params["max_offset_px"], params["max_offset_px"], 2)
        a_centre, b_centre = shift - step / 2, shift + step / 2
        # shift the drawn cells instead of re-drawing: keeps both cells' texture intact
        first = ndimage.shift(first, (0, a_centre[1], a_centre[0]), order=1, mode="constant")
        second = ndimage.shift(second, (0, b_centre[1], b_centre[0]), order=1, mode="constant")
        expected = first + second
        properties = _cell_properties(geometry, rendering, m, brightness, _granularity(m, params))
        properties["offset_x"], properties["offset_y"] = float(a_centre[0]), float(a_centre[1])
    elif event_type == "debris":
        geometry = debris_geometry(rng, params["max_offset_px"] * 3)
        rendering = render_cell(geometry, size)
        b_cyto = params["brightness_cyto"] * float(rng.uniform(1.0, 4.0))
        b_nuc = params["brightness_nuc"] * float(rng.uniform(0.0, 0.05))
        expected = np.stack([rendering.cell_profile * b_cyto, rendering.cell_profile * b_nuc]
                            + label_free_planes(rendering, np.ones_like(rendering.cell_profile),
                                                params["granularity"], params, extra))
        properties = _cell_properties(geometry, rendering, float("nan"), (b_cyto, b_nuc))
        properties["nucleus_area_ratio"] = 0.0
    else:  # empty
        expected = np.zeros((2 + len(extra), size, size))
        properties = {name: 0.0 for name in PROPERTY_COLUMNS}
        properties.update(nucleus_area_ratio=float("nan"), morphology_score=float("nan"),
                          lobes=0)
    defocus = float(rng.uniform(*params["defocus_sigma_px"]))
    motion = float(rng.uniform(*params["motion_blur_px"]))
    blurred = apply_optics(expected, defocus, motion)
    image = expose(blurred[:2], rng, params)
    if extra:
        image = np.concatenate([image, expose_label_free(blurred[2:], extra, extra_rng or rng, params)])
    properties.update(defocus_sigma_px=defocus, motion_blur_px=motion)
    order = CHANNELS + extra
    return image[[order.index(c) for c in channels]], properties


def expose_label_free(expected, extra, rng, params):
    """The camera for the label-free channels: brightfield is the illumination times (1 +
    deviation), so its background is bright; darkfield is exposed like fluorescence."""
    signal = np.stack([params["brightfield_level"] * np.clip(1.0 + plane, 0.0, None)
                       if CHANNEL_KINDS[token] == "brightfield" else plane
                       for token, plane in zip(extra, expected)])
    return expose(signal, rng, params)


# ---------------------------------------------------------------- writing

def write_event_tiffs(class_dir, event_id, image, pixel_size_um, channels=CHANNELS):
    """`{event_id}_<suffix>.ome.tif` per channel (uint16), e.g. `_Ch2` and `_Ch4`, as the instrument exports."""
    import tifffile
    for channel, plane in zip(channels, image, strict=True):
        name = f"{event_id}_{channel}.ome.tif"
        # OME needs a file UUID; derive it from name and pixels so reruns are byte-identical
        file_uuid = uuid.uuid5(uuid.NAMESPACE_URL, name + hashlib.sha1(plane.tobytes()).hexdigest())
        tifffile.imwrite(Path(class_dir) / name, plane, photometric="minisblack",
                         metadata={"axes": "YX", "UUID": f"urn:uuid:{file_uuid}",
                                   "PhysicalSizeX": pixel_size_um, "PhysicalSizeY": pixel_size_um,
                                   "Channel": {"Name": [channel]}})


def _format(value):
    if isinstance(value, float):
        return "nan" if np.isnan(value) else f"{value:.6g}"
    return str(value)


def write_properties(path, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            writer.writerow([_format(row[c]) for c in CSV_COLUMNS])


def simulate_chunk(out_dir, chunk, n_events, seed, params=None, progress=True, channels=CHANNELS):
    """Simulate and write one chunk of raw events to `out_dir` (atomically); returns the rows.

    Random state is `np.random.default_rng([seed, chunk])`, so chunks are independent and
    reproducible whatever order they run in. Files go into a sibling `out_dir.tmp-XXXX` that is
    renamed to `out_dir` at the end (replacing an old `out_dir`) and removed on failure.
    """
    params = resolve_params(params)
    if not 0 <= n_events <= EVENTS_PER_CHUNK_LIMIT:
        raise ValueError(f"n_events must be within [0, {EVENTS_PER_CHUNK_LIMIT}]")
    channels = check_channels(channels)
    rng = np.random.default_rng([int(seed), int(chunk)])
    extra_rng = np.random.default_rng([int(seed), int(chunk), 1])  # label-free channels' noise
    classes, event_types = draw_event_plan(rng, n_events, params)
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f"{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        for cls in params["class_fractions"]:
            (tmp_dir / cls).mkdir()
        rows = []
        events = tqdm(range(n_events), desc=f"simulate chunk {chunk}", unit="event",
                      file=sys.stderr, disable=not progress, mininterval=2.0)
        for i in events:
            image, properties = simulate_event(rng, classes[i], params, event_types[i], channels, extra_rng)
            event_id = int(chunk) * EVENTS_PER_CHUNK_LIMIT + i
            write_event_tiffs(tmp_dir / classes[i], event_id, image, params["pixel_size_um"], channels)
            rows.append({"event_id": event_id, "class": classes[i],
                         "event_type": event_types[i], **properties})
        write_properties(tmp_dir / "properties.csv", rows)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp_dir, out_dir)
    except BaseException:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="chunk directory to create")
    parser.add_argument("--chunk", type=int, required=True)
    parser.add_argument("--n-events", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--params", default="{}",
                        help="JSON object (or path to a JSON file) of simulator parameters")
    args = parser.parse_args(argv)
    text = args.params
    if os.path.isfile(text):
        text = Path(text).read_text()
    simulate_chunk(args.out, args.chunk, args.n_events, args.seed, json.loads(text))


if __name__ == "__main__":
    main()
