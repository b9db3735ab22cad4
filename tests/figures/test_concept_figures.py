"""Fig. 27: the probe's R^2 beside each class's TCAV score, used cells starred, unencoded hatched."""
import matplotlib
import pandas as pd

matplotlib.use("Agg")

from cellscape.figures.concept_figures import concepts_figure  # noqa: E402


def test_encoded_beside_used_per_class_with_stars_and_hatching():
    rows = []
    for layer in ("conv1", "conv2"):
        for measure, r2, encoded in (("ratio", 0.6, True), ("brightness", -0.1, False)):
            for name, score in (("a", 0.95), ("b", 0.1)):
                used = encoded and layer == "conv2"
                rows.append({"layer": layer, "measure": measure, "class": name, "probe_r2": r2, "tcav_score": score,
                             "encoded": encoded, "used": used})
    fig = concepts_figure(pd.DataFrame(rows), ["conv1", "conv2"], ["ratio", "brightness"], ["a", "b"])
    heat_maps = [ax for ax in fig.axes if ax.images]
    assert len(heat_maps) == 3 and "R$^2$" in heat_maps[0].get_title() and "used for b" in heat_maps[2].get_title()
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in heat_maps[1].texts}
    assert texts[(1, 0)] == "0.95*" and texts[(0, 0)] == "0.95" and texts[(1, 1)] == "0.95"
    assert len(heat_maps[1].patches) == 2 and not heat_maps[0].patches  # brightness unencoded in both layers
