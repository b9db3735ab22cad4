"""Does a class decision use a direction of a layer's activation space (Kim et al. 2018, TCAV;
Graziani et al. 2019, regression concept vectors)?

A direction ``v`` of layer ``l`` (e.g. a linear probe's weights for a cytometry feature) is
*encoded* when a probe finds it; it is *used* for class ``c`` when moving the layer's activation
along ``v`` moves the class logit: the sensitivity

    S_c,v(x) = grad_{f_l(x)} logit_c . v

(a directional derivative at each cell ``x``). The TCAV score is the share of cells with
``S > 0``: 1 (or 0) when the logit rises (falls) along ``v`` at every cell, about 0.5 for a
direction the decision ignores. Whether a score is more than chance is asked of random directions
of the same layer: their scores form the null distribution, and a two-sided t-test compares the
direction's score(s) with them (:func:`score_significance`); :func:`bonferroni` corrects the
p-values for the number of layers x directions tested.

Directions live in the layer's flattened activation space (C x H x W values of a conv layer,
the units of a dense one). A probe fitted on a reduced copy of the features (``reduced.npy``:
``(x - mean) @ P``) has the full-space direction ``P @ w``. Gradients come from captum's layer
gradient (``LayerGradientXActivation`` without the multiplication by the activation, as
``captum.concept.TCAV`` computes them). No I/O here.
"""
import sys

import numpy as np
import torch
from scipy import stats
from tqdm import tqdm

from ..model.hooks import frozen_eval, layer_module


def _directions(directions):
    directions = np.asarray(directions, dtype=np.float32)
    if directions.ndim == 1:
        directions = directions[None]
    if directions.ndim != 2:
        raise ValueError(f"directions must be (n_directions, layer size) or one vector, got shape {directions.shape}")
    norms = np.linalg.norm(directions, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"directions {np.flatnonzero(norms == 0).tolist()} are zero vectors: a direction needs a length")
    return directions


def sensitivities(model, images, directions, targets, batch_size=32, device=None, progress=None):
    """Directional derivatives of the ``targets`` logits (class indices) along each layer's
    directions, for every image: ``{layer: (n_images, n_targets, n_directions) float64}``.

    ``images``: (N, C, H, W) array; ``directions``: ``{layer: (n_directions, layer size) or one
    vector}`` in each layer's flattened activation space (layer names as ``model.layer`` or
    module paths). One forward and one backward pass per batch and target serve every layer.
    Only a direction's orientation matters to the TCAV score; the derivative is per unit of the
    given vector's length. ``progress``: a tqdm description, or None."""
    from captum.attr import LayerGradientXActivation
    layers = list(directions)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    bases = [torch.from_numpy(_directions(directions[layer])).to(device) for layer in layers]
    gradient = LayerGradientXActivation(model, [layer_module(model, layer) for layer in layers],
                                        multiply_by_inputs=False)
    out = {layer: np.empty((len(images), len(targets), len(basis))) for layer, basis in zip(layers, bases)}
    starts = range(0, len(images), batch_size)
    with frozen_eval(model):
        for start in tqdm(starts, desc=progress, file=sys.stderr, disable=progress is None, mininterval=5.0):
            x = torch.as_tensor(np.asarray(images[start:start + batch_size], dtype=np.float32), device=device)
            for k, target in enumerate(targets):
                grads = gradient.attribute(x, target=int(target))
                for layer, basis, grad in zip(layers, bases, grads):
                    grad = grad.flatten(1)
                    if grad.shape[1] != basis.shape[1]:
                        raise ValueError(f"layer {layer} has {grad.shape[1]} values per cell; its directions have "
                                         f"{basis.shape[1]}")
                    out[layer][start:start + len(x), k] = (grad @ basis.T).double().cpu().numpy()
    return out


def layer_sensitivities(model, images, layer, directions, targets, batch_size=32, device=None):
    """:func:`sensitivities` of one layer: (n_images, n_targets, n_directions) float64."""
    return sensitivities(model, images, {layer: directions}, targets, batch_size, device)[layer]


def tcav_scores(sensitivities):
    """The share of cells with a positive sensitivity, per target and direction: the cell axis
    (the first) of :func:`layer_sensitivities`'s output reduced."""
    return np.mean(np.asarray(sensitivities) > 0, axis=0)


