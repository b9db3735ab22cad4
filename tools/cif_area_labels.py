"""A label table for a .cif/.rif from a measured property: each object's area in one channel's
instrument mask, above or below the median of the file's objects (two classes, `small` and
`large`; an object whose mask in that channel is empty is left out, so ingestion records it as
unlabelled). configs/cif_example.yaml's table was made with

    .venv/bin/python tools/cif_area_labels.py ../shared/data/cif/example.cif Ch5 configs/cif_example_labels.csv

(Ch5: the example's brightfield channel). The classes are a stand-in for a biological label,
for running the workflow end to end on a real file; they say only how large a cell looks.
"""
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from cellscape.data.cif import CifFile, iter_objects  # noqa: E402


def area_labels(path, channel):
    """Table ``object, class, area_px`` of every object of ``path`` with a mask in ``channel`` (Ch<k>)."""
    with CifFile(path) as cif:
        names = list(cif.metadata.channel_names)
    if channel not in names:
        raise SystemExit(f"{path}: no channel {channel} (channels in use: {', '.join(names)})")
    k = names.index(channel)
    areas = pd.DataFrame([(obj.number, int((obj.mask[k] > 0).sum())) for obj in iter_objects(path)],
                         columns=["object", "area_px"])
    areas = areas[areas["area_px"] > 0]
    median = np.median(areas["area_px"])
    areas.insert(1, "class", np.where(areas["area_px"] > median, "large", "small"))
    return areas


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    source, channel, out = sys.argv[1:]
    table = area_labels(source, channel)
    table.to_csv(out, index=False)
    print(f"{out}: {len(table)} objects, {table['class'].value_counts().to_dict()}, "
          f"median area {np.median(table['area_px']):g} px")
