"""Randomisation checks (Adebayo et al. 2018, "Sanity checks for saliency maps"): an attribution
map is only informative if it depends on what the network learned.

- model randomisation, ``cascading``: the layers' weights are re-drawn one after another from the
  top (output) down, keeping the ones above random; ``independent``: one layer at a time, the
  others trained;
- label randomisation: a copy of the network trained on shuffled labels (:func:`shuffled_label_copy`),
  which can only memorise; its maps should not look like the trained network's.

A method whose maps stay alike shows the image, not the model. The similarity is measured inside
the cell (:mod:`.similarity`). The model passed in is copied, never changed. No I/O here.
"""
import copy
import time

import numpy as np
import torch
from torch import nn

from ..model.initial import randomise_layer
from .methods import attribution_maps
from .similarity import SCORES, cell_masks, similarity

MODES = ("cascading", "independent")


def weighted_layers(model):
    """Names of the model's layers with weights, top (output) first: the cascade's order."""
    return list(reversed(model.layer_names))


def _randomised(model, names, generator):
    device = next(model.parameters()).device
    for name in names:
        randomise_layer(model.cpu(), name, generator)
    return model.to(device).eval()


class MapComparison:
    """What the checks share: the trained network's maps of ``methods`` for the cells, and the
    similarity (:mod:`.similarity`) of another network's maps to them, inside the cells."""

    def __init__(self, methods=("saliency",), n_steps=32, n_samples=16, random_state=0):
        self.methods = methods
        self.n_steps = n_steps
        self.n_samples = n_samples
        self.random_state = random_state

    def _maps(self, model, images, targets):
        return attribution_maps(model, images, targets, list(self.methods), self.n_steps, self.n_samples,
                                self.random_state)

    def _scores(self, reference, maps, masks):
        return {m: similarity(reference[m], maps[m], masks) for m in self.methods}


class ModelRandomisation(MapComparison):
    """Cascading or independent model randomisation of several attribution methods.

    ``fit(model, images, targets)`` records each method's maps for the trained network and after
    each randomisation stage. Attributes: ``stages_`` ("none", then the layer re-drawn at that
    stage, top first), ``maps_`` ``{method: (stages, B, H, W)}`` (absolute maps), ``scores_``
    ``{method: {score: (stages, B)}}`` (similarity to the trained maps inside the cell; stage 0
    is the trained network itself).
    """

    def __init__(self, methods=("saliency",), mode="cascading", n_steps=32, n_samples=16, random_state=0):
        super().__init__(methods, n_steps, n_samples, random_state)
        self.mode = mode

    def fit(self, model, images, targets):
        if self.mode not in MODES:
            raise ValueError(f"unknown randomisation mode {self.mode!r}; choose from {MODES}")
        masks = cell_masks(images)
        reference = self._maps(model, images, targets)
        stages, all_maps = ["none"], [reference]
        cascade = copy.deepcopy(model).eval() if self.mode == "cascading" else None
        for k, name in enumerate(weighted_layers(model)):
            generator = torch.Generator().manual_seed(int(self.random_state) + k)
            if self.mode == "cascading":
                current = _randomised(cascade, [name], generator)
            else:
                current = _randomised(copy.deepcopy(model).eval(), [name], generator)
            stages.append(name)
            all_maps.append(self._maps(current, images, targets))
        self.stages_ = stages
        self.maps_ = {m: np.stack([maps[m][1] for maps in all_maps]) for m in self.methods}
        per_stage = [self._scores(reference, maps, masks) for maps in all_maps]
        self.scores_ = {m: {s: np.stack([stage[m][s] for stage in per_stage]) for s in SCORES} for m in self.methods}
        return self


def shuffled_label_copy(model, images, labels, steps=30, batch_size=32, lr=1e-3, random_state=0):
    """A copy of ``model`` with every layer re-drawn and then trained for ``steps`` Adam steps on
    ``images`` with their ``labels`` shuffled (a fixed permutation): the network of the
    label-randomisation test. Returns ``(copy, info)``; info: the copy's accuracy on the shuffled
    labels it trained on, the share of those labels that are true by chance, steps and CPU seconds.
    """
    started = time.process_time()
    generator = torch.Generator().manual_seed(int(random_state))
    randomised = _randomised(copy.deepcopy(model), weighted_layers(model), generator)
    device = next(randomised.parameters()).device
    x = torch.as_tensor(np.asarray(images, dtype=np.float32))
    true = torch.as_tensor(np.array(labels), dtype=torch.long)
    shuffled = true[torch.randperm(len(true), generator=generator)]
    optimiser = torch.optim.Adam(randomised.parameters(), lr=lr)
    randomised.train()
    with torch.random.fork_rng(devices=[]):  # dropout draws from torch's global generator: seed it, then restore
        torch.manual_seed(int(random_state))
        for _ in range(steps):
            pick = torch.randint(len(x), (min(batch_size, len(x)),), generator=generator)
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(randomised(x[pick].to(device)), shuffled[pick].to(device))
            loss.backward()
            optimiser.step()
    randomised.eval()
    with torch.no_grad():
        predicted = torch.cat([randomised(x[i:i + 256].to(device)).argmax(1).cpu() for i in range(0, len(x), 256)])
    info = {"steps": int(steps), "cells": int(len(x)),
            "accuracy_shuffled": float((predicted == shuffled).float().mean()),
            "chance_agreement": float((shuffled == true).float().mean()),
            "cpu_seconds": time.process_time() - started}
    return randomised, info


class LabelRandomisation(MapComparison):
    """The label-randomisation test: the similarity of each method's maps for the trained network
    and for ``randomised`` (:func:`shuffled_label_copy`), explaining the same target classes.
    ``fit(model, randomised, images, targets)``; attribute ``scores_`` ``{method: {score: (B,)}}``."""

    def fit(self, model, randomised, images, targets):
        masks = cell_masks(images)
        self.scores_ = self._scores(self._maps(model, images, targets), self._maps(randomised, images, targets),
                                    masks)
        return self
