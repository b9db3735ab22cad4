"""Fig. 25: readable feature names grouped by channel, layers in order, a dot where the interval is above 0."""
import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from cellscape.figures.probe_figures import feature_label, probe_figure  # noqa: E402


def test_the_heat_map_names_features_groups_and_marks_intervals_above_zero():
    layers = ["input", "conv1", "dense1"]
    features = [("cell_area", "cell", "continuous"), ("nucleus_lobes", "nucleus", "count"),
                ("nucleus_glcm_contrast", "nucleus", "continuous")]
    rows = []
    for k, layer in enumerate(layers):
        for j, (name, group, kind) in enumerate(features):
            low = 0.1 if (layer, name) == ("dense1", "nucleus_lobes") else -0.1
            rows.append({"layer": layer, "feature": name, "group": group, "kind": kind, "selectivity": 0.1 * k,
                         "selectivity_low": low, "score": 0.5})
    figure = probe_figure(pd.DataFrame(rows), layers, "title")
    left, right = figure.axes[:2]  # then their colour bars
    assert [t.get_text() for t in left.get_yticklabels()] == ["area", "lobe count (bal. acc.)", "GLCM contrast"]
    assert [t.get_text() for t in right.get_xticklabels()] == layers
    groups = [a.get_text() for a in left.texts]
    assert groups == ["cell", "nucleus"]
    dots = left.collections[0].get_offsets()
    assert np.array_equal(np.asarray(dots), [[2, 1]])  # column dense1, row lobes
    assert feature_label("truth_nucleus_lobes", "truth", "count") == "nucleus lobe count (bal. acc.)"
