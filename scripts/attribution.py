"""Rule attribution: every attribution method's maps of sample test cells and the checks a reviewer
asks for (model and label randomisation, pixel-flipping faithfulness, localisation), one verdict
per method (data of Fig. 19 and the explorer's verdicts; docs/attribution.md)."""
import time

import numpy as np
import pandas as pd

from cellscape.runtime.rulerun import job_device, start

start(snakemake, uses_torch=True)
from cellscape.attribution.cells import check_cells  # noqa: E402
from cellscape.attribution.faithfulness import FRACTIONS, PixelFlipping  # noqa: E402
from cellscape.attribution.localisation import area_share, mass_share  # noqa: E402
from cellscape.attribution.methods import PIXEL_METHODS, attribution_maps, gradcam_method, shown  # noqa: E402
from cellscape.attribution.quality import flipping_rows, label_rows, quality_table, randomisation_rows  # noqa: E402
from cellscape.attribution.randomisation import (LabelRandomisation, ModelRandomisation,  # noqa: E402
                                                 shuffled_label_copy)
from cellscape.attribution.similarity import cell_masks, channel_masks  # noqa: E402
from cellscape.attribution.verdict import (FAITHFUL_MIN, FAITHFUL_SE, RANDOMISATION_BELOW,  # noqa: E402
                                          passing_first, verdicts)
from cellscape.model.loading import load_network  # noqa: E402
from cellscape.runtime.io import read_rows, save_npz, write_csv, write_json  # noqa: E402
from cellscape.runtime.tables import read_cell_table  # noqa: E402

p = snakemake.params
out = snakemake.output
device = job_device(snakemake)
model = load_network(snakemake.input.weights, p.network, device)
methods = list(PIXEL_METHODS) + [gradcam_method(layer) for layer in p.conv_layers]
if not getattr(model, "hookable", True):  # guided backprop changes each ReLU module's backward pass
    methods.remove("guided_backprop")
    print("guided backpropagation left out: this network's modules take no hooks (TorchScript)", flush=True)
cpu = {}


def timed(name, started):
    cpu[name] = round(time.process_time() - started, 1)
    print(f"{name}: {cpu[name]} CPU s", flush=True)


cells = check_cells(read_cell_table(snakemake.input.predictions), p.check_cells_per_class, p.seed)
images_all = np.load(snakemake.input.images, mmap_mode="r")
images = read_rows(images_all, cells["row"].to_numpy())
targets = cells["predicted_label"].to_numpy()
ids = cells["id"].astype(str).tolist()
n_sanity = min(p.sanity_cells, len(cells))
print(f"checking {len(methods)} methods on {len(cells)} test cells ({n_sanity} in the randomisation checks)",
      flush=True)

# maps of every method: faithfulness and localisation on every checked cell
started = time.process_time()
maps = attribution_maps(model, images, targets, methods, p.check_ig_steps, p.smoothgrad_samples, p.seed)
flipping = PixelFlipping(FRACTIONS, n_random=4, random_state=p.seed).fit(
    model, images, targets, {m: shown(m, *maps[m]) for m in methods})
masks = {"cell": cell_masks(images), "nucleus": channel_masks(images, p.channels, "nucleus")}
localisation = {}
for m in methods:
    localisation[m] = {f"share_in_{where}": mass_share(shown(m, *maps[m]), mask)
                       for where, mask in masks.items() if mask is not None}
    localisation[m].update({f"area_{where}": area_share(mask) for where, mask in masks.items() if mask is not None})
timed("maps, faithfulness, localisation", started)

# model randomisation, cascading and independent
rows = []
checks = {}
for mode in ("cascading", "independent"):
    started = time.process_time()
    checks[mode] = ModelRandomisation(methods, mode, p.check_ig_steps, p.smoothgrad_samples, p.seed).fit(
        model, images[:n_sanity], targets[:n_sanity])
    rows += randomisation_rows(checks[mode], mode, ids[:n_sanity])
    timed(f"{mode} randomisation", started)

# label randomisation: a copy trained on shuffled labels
label_info = None
if p.label_steps > 0:
    started = time.process_time()
    index = read_cell_table(snakemake.input.index)
    train = index[index["split"] == "train"]
    pool = train.iloc[np.random.default_rng(p.seed).permutation(len(train))[:p.label_cells]]
    shuffled, label_info = shuffled_label_copy(model, read_rows(images_all, pool["row"].to_numpy()),
                                               pool["label"].to_numpy(), p.label_steps, p.label_batch_size,
                                               p.label_lr, p.seed)
    print(f"label randomisation: a copy trained {label_info['steps']} steps on {label_info['cells']} training "
          f"cells with shuffled labels fits {label_info['accuracy_shuffled']:.0%} of them "
          f"({label_info['cpu_seconds']:.1f} CPU s)", flush=True)
    label = LabelRandomisation(methods, p.check_ig_steps, p.smoothgrad_samples, p.seed).fit(
        model, shuffled, images[:n_sanity], targets[:n_sanity])
    rows += label_rows(label, ids[:n_sanity])
    timed("label randomisation", started)

randomisation = pd.DataFrame(rows)
quality = quality_table(randomisation, flipping, localisation)
found = verdicts(quality)
for m in methods:
    print(found[m]["text"], flush=True)
write_csv(quality, out.quality)
write_csv(randomisation, out.randomisation)
write_csv(pd.DataFrame(flipping_rows(flipping, ids)), out.faithfulness)
write_json({"rule": {"randomisation_below": RANDOMISATION_BELOW, "faithful_standard_errors": FAITHFUL_SE,
                     "faithful_min": FAITHFUL_MIN},
            "label_randomisation": label_info, "cpu_seconds": cpu, "methods": found}, out.verdicts)

# Fig. 19's data: the example cells' maps (passing methods first) and the first cell's cascade
n_examples = min(p.cells_per_class * cells["label"].nunique(), len(cells))
ordered = passing_first(methods, found)
labels = [f"{c['id']}\npredicted {c['predicted']} ({c['certainty']:.0%})" for _, c in cells.head(n_examples).iterrows()]
cascade = checks["cascading"]
save_npz(out.maps, ids=np.array(ids[:n_examples]), labels=np.array(labels), targets=targets[:n_examples],
         images=images[:n_examples], methods=np.array(ordered),
         **{m: shown(m, *maps[m])[:n_examples] for m in methods},
         **{f"cascade_{m}": cascade.maps_[m][:, 0] for m in methods}, cascade_stages=np.array(cascade.stages_))
