"""TCAV on hand-built networks whose logits are known functions of a layer: the planted
direction's score is 1 or 0 as its sign dictates, random directions score about 0.5, and the
significance is the t-test scipy computes independently."""
import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from cellscape.concepts.sensitivity import (bonferroni, concept_test, layer_sensitivities, random_directions,
                                            score_significance, sensitivities, tcav_scores)

D = 16


class KnownLogits(nn.Module):
    """Layer ``hidden`` is the input itself (an identity map, hookable); the logits are
    ``a * (w . h) + b * ||h||^2 / 2`` for class 0 and its negative for class 1, so the gradient
    of class 0's logit at ``h`` is ``a * w + b * h``."""

    def __init__(self, w, a=1.0, b=0.0):
        super().__init__()
        self.hidden = nn.Identity()
        self.w, self.a, self.b = torch.as_tensor(w, dtype=torch.float32), a, b
        self.scale = nn.Parameter(torch.ones(1))  # the network needs a parameter (device, frozen_eval)

    def forward(self, x):
        h = self.hidden(x * self.scale)
        logit = self.a * h @ self.w + self.b * 0.5 * (h ** 2).sum(dim=1)
        return torch.stack([logit, -logit], dim=1)


def cells(n, seed=0, d=D):
    return np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)


def unit(d, k):
    v = np.zeros(d, np.float32)
    v[k] = 1.0
    return v


def test_the_planted_direction_scores_one_for_the_class_it_raises_and_zero_for_the_other():
    w = np.zeros(D, np.float32)
    w[3] = 2.0
    model = KnownLogits(w)
    x = cells(64)
    s = layer_sensitivities(model, x, "hidden", [w, -w], targets=[0, 1], batch_size=10)
    assert s.shape == (64, 2, 2)
    np.testing.assert_allclose(s[:, 0, 0], 4.0, rtol=1e-6)  # grad (a w) . w = |w|^2
    np.testing.assert_allclose(tcav_scores(s), [[1.0, 0.0], [0.0, 1.0]])


def test_random_directions_score_about_one_half_where_the_gradient_turns_with_the_cell():
    model = KnownLogits(np.zeros(D, np.float32), a=0.0, b=1.0)  # gradient = h: zero-mean over cells
    x = cells(3000, seed=1)
    directions = random_directions(60, D, seed=2)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-6)
    scores = tcav_scores(layer_sensitivities(model, x, "hidden", directions, targets=[0], batch_size=500))[0]
    assert np.all(np.abs(scores - 0.5) < 0.05), scores  # binomial sd at 3,000 cells: 0.009


def test_a_used_direction_is_significant_and_an_ignored_one_is_not_with_scipys_p_value():
    # a wide layer, as a real one: a random direction's part along w (~ 1 / sqrt(400)) is small
    # beside the cell-to-cell part 0.2 h . v, so random scores spread around 0.5 (sd ~0.1)
    d, w = 400, unit(400, 0)
    model = KnownLogits(w, a=1.0, b=0.2)  # gradient a w + b h: along w 1 + 0.2 h_0 > 0 unless h_0 < -5
    x = cells(400, seed=3, d=d)
    ignored = unit(d, 5)  # orthogonal to w: sensitivity 0.2 h_5, positive for half the cells
    directions = np.concatenate([[w], [ignored], random_directions(60, d, seed=4)])
    s = layer_sensitivities(model, x, "hidden", directions, targets=[0, 1], batch_size=400)
    scores = tcav_scores(s)
    assert scores[0, 0] == 1.0 and scores[1, 0] == 0.0
    random = scores[0, 2:]
    t, p = score_significance(scores[0, 0], random)
    # the single-case t-test, written out with scipy's t distribution
    t_expected = (1.0 - random.mean()) / (random.std(ddof=1) * np.sqrt(1 + 1 / len(random)))
    assert t == pytest.approx(t_expected) and p == pytest.approx(2 * stats.t.sf(abs(t_expected), len(random) - 1))
    assert p < 0.05 / 24  # significant after Bonferroni over 12 layers x 2 directions
    _, p_ignored = score_significance(scores[0, 1], random)
    assert p_ignored > 0.5
    # several concept scores (one per probe fold): Welch's two-sample test, as TCAV's
    folds = np.array([0.97, 0.99, 1.0, 0.98, 0.96])
    assert score_significance(folds, random)[1] == pytest.approx(stats.ttest_ind(folds, random, equal_var=False).pvalue)


