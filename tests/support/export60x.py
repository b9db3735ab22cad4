"""A 60x-like export as real instruments write it: per-channel OME-TIFFs (``Ch2`` cytoplasm,
``Ch4`` nucleus, the pixel size in the OME metadata), cells 3-4x the default's area (0.18 um
pixels against the default 0.33 um), each event in its own non-square frame sized to its cell
(as IDEAS crops objects), and two classes of different size: ``small`` (the simulator's
lymphocytes, ~8 um) and ``large`` (its neutrophils, ~12 um).

Optional: bad events of the simulator's types or ``cut`` (:func:`fabricate`) (``bad={class: {event type: count}}``), rotated or
mirrored copies of a class's own images (``copies={class: count}``), and one folder for every
class with the class in the file name (``<Class>_<n>_Ch2.ome.tif``, the IDEAS layout).
"""
from pathlib import Path

import numpy as np
import pandas as pd

from cellscape.data.simulate import simulate_event, write_event_tiffs

PIXEL_UM = 0.18
#: frames drawn this large, then cropped around the cell
FRAME = {"frame_size": 136, "pixel_size_um": PIXEL_UM, "max_offset_px": 4.0}
CLASSES = {"small": "lymphocyte", "large": "neutrophil"}
#: every fabricated frame fits in this (the crop below never exceeds FRAME's size)
IMAGE_SIZE = 136


def crop_to_cell(rng, image, diameter_px):
    """A non-square frame around the centre: the cell's diameter (with elongation and offset room)
    plus a margin of 10-30 px drawn per side length."""
    size = image.shape[-1]
    h, w = (min(size, int(1.3 * diameter_px) + 10 + int(rng.integers(0, 21))) for _ in range(2))
    top, left = (size - h) // 2, (size - w) // 2
    return image[:, top:top + h, left:left + w]


def fabricate(rng, cell_type, event_type="cell"):
    """One event of the simulator's ``event_type``, or ``cut``: a good cell whose frame ends 8 px
    inside it (its top 4-12 px missing), as an export frame too small for the cell leaves it."""
    image, props = simulate_event(rng, cell_type, FRAME, event_type="cell" if event_type == "cut" else event_type)
    if event_type in ("border", "doublet", "empty"):  # as the instrument framed them: the full frame
        return image, props
    diameter = props["cell_diameter_px"] if np.isfinite(props["cell_diameter_px"]) else 40
    image = crop_to_cell(rng, image, diameter)
    if event_type == "cut":
        image = image[:, (image.shape[1] - int(diameter)) // 2 + 8:]
    return image, props


def dihedral_copy(image, k):
    """Rotation ``k % 4`` quarter turns, mirrored when ``k >= 4`` (k in 1..7: never the identity)."""
    turned = np.rot90(image, k % 4, axes=(1, 2))
    return np.ascontiguousarray(turned[:, :, ::-1] if k >= 4 else turned)


def write_export(root, n_per_class, seed=0, bad=None, copies=None, one_folder=False, names=None):
    """``n_per_class`` events per class (bad events and copies among them) under ``root``.

    ``names``: {class: the class as written in file names} for ``one_folder`` (default the class
    capitalised). Returns the truth, a row per event: ``id`` (``<class>/<n>``), ``class``,
    ``event_type``, ``copy_of`` (the id of the image this one copies, "" for an original).
    """
    root = Path(root)
    rows = []
    for k, (cls, cell_type) in enumerate(CLASSES.items()):
        rng = np.random.default_rng([seed, k])
        folder = root if one_folder else root / cls
        folder.mkdir(parents=True, exist_ok=True)
        types = [t for t, n in ((bad or {}).get(cls, {})).items() for _ in range(n)]
        n_copies = (copies or {}).get(cls, 0)
        n_originals = n_per_class - n_copies
        types += ["cell"] * (n_originals - len(types))
        images = []
        for obj, event_type in enumerate(rng.permutation(types)):
            image, _ = fabricate(rng, cell_type, str(event_type))
            images.append(image)
            rows.append({"id": f"{cls}/{obj}", "class": cls, "event_type": str(event_type), "copy_of": ""})
        originals = [i for i, r in enumerate(rows[-n_originals:]) if r["event_type"] == "cell"]
        for j in range(n_copies):
            source = int(rng.choice(originals[:max(3, len(originals) // 4)]))  # several copies of a few
            images.append(dihedral_copy(images[source], 1 + j % 7))
            rows.append({"id": f"{cls}/{n_originals + j}", "class": cls, "event_type": "cell",
                         "copy_of": f"{cls}/{source}"})
        prefix = (names or {}).get(cls, cls.capitalize())
        for obj, image in enumerate(images):
            write_event_tiffs(folder, f"{prefix}_{obj}" if one_folder else obj, image, PIXEL_UM)
    return pd.DataFrame(rows)
