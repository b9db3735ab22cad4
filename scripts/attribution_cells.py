"""Rule attribution_cells: for the explorer's capped set of shown cells (every misclassified cell
first), the maps of the pixel methods that pass the attribution checks and Grad-CAM at every conv
layer, so a tapped cell can say why it was classified."""
import json

import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.activations.selection import misclassified_first  # noqa: E402
from cellscape.attribution.methods import PIXEL_METHODS, attribution_maps, gradcam_method, shown  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import read_rows, save_npz  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
device = job_device(snakemake)
model = load_network(snakemake.input.weights, p.network, device)
with open(snakemake.input.verdicts) as f:
    found = json.load(f)["methods"]
pixel = [m for m in PIXEL_METHODS if found.get(m, {}).get("passes")]
methods = pixel + [gradcam_method(layer) for layer in p.conv_layers]
print(f"pixel methods that pass the checks: {', '.join(pixel) or 'none'}; Grad-CAM at {len(p.conv_layers)} layers",
      flush=True)
selection = read_cell_table(snakemake.input.selection)
cells = selection.iloc[misclassified_first(selection, p.max_cells, p.seed)]
images = np.load(snakemake.input.images, mmap_mode="r")
targets = cells["predicted_label"].to_numpy()
maps = {m: [] for m in methods}
for start_at in range(0, len(cells), p.batch_size):
    block = read_rows(images, cells["row"].to_numpy()[start_at:start_at + p.batch_size])
    found_maps = attribution_maps(model, block, targets[start_at:start_at + p.batch_size], methods, p.ig_steps,
                                  p.smoothgrad_samples, p.seed)
    for m in methods:
        maps[m].append(shown(m, *found_maps[m]))
    print(f"attribution: {min(start_at + p.batch_size, len(cells))} of {len(cells)} cells", flush=True)
save_npz(snakemake.output[0], ids=cells["id"].to_numpy().astype(str), targets=targets, methods=np.array(pixel),
         gradcam_layers=np.array(p.conv_layers), **{m: np.concatenate(maps[m]).astype(np.float16) for m in methods})
