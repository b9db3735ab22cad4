"""Rule fig13_feature_evolution: feature images at increasing optimisation steps (paper Fig. 13)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import feature_evolution_figure  # noqa: E402

evo = np.load(snakemake.input[0])
save_figure(feature_evolution_figure(evo["channels"], evo["steps"], evo["snapshots"], evo["objective"],
                                     snakemake.params.layer, snakemake.params.channels, evo["saturated"]),
            *snakemake.output)
