"""The training-recipe comparison (bench/training_recipe.py) runs on a finished image set and
reports what the docs quote: accuracies, every epoch's validation accuracy and their spread."""
import json

import numpy as np
import pandas as pd
import pytest

import training_recipe
from model.test_training import TINY, toy_set

pytestmark = pytest.mark.trains


def test_a_recipe_trains_on_an_image_set_and_reports_its_epochs(tmp_path):
    images, index = toy_set(n=60)
    np.save(tmp_path / "images.npy", images)
    index.to_csv(tmp_path / "index.csv", index=False)
    (tmp_path / "classes.json").write_text(json.dumps(["a", "b"]))
    row = training_recipe.run(tmp_path, "cosine4", 0, TINY)
    val = [float(v) for v in row["val_accuracy"].split()]
    assert row["epochs_run"] == len(val) == training_recipe.RECIPES["cosine4"]["epochs"]
    assert row["last3_val_spread"] == pytest.approx(max(val[-3:]) - min(val[-3:]), abs=1e-4)
    assert 1 <= row["best_epoch"] <= len(val)
    test = index[index["split"] == "test"]
    assert row["n_test"] == len(test) and 0 <= row["balanced_accuracy"] <= 1 and 0 <= row["test_accuracy"] <= 1
    assert pd.DataFrame([row]).notna().all(axis=None)
