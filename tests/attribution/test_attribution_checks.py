"""The checks a reviewer asks of an attribution method, on hand-made data with known answers."""
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import spearmanr

from support.attribution_data import SIZE, make_cells

from cellscape.attribution.cells import check_cells
from cellscape.attribution.faithfulness import PixelFlipping, area_between, removal_order, removed
from cellscape.attribution.methods import attribution_maps, gradcam_method, shown
from cellscape.attribution.quality import QUALITY_COLUMNS, label_rows, quality_table, randomisation_rows
from cellscape.attribution.randomisation import (LabelRandomisation, ModelRandomisation, shuffled_label_copy,
                                                 weighted_layers)
from cellscape.attribution.similarity import cell_masks, similarity, spearman, ssim
from cellscape.attribution.verdict import RANDOMISATION_BELOW, passing_first, verdicts


class InputAsMap(ModelRandomisation):
    """A 'method' whose map is the image itself: it cannot depend on the weights."""

    def _maps(self, model, images, targets):
        images = np.asarray(images)
        return {"input": (images.sum(axis=1), np.abs(images).sum(axis=1))}


# --- similarity inside the cell ---------------------------------------------------------------

def test_maps_alike_only_in_their_zero_background_score_near_zero_inside_the_cell():
    rng = np.random.default_rng(0)
    images = make_cells(4)
    inside = cell_masks(images)
    a = np.where(inside, rng.random(inside.shape), 0.0)
    b = np.where(inside, rng.random(inside.shape), 0.0)
    whole = np.array([spearmanr(x.ravel(), y.ravel()).statistic for x, y in zip(a, b)])
    assert np.all(whole > 0.3)  # the shared background alone makes the whole images correlate
    scores = similarity((a, a), (b, b), inside)
    assert np.all(np.abs(scores["spearman_abs"]) < 0.2) and np.all(scores["ssim"] < 0.3)


def test_similarity_ignores_the_background_and_is_one_for_the_same_map_inside():
    rng = np.random.default_rng(1)
    images = make_cells(3)
    inside = cell_masks(images)
    a = rng.random(inside.shape)
    b = np.where(inside, a, rng.random(inside.shape))  # differs outside the cell only
    np.testing.assert_allclose(spearman(a, b, inside), 1.0)
    np.testing.assert_allclose(ssim(a, b, inside), 1.0, atol=1e-9)
    np.testing.assert_allclose(spearman(-a, a ** 3, inside), -1.0)
    assert np.all(spearman(np.zeros_like(a), a, inside) == 0)  # a constant map says nothing


# --- model randomisation ---------------------------------------------------------------------

def test_a_method_that_returns_the_input_fails_randomisation(tiny_model, cells):
    targets = np.zeros(len(cells), int)
    check = InputAsMap(["input"], "cascading").fit(tiny_model, cells, targets)
    for score in ("spearman_signed", "spearman_abs", "ssim"):
        np.testing.assert_allclose(check.scores_["input"][score], 1.0)
    rows = randomisation_rows(check, "cascading", [f"c{i}" for i in range(len(cells))])
    found = verdicts(quality_table(rows, None, {}))
    assert found["input"]["checks"] == {"randomisation": False} and not found["input"]["passes"]
    # the same rule lets a map that follows the weights through
    saliency = ModelRandomisation(["saliency"], "cascading").fit(tiny_model, cells, targets)
    assert np.all(saliency.scores_["saliency"]["spearman_abs"][1:].mean(axis=0) < 0.9)


def test_cascading_randomises_from_the_top_cumulatively_and_independent_one_layer_at_a_time(tiny_model, cells):
    before = [p.detach().clone() for p in tiny_model.parameters()]
    targets = np.array([0, 1, 0, 1, 0, 1])
    cascade = ModelRandomisation(["saliency"], "cascading").fit(tiny_model, cells, targets)
    alone = ModelRandomisation(["saliency"], "independent").fit(tiny_model, cells, targets)
    assert cascade.stages_ == alone.stages_ == ["none"] + weighted_layers(tiny_model)
    assert cascade.stages_[1] == "dense2" and cascade.stages_[-1] == "conv1"
    # the first stage re-draws the same layer with the same seed in both modes
    np.testing.assert_allclose(cascade.maps_["saliency"][1], alone.maps_["saliency"][1], rtol=1e-5)
    np.testing.assert_allclose(cascade.scores_["saliency"]["spearman_abs"][0], 1.0)
    for p, q in zip(tiny_model.parameters(), before):
        assert torch.equal(p, q)  # the model itself is never changed


