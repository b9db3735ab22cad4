"""Rule fig19_attribution: attribution maps of the example cells and the randomisation sanity check (Fig. 19)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.attribution_figures import attribution_figure, attribution_sanity_figure  # noqa: E402
from cellscape.figures.common import save_figure  # noqa: E402

d = np.load(snakemake.input.maps)
methods, labels = [str(m) for m in d["methods"]], [str(label) for label in d["labels"]]
save_figure(attribution_figure(d["images"], labels, {m: d[m] for m in methods}, snakemake.params.channels),
            *snakemake.output.figure)
save_figure(attribution_sanity_figure([str(layer) for layer in d["sanity_layers"]],
                                      {m: d[f"spearman_{m}"] for m in methods},
                                      {m: d[f"spearman_cell_{m}"] for m in methods},
                                      {m: d[f"sanity_{m}"][:, 0] for m in methods}, labels[0].split("\n")[0]),
            *snakemake.output.sanity_figure)
