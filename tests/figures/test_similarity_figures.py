"""Fig. 26 draws one CKA heat map per compared network, on one 0-1 colour scale, rings on the
best matches and their count in the title."""
import matplotlib
import numpy as np

matplotlib.use("Agg")

from cellscape.figures.similarity_figures import cka_figure  # noqa: E402
from cellscape.similarity.cka import best_matches  # noqa: E402

LAYERS = ["conv1", "conv2", "conv3", "dense1"]


def test_one_labelled_panel_per_network_with_the_best_matches_ringed_and_counted():
    copy = np.array([[0.9, 0.5, 0.2, 0.1],
                     [0.6, 0.8, 0.4, 0.1],
                     [0.2, 0.3, 0.7, 0.75],   # conv3 -> dense1: adjacent
                     [0.9, 0.1, 0.1, 0.2]])   # dense1 -> conv1: three apart
    panels = [("classifier", LAYERS, np.eye(4), None),
              ("seed1", LAYERS, copy, best_matches(copy, LAYERS, LAYERS, LAYERS))]
    fig = cka_figure(panels, LAYERS, cells=120)
    heat_maps = [ax for ax in fig.axes if ax.images]
    assert len(heat_maps) == 2
    for ax in heat_maps:
        assert ax.images[0].get_clim() == (0, 1)
        assert "layer of the classifier" == ax.get_ylabel() and ax.get_xlabel().startswith("layer of")
        assert [t.get_text() for t in ax.get_yticklabels()] == LAYERS
    assert "3 of 4" in heat_maps[1].get_title()
    rings = [(line.get_xdata()[0], line.get_ydata()[0]) for line in heat_maps[1].lines]
    assert rings == [(0, 0), (1, 1), (3, 2), (0, 3)]
    colour_bar = next(ax for ax in fig.axes if not ax.images and "CKA" in ax.get_ylabel())
    assert colour_bar is not None
    assert "120 cells" in fig._suptitle.get_text()