def test_the_randomisation_verdict_follows_one_rule_for_every_method(tiny_model):
    """Guided backprop, saliency and Grad-CAM are judged by the same threshold on the same score,
    recomputed here from the stored maps with scipy (the default run's numbers: docs/attribution.md)."""
    images = make_cells(4, seed=3)
    targets = np.array([0, 1, 0, 1])
    methods = ["saliency", "guided_backprop", gradcam_method("conv2")]
    check = ModelRandomisation(methods, "cascading").fit(tiny_model, images, targets)
    found = verdicts(quality_table(randomisation_rows(check, "cascading", list("abcd")), None, {}))
    inside = cell_masks(images)
    for m in methods:
        stages = check.maps_[m]
        # a constant map (a dead network) has no rank order: it counts as 0, unlike its trained self
        per_cell = [np.mean([np.nan_to_num(spearmanr(stages[0, i][inside[i]], stages[s, i][inside[i]]).statistic)
                             for s in range(1, len(stages))]) for i in range(len(images))]
        score = float(np.mean(per_cell))
        assert found[m]["scores"]["cascade_spearman_abs"] == pytest.approx(score, abs=2e-3)
        assert found[m]["checks"]["randomisation"] == (score < RANDOMISATION_BELOW)


# --- label randomisation ---------------------------------------------------------------------

def test_the_shuffled_label_copy_is_retrained_and_leaves_the_network_alone(tiny_model):
    images = make_cells(16, seed=4)
    labels = np.arange(16) % 2
    before = [p.detach().clone() for p in tiny_model.parameters()]
    copy, info = shuffled_label_copy(tiny_model, images, labels, steps=5, batch_size=8, random_state=0)
    assert all(torch.equal(p, q) for p, q in zip(tiny_model.parameters(), before))
    assert not torch.equal(next(copy.parameters()), before[0])
    assert info["steps"] == 5 and info["cells"] == 16 and 0 <= info["accuracy_shuffled"] <= 1
    assert info["cpu_seconds"] >= 0 and 0 <= info["chance_agreement"] <= 1
    check = LabelRandomisation(["saliency"]).fit(tiny_model, copy, images[:4], labels[:4])
    assert check.scores_["saliency"]["spearman_abs"].shape == (4,)
    # comparing the network with itself is the check's upper bound
    same = LabelRandomisation(["saliency"]).fit(tiny_model, tiny_model, images[:4], labels[:4])
    np.testing.assert_allclose(same.scores_["saliency"]["spearman_abs"], 1.0)
    rows = label_rows(check, list("abcd"))
    assert {r["mode"] for r in rows} == {"label"} and len(rows) == 4


# --- faithfulness ----------------------------------------------------------------------------

def test_removal_takes_the_largest_values_inside_the_cell_first():
    values = np.array([[5.0, 1.0], [9.0, 3.0]])
    keep = np.array([[True, True], [False, True]])
    order = removal_order(values, keep, np.random.default_rng(0))
    assert order.tolist() == [0, 3, 1]  # 9.0 lies outside the cell
    image = np.ones((2, 2, 2), np.float32)
    out = removed(image, order, 2 / 3)
    assert out[:, 0, 0].tolist() == [0, 0] and out[:, 1, 1].tolist() == [0, 0] and out[:, 0, 1].tolist() == [1, 1]


def test_area_between_curves_is_the_mean_gap_over_the_fractions():
    fractions = (0.0, 0.5, 1.0)
    # gap 0, 0.2, 0.4 -> trapezoids (0.1 + 0.3) / 2 = 0.2 over a range of 1
    assert area_between([[1.0, 0.6, 0.2]], [[1.0, 0.8, 0.6]], fractions)[0] == pytest.approx(0.2)


def test_a_random_map_scores_faithfulness_like_random_and_the_true_order_beats_it(nucleus_counter):
    images = make_cells(24, seed=5)
    targets = np.ones(len(images), int)
    rng = np.random.default_rng(6)
    ig = attribution_maps(nucleus_counter, images, targets, ["integrated_gradients"], n_steps=8)
    maps = {"random_map": rng.random((len(images), SIZE, SIZE)), "integrated_gradients": ig["integrated_gradients"][1]}
    flipping = PixelFlipping(n_random=4, random_state=0).fit(nucleus_counter, images, targets, maps)
    abc = {m: flipping.abc_[m].mean() for m in maps}
    assert abc["integrated_gradients"] > 0.1  # the brightest nucleus pixels go first
    assert abs(abc["random_map"]) < 0.1 * abc["integrated_gradients"]
    assert flipping.drop("integrated_gradients", 0.1).mean() > 2 * flipping.drop(None, 0.1).mean()
    found = verdicts(quality_table(pd.DataFrame(columns=["method", "mode", "stage", "id", "spearman_signed",
                                                         "spearman_abs", "ssim"]), flipping, {}))
    assert found["integrated_gradients"]["checks"] == {"faithfulness": True}
    assert found["random_map"]["checks"] == {"faithfulness": False}


def test_pixel_flipping_fractions_must_start_at_zero_and_rise(nucleus_counter):
    images = make_cells(2)
    with pytest.raises(ValueError, match="rise from 0"):
        PixelFlipping(fractions=(0.1, 0.2)).fit(nucleus_counter, images, [1, 1], {"m": images[:, 0]})


# --- the table and the verdicts ---------------------------------------------------------------