def random_directions(n, size, seed, basis=None):
    """``n`` random unit directions of a layer of ``size`` values (isotropic Gaussian), or of the
    span of ``basis`` (k x size rows: e.g. the reduction a probe was fitted in), seeded."""
    rng = np.random.default_rng(seed)
    if basis is None:
        vectors = rng.standard_normal((n, size))
    else:
        basis = np.asarray(basis, dtype=np.float64)
        if basis.ndim != 2 or basis.shape[1] != size:
            raise ValueError(f"basis of shape {basis.shape}: expected (k, {size})")
        vectors = rng.standard_normal((n, len(basis))) @ basis
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def score_significance(concept_scores, random_scores):
    """Two-sided t-test of a direction's TCAV score(s) against those of random directions.

    Several concept scores (e.g. the probe's direction from each cross-validation fold) are
    compared with Welch's two-sample t-test, as TCAV compares CAVs with random CAVs; one score
    with the t-test of a single value against a sample (Crawford & Howell 1998):
    t = (s - mean) / (sd * sqrt(1 + 1/m)) with m - 1 degrees of freedom. Returns (t, p); p is 1
    when neither side varies and they agree, 0 when they differ."""
    concept = np.atleast_1d(np.asarray(concept_scores, dtype=np.float64))
    random = np.asarray(random_scores, dtype=np.float64)
    if len(random) < 2:
        raise ValueError(f"{len(random)} random directions: the test needs at least 2 (TCAV uses 50 or more)")
    if len(concept) > 1:
        if np.ptp(concept) == 0 and np.ptp(random) == 0:
            return (0.0, 1.0) if concept[0] == random[0] else (float(np.copysign(np.inf, concept[0] - random[0])), 0.0)
        result = stats.ttest_ind(concept, random, equal_var=False)
        return float(result.statistic), float(result.pvalue)
    m, spread = len(random), random.std(ddof=1)
    difference = concept[0] - random.mean()
    if spread == 0:
        return (0.0, 1.0) if difference == 0 else (float(np.copysign(np.inf, difference)), 0.0)
    t = difference / (spread * np.sqrt(1 + 1 / m))
    return float(t), float(2 * stats.t.sf(abs(t), df=m - 1))


def bonferroni(p_values, n_tests):
    """Bonferroni-corrected p-values: each times the number of tests (layers x directions), at most 1."""
    return np.minimum(np.asarray(p_values, dtype=np.float64) * int(n_tests), 1.0)


def concept_test(sensitivities, labels, classes, n_concept=1):
    """Per class: the TCAV score of the concept direction(s) and its test against the random ones.

    ``sensitivities``: (n_cells, n_classes, n_concept + n_random) from :func:`sensitivities`
    with the targets ``range(len(classes))`` and the concept direction(s) first; ``labels``: each
    cell's class index, or None to score every cell for every class (TCAV scores a class on the
    cells of that class). Several concept directions (one per probe fold) are fitted on nearly
    the same cells, so they are no independent draws: their mean score is tested as one value
    against the random directions' (:func:`score_significance`), which asks whether the
    direction is unusual among directions of the layer. Returns dict rows: class, cells,
    tcav_score (the folds' mean), tcav_sd (across folds), mean_sensitivity, random_mean,
    random_sd, t, p (uncorrected)."""
    sensitivities = np.asarray(sensitivities, dtype=np.float64)
    if sensitivities.shape[2] - n_concept < 2:
        raise ValueError(f"{sensitivities.shape[2]} directions with {n_concept} concept direction(s): "
                         "random directions must follow the concept's")
    rows = []
    for k, name in enumerate(classes):
        cells = np.ones(len(sensitivities), bool) if labels is None else np.asarray(labels) == k
        if not cells.any():
            continue
        scores = tcav_scores(sensitivities[cells, k])
        concept, random = scores[:n_concept], scores[n_concept:]
        t, p = score_significance(concept.mean(), random)
        rows.append({"class": name, "cells": int(cells.sum()), "tcav_score": float(concept.mean()),
                     "tcav_sd": float(concept.std(ddof=1)) if n_concept > 1 else 0.0,
                     "mean_sensitivity": float(sensitivities[cells, k, :n_concept].mean()),
                     "random_mean": float(random.mean()), "random_sd": float(random.std(ddof=1)), "t": t, "p": p})
    return rows
