"""configs/concepts.yaml's cells: the class is told by the nucleus-to-cell ratio alone, the
brightness decoy varies as much and independently of it (the check of encoded versus used)."""
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.metrics import roc_auc_score

from cellscape.data.simulate import resolve_params, simulate_event

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "concepts.yaml"


@pytest.fixture(scope="module")
def cells():
    settings = yaml.safe_load(CONFIG.read_text())["simulator"]
    params = {key: value for key, value in settings.items() if key not in ("events", "chunks")}
    rng = np.random.default_rng(3)
    rows = [(cls, simulate_event(rng, cls, params)[1]) for cls in ("lymphocyte", "neutrophil") for _ in range(120)]
    labels = np.array([cls == "neutrophil" for cls, _ in rows])
    return labels, {key: np.array([props[key] for _, props in rows], dtype=float)
                    for key in ("nucleus_area_ratio", "brightness_cyto", "brightness_nuc", "cell_diameter_px", "lobes")}


def auc(labels, values):
    """How well a property tells the classes apart, whichever way round (0.5: not at all)."""
    score = roc_auc_score(labels, values)
    return max(score, 1 - score)


def test_the_nucleus_ratio_tells_the_classes_apart_and_nothing_else_does(cells):
    labels, props = cells
    assert auc(labels, props["nucleus_area_ratio"]) > 0.95
    for decoy in ("brightness_cyto", "brightness_nuc", "cell_diameter_px"):
        assert auc(labels, props[decoy]) < 0.65, decoy
    assert np.all(props["lobes"] == 1)  # every nucleus round: no lobe count to go by


def test_the_brightness_decoy_varies_about_as_much_as_the_ratio(cells):
    _, props = cells
    spread = {key: np.std(props[key]) / np.mean(props[key]) for key in ("nucleus_area_ratio", "brightness_cyto")}
    assert 0.5 < spread["brightness_cyto"] / spread["nucleus_area_ratio"] < 2, spread


def test_shape_morphology_must_be_a_score_or_null():
    assert resolve_params()["shape_morphology"] is None
    with pytest.raises(ValueError, match="shape_morphology"):
        resolve_params({"shape_morphology": 1.5})