def _quality(rows):
    return pd.DataFrame([dict(zip(QUALITY_COLUMNS, r)) for r in rows])


def test_a_method_passes_only_when_every_check_it_was_given_passes():
    q = _quality([
        ("good", "cascading_randomisation", "spearman_abs", 0.2, 0.1, 0.1, 0.3, 4),
        ("good", "label_randomisation", "spearman_abs", 0.1, 0.1, 0.0, 0.2, 4),
        ("good", "faithfulness", "area_between_curves", 0.10, 0.04, 0.05, 0.15, 16),  # SE 0.01
        ("good", "faithfulness", "drop_top_0.1", 0.3, 0.1, 0.1, 0.5, 16),
        ("good", "faithfulness", "drop_random_0.1", 0.05, 0.02, 0.0, 0.1, 16),
        ("edges", "cascading_randomisation", "spearman_abs", 0.85, 0.05, 0.8, 0.9, 4),
        ("edges", "label_randomisation", "spearman_abs", 0.1, 0.1, 0.0, 0.2, 4),
        ("edges", "faithfulness", "area_between_curves", 0.10, 0.04, 0.05, 0.15, 16),
        ("noisy", "cascading_randomisation", "spearman_abs", 0.2, 0.1, 0.1, 0.3, 4),
        ("noisy", "faithfulness", "area_between_curves", 0.01, 0.04, -0.05, 0.05, 16),  # 0.01 < 2 x 0.01
    ])
    found = verdicts(q)
    assert found["good"]["passes"] and found["good"]["scores"]["drop_top_10"] == 0.3
    assert not found["edges"]["passes"] and found["edges"]["checks"]["randomisation"] is False
    assert "fails randomisation" in found["edges"]["text"] and "0.85" in found["edges"]["text"]
    assert not found["noisy"]["passes"] and found["noisy"]["checks"] == {"randomisation": True, "faithfulness": False}
    assert passing_first(["edges", "noisy", "good"], found) == ["good", "edges", "noisy"]


def test_quality_table_gives_every_check_with_its_spread_over_cells(tiny_model, cells):
    targets = np.zeros(len(cells), int)
    methods = ["saliency", gradcam_method("conv1")]
    ids = [f"c{i}" for i in range(len(cells))]
    rows = []
    for mode in ("cascading", "independent"):
        rows += randomisation_rows(ModelRandomisation(methods, mode).fit(tiny_model, cells[:3], targets[:3]), mode,
                                   ids[:3])
    maps = attribution_maps(tiny_model, cells, targets, methods)
    flipping = PixelFlipping(n_random=1).fit(tiny_model, cells, targets, {m: shown(m, *maps[m]) for m in methods})
    table = quality_table(rows, flipping, {m: {"share_in_cell": np.linspace(0, 1, len(cells))} for m in methods})
    assert list(table.columns) == list(QUALITY_COLUMNS)
    checks = set(table["check"])
    assert checks == {"cascading_randomisation", "independent_randomisation", "faithfulness", "localisation"}
    cascade = table[(table["check"] == "cascading_randomisation") & (table["method"] == "saliency")]
    assert set(cascade["score"]) == {"spearman_signed", "spearman_abs", "ssim", "spearman_signed_all_layers",
                                     "spearman_abs_all_layers", "ssim_all_layers"}
    assert (cascade["n_cells"] == 3).all()
    share = table[table["score"] == "share_in_cell"].iloc[0]
    assert share["mean"] == pytest.approx(0.5) and share["min"] == 0 and share["max"] == 1
    assert share["sd"] == pytest.approx(np.std(np.linspace(0, 1, len(cells)), ddof=1))


def test_checked_cells_are_a_seeded_sample_of_test_cells_interleaved_by_class():
    table = pd.DataFrame({"row": range(12), "id": [f"c{i}" for i in range(12)], "split": ["test"] * 10 + ["train"] * 2,
                          "label": [0] * 5 + [1] * 5 + [0, 1]})
    picked = check_cells(table, 3, seed=0)
    assert picked["label"].tolist() == [0, 1, 0, 1, 0, 1]
    assert set(picked["split"]) == {"test"} and picked["row"].is_unique
    assert picked["row"].tolist() == check_cells(table, 3, seed=0)["row"].tolist()
    assert len(check_cells(table, 9, seed=0)) == 10  # no more than there are


def test_the_shuffled_label_copy_is_the_same_for_the_same_seed_despite_dropout():
    from cellscape.model.network import build_model
    from support.attribution_data import TINY_MODEL
    model = build_model({**TINY_MODEL, "dropout": 0.5}, SIZE, 2).eval()
    images, labels = make_cells(8, seed=7), np.arange(8) % 2
    first, _ = shuffled_label_copy(model, images, labels, steps=3, batch_size=4, random_state=2)
    torch.rand(5)  # whatever the global generator did in between
    again, _ = shuffled_label_copy(model, images, labels, steps=3, batch_size=4, random_state=2)
    assert all(torch.equal(p, q) for p, q in zip(first.parameters(), again.parameters()))
