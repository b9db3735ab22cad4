"""Test-set metrics: balanced accuracy beside accuracy, so a class the network misses shows."""
import pandas as pd
import pytest

from cellscape.model.evaluation import test_metrics as metrics_of  # not a test itself

CLASSES = ["G1", "G2", "S"]


def predictions(pairs, split="test"):
    """(true label, predicted label) pairs -> a predictions table."""
    return pd.DataFrame({"split": split, "label": [t for t, _ in pairs], "predicted_label": [p for _, p in pairs]})


def test_balanced_accuracy_is_the_mean_of_the_per_class_accuracies():
    # G1: 8 of 8 right, G2: 1 of 2, S: 0 of 2 -> accuracy 9/12, balanced (1 + 0.5 + 0) / 3
    pairs = [(0, 0)] * 8 + [(1, 1), (1, 0), (2, 0), (2, 1)]
    m = metrics_of(predictions(pairs), CLASSES, n_parameters=10)
    assert m["test_accuracy"] == pytest.approx(0.75)
    assert m["balanced_accuracy"] == pytest.approx(0.5)
    assert m["per_class_accuracy"] == {"G1": 1.0, "G2": 0.5, "S": 0.0}
    assert m["confusion"] == [[8, 0, 0], [1, 1, 0], [1, 1, 0]]


def test_balanced_accuracy_ignores_classes_without_test_cells_and_other_splits():
    table = pd.concat([predictions([(0, 0), (0, 1), (1, 1)]), predictions([(2, 0)] * 5, split="train")])
    m = metrics_of(table, CLASSES, n_parameters=10)
    assert m["n_test"] == 3
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
