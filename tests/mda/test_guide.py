"""MDA's guide on the classifier's layers, also when the network predicts one class for all."""
import numpy as np
import pandas as pd

from cellscape.mda.guide import mda_guide

CELLS = pd.DataFrame({"predicted": ["a", "b", "a"], "p_a": [0.9, 0.2, 0.6], "p_b": [0.1, 0.8, 0.4],
                      "target": [0.3, 0.5, 0.7]})


def test_the_predicted_class_guides_as_it_is():
    assert mda_guide(CELLS, ["predicted"], ["p_a", "p_b"]).tolist() == ["a", "b", "a"]
    assert mda_guide(CELLS, ["target"]).tolist() == [0.3, 0.5, 0.7]
    np.testing.assert_array_equal(mda_guide(CELLS, ["p_a", "p_b"]), [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])


def test_one_predicted_class_for_every_cell_falls_back_to_the_probabilities(caplog):
    one_class = CELLS.assign(predicted="a")
    guide = mda_guide(one_class, ["predicted"], ["p_a", "p_b"])
    np.testing.assert_array_equal(guide, [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert "holds one value ('a') for all 3 cells" in caplog.text


def test_without_a_fallback_one_class_stays_one_class():
    assert mda_guide(CELLS.assign(predicted="a"), ["predicted"]).tolist() == ["a", "a", "a"]
