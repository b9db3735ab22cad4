"""Rule fig17_neuron_groups: neuron groups of one cell's layer tensor (NMF) and their feature images (paper Fig. 17)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import neuron_groups_figure  # noqa: E402

d = np.load(snakemake.input[0])
save_figure(neuron_groups_figure(snakemake.params.layer, d["cell_image"], f"{d['cell_class']} {d['cell_id']}",
                                 d["spatial"], d["images"], d["weights"], float(d["error"]), snakemake.params.channels),
            *snakemake.output)
