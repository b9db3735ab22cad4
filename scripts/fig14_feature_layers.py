"""Rule fig14_feature_layers: feature images of every conv layer, unfiltered above filtered (paper Fig. 14)."""
import numpy as np

from cellscape.runtime.rulerun import start

start(snakemake)
from cellscape.figures.common import save_figure  # noqa: E402
from cellscape.figures.featvis_figures import feature_layers_figure  # noqa: E402

# features.npz holds each layer's channels in channel-order rank: the first are the most diverse
features = {layer: np.load(path) for layer, path in zip(snakemake.params.layers, snakemake.input.features)}
save_figure(feature_layers_figure(features, snakemake.params.overview_channels, snakemake.params.channels),
            *snakemake.output)
