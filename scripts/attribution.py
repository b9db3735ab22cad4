"""Rule attribution: saliency and integrated-gradients maps of example cells, and the cascading
model-randomisation sanity check (data of Fig. 19)."""
import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.attribution.methods import METHODS, CascadingRandomisation, attribute, importance  # noqa: E402
from cellscape.featvis.tasks import example_cells  # noqa: E402
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import save_npz, write_csv  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
device = job_device(snakemake)
model = load_network(snakemake.input.weights, p.network, device)
predictions = read_cell_table(snakemake.input.predictions)
cells = example_cells(predictions, p.cells_per_class)
# interleave the classes, so the sanity check's first cells cover every class
cells = cells.assign(k=cells.groupby("label").cumcount()).sort_values(["k", "label"]).reset_index(drop=True)
images_all = np.load(snakemake.input.images, mmap_mode="r")
images = np.stack([np.asarray(images_all[r], dtype=np.float32) for r in cells["row"]])
targets = cells["predicted_label"].to_numpy()
labels = [f"{c['id']}\npredicted {c['predicted']} ({c['certainty']:.0%})" for _, c in cells.iterrows()]

maps = {m: importance(attribute(model, images, targets, m, p.ig_steps)) for m in METHODS}
n = min(p.sanity_cells, len(cells))
checks = {m: CascadingRandomisation(m, p.ig_steps, random_state=p.seed).fit(model, images[:n], targets[:n])
          for m in METHODS}
layers = checks[METHODS[0]].layers_
rows = [{"method": m, "stage": s, "randomised_down_to": layer, "id": cells["id"][i],
         "spearman": check.spearman_[s, i], "spearman_cell": check.spearman_cell_[s, i]}
        for m, check in checks.items() for s, layer in enumerate(layers) for i in range(n)]
table = pd.DataFrame(rows)
write_csv(table, snakemake.output.sanity)
print(table.groupby(["method", "stage", "randomised_down_to"], sort=False)[["spearman", "spearman_cell"]].mean()
      .to_string(), flush=True)
save_npz(snakemake.output.maps, ids=cells["id"].to_numpy().astype(str), labels=np.array(labels), targets=targets,
         images=images, methods=np.array(METHODS), **maps, **{f"sanity_{m}": check.maps_ for m, check in checks.items()},
         **{f"spearman_{m}": check.spearman_ for m, check in checks.items()},
         **{f"spearman_cell_{m}": check.spearman_cell_ for m, check in checks.items()}, sanity_layers=np.array(layers))
