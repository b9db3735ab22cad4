"""Rule attribution_cells: saliency and integrated-gradients maps of the explorer's capped set of
shown cells (every misclassified cell first), so a tapped cell can say why it was classified."""
import numpy as np

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.activations.selection import misclassified_first  # noqa: E402
from cellscape.attribution.methods import METHODS, attribute, importance  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import read_rows, save_npz  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
device = job_device(snakemake)
model = load_network(snakemake.input.weights, p.network, device)
selection = read_cell_table(snakemake.input.selection)
cells = selection.iloc[misclassified_first(selection, p.max_cells, p.seed)]
images = np.load(snakemake.input.images, mmap_mode="r")
targets = cells["predicted_label"].to_numpy()
maps = {m: [] for m in METHODS}
for start_at in range(0, len(cells), p.batch_size):
    block = read_rows(images, cells["row"].to_numpy()[start_at:start_at + p.batch_size])
    for m in METHODS:
        maps[m].append(importance(attribute(model, block, targets[start_at:start_at + p.batch_size], m, p.ig_steps)))
    print(f"attribution: {min(start_at + p.batch_size, len(cells))} of {len(cells)} cells", flush=True)
save_npz(snakemake.output[0], ids=cells["id"].to_numpy().astype(str), targets=targets,
         **{m: np.concatenate(maps[m]).astype(np.float16) for m in METHODS})