def test_concept_test_scores_each_class_on_its_own_cells():
    d, w = 400, unit(400, 0)
    model = KnownLogits(w, a=1.0, b=0.2)
    x = cells(200, seed=5, d=d)
    labels = (x[:, 1] > 0).astype(int)
    s = layer_sensitivities(model, x, "hidden", np.concatenate([[w], random_directions(50, d, seed=6)]), [0, 1],
                            batch_size=200)
    rows = concept_test(s, labels, ["up", "down"])
    assert [r["class"] for r in rows] == ["up", "down"]
    assert [r["cells"] for r in rows] == [int((labels == 0).sum()), int((labels == 1).sum())]
    assert rows[0]["tcav_score"] == 1.0 and rows[1]["tcav_score"] == 0.0
    assert rows[0]["mean_sensitivity"] > 0 > rows[1]["mean_sensitivity"]
    assert rows[0]["p"] < 1e-3 and rows[1]["p"] < 1e-3


def test_bonferroni_multiplies_by_the_tests_and_caps_at_one():
    np.testing.assert_allclose(bonferroni([0.001, 0.02, 0.5], 24), [0.024, 0.48, 1.0])


def test_a_direction_of_the_wrong_size_or_no_length_is_refused():
    model = KnownLogits(np.ones(D, np.float32))
    with pytest.raises(ValueError, match="16 values per cell"):
        layer_sensitivities(model, cells(4), "hidden", np.ones(D + 1), [0])
    with pytest.raises(ValueError, match="zero vectors"):
        layer_sensitivities(model, cells(4), "hidden", np.zeros(D), [0])


def test_random_directions_in_a_subspace_stay_in_it():
    basis = np.linalg.qr(np.random.default_rng(7).standard_normal((D, 3)))[0].T  # 3 orthonormal rows
    v = random_directions(20, D, seed=8, basis=basis)
    np.testing.assert_allclose(np.linalg.norm(v @ basis.T, axis=1), 1.0, rtol=1e-5)  # no part outside the span


def test_one_pass_serves_every_layer_with_the_gradients_of_the_chain_rule():
    rng = np.random.default_rng(9)
    A, B, C = (torch.as_tensor(rng.normal(size=shape), dtype=torch.float32) for shape in ((6, 5), (4, 6), (3, 4)))
    model = nn.Sequential()
    for name, weight in (("first", A), ("second", B), ("logits", C)):
        linear = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        linear.weight.data = weight
        model.add_module(name, linear)
    x = rng.normal(size=(7, 5)).astype(np.float32)
    V1, V2 = rng.normal(size=(3, 6)), rng.normal(size=(2, 4))
    s = sensitivities(model, x, {"first": V1, "second": V2}, targets=[0, 2], batch_size=3)
    # linear layers: d logit_c / d second = C[c], d logit_c / d first = B^T C[c], at every cell
    for k, c in enumerate([0, 2]):
        np.testing.assert_allclose(s["second"][:, k], np.tile(V2 @ C[c].numpy(), (7, 1)), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(s["first"][:, k], np.tile(V1 @ (B.numpy().T @ C[c].numpy()), (7, 1)),
                                   rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer_sensitivities(model, x, "second", V2, [0, 2]), s["second"], rtol=1e-6)


def test_several_fold_directions_are_tested_as_their_mean_score_against_the_random_ones():
    rng = np.random.default_rng(10)
    signs = np.concatenate([np.ones((100, 1, 3)), rng.choice([-1.0, 1.0], size=(100, 1, 30))], axis=2)
    signs[:10, 0, :3] = -1.0  # the three fold directions: 0.9 of the cells positive
    row = concept_test(signs, None, ["only"], n_concept=3)[0]
    random = np.mean(signs[:, 0, 3:] > 0, axis=0)
    assert row["tcav_score"] == pytest.approx(0.9) and row["tcav_sd"] == 0.0
    assert (row["t"], row["p"]) == pytest.approx(score_significance(0.9, random))
