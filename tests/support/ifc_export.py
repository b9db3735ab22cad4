"""A small imaging-flow-cytometry export as a new user brings it: one folder per class of
per-channel TIFFs ``<object>_Ch2.ome.tif`` / ``<object>_Ch4.ome.tif``, 40x40 px, object numbers
restarting at 0 in every folder (each class acquired separately), written with the simulator's
TIFF writer.

The simulator draws lymphocytes and neutrophils; the third class holds lymphocytes whose nucleus
stain is twice as bright (as cells with twice the DNA content, G2, beside G1): it differs from
the lymphocytes by absolute intensity alone, which ``data.normalise: per_image`` scales away.
"""
from pathlib import Path

import numpy as np

from cellscape.data.simulate import DEFAULTS, simulate_event, write_event_tiffs

IMAGE_SIZE = 40
#: 40 px frames at a coarser pixel than the default 78 px (0.33 um), cells kept near the centre
FRAME = {"frame_size": IMAGE_SIZE, "pixel_size_um": 0.42, "max_offset_px": 2.0}
#: class folder -> (the simulator's cell type, its parameters on top of FRAME)
CLASSES = {"lymphocyte": ("lymphocyte", {}),
           "neutrophil": ("neutrophil", {}),
           "lymphocyte_2n": ("lymphocyte", {"brightness_nuc": 2 * DEFAULTS["brightness_nuc"]})}


def write_export(root, n_per_class, seed=0):
    """``n_per_class`` cells in each class folder under ``root``, objects numbered 0, 1, ...;
    returns {class: [object numbers]}."""
    root = Path(root)
    objects = {}
    for k, (folder, (cell_type, extra)) in enumerate(CLASSES.items()):
        rng = np.random.default_rng([seed, k])
        params = {**FRAME, **extra}
        (root / folder).mkdir(parents=True, exist_ok=True)
        for obj in range(n_per_class):
            image, _ = simulate_event(rng, cell_type, params)
            write_event_tiffs(root / folder, obj, image, params["pixel_size_um"])
        objects[folder] = list(range(n_per_class))
    return objects
