"""Faithfulness by pixel flipping (Bach et al. 2015; Samek et al. 2017): does removing the pixels
a map calls most important lower the predicted class's probability more than removing as many
pixels at random?

Only the cell's pixels are removed (the union of the channels' masks): the background is 0
already. A removed pixel is set to 0 in every channel, the value the image set gives background,
so a removed pixel looks like background to the network. The curve is the target class's softmax
probability after removing the top ``f`` of the cell's pixels, for each fraction ``f``; the random
curve averages ``n_random`` random orders. The area between the curves (random minus method,
over the fractions, divided by their range) is positive when the map's order hurts the
prediction more than chance; a map that knows nothing scores about 0. No I/O here.
"""
import numpy as np
import torch

from .similarity import cell_masks

#: shares of the cell's pixels removed (the first must be 0: the unchanged image)
FRACTIONS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5)


def removal_order(values, keep, rng):
    """Flat indices of the pixels inside ``keep``, largest ``values`` first (ties in random order)."""
    inside = np.flatnonzero(keep.ravel())
    v = values.ravel()[inside]
    return inside[np.lexsort((rng.random(len(inside)), -v))]


def removed(image, order, fraction):
    """``image`` (C, H, W) with the first ``round(fraction x len(order))`` pixels of ``order`` set to 0."""
    out = image.copy()
    k = int(round(fraction * len(order)))
    flat = out.reshape(len(out), -1)
    flat[:, order[:k]] = 0
    return out


def _probabilities(model, batch, targets, batch_size):
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(batch), batch_size):
            x = torch.as_tensor(batch[i:i + batch_size], device=device)
            p = torch.softmax(model(x).float(), dim=1)
            out.append(p[torch.arange(len(x)), torch.as_tensor(targets[i:i + batch_size], device=device)].cpu())
    return torch.cat(out).numpy()


def flipping_curves(model, images, targets, orders, fractions, batch_size=64):
    """(B, F) target probabilities after removing each fraction of each cell's ``orders``."""
    images = np.asarray(images, dtype=np.float32)
    batch = np.stack([removed(image, order, f) for image, order in zip(images, orders) for f in fractions])
    repeated = np.repeat(np.asarray(targets), len(fractions))
    return _probabilities(model, batch, repeated, batch_size).reshape(len(images), len(fractions))


def area_between(curves, reference, fractions):
    """(B,) mean gap ``reference - curves`` over ``fractions`` (trapezoids / their range)."""
    f = np.asarray(fractions, dtype=float)
    return np.trapezoid(np.asarray(reference) - np.asarray(curves), f, axis=-1) / (f[-1] - f[0])


class PixelFlipping:
    """Pixel-flipping faithfulness of several methods' maps on the same cells.

    ``fit(model, images, targets, maps)`` (``maps``: ``{method: (B, H, W)}`` importance) sets
    ``curves_`` ``{method: (B, F)}``, ``random_`` (B, F), the mean over ``n_random`` random orders
    inside the cell, and ``abc_`` ``{method: (B,)}`` (:func:`area_between`).
    """

    def __init__(self, fractions=FRACTIONS, n_random=4, batch_size=64, random_state=0):
        self.fractions = fractions
        self.n_random = n_random
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, model, images, targets, maps):
        fractions = tuple(float(f) for f in self.fractions)
        if fractions[0] != 0.0 or list(fractions) != sorted(fractions) or fractions[-1] > 1:
            raise ValueError(f"pixel-flipping fractions must rise from 0 to at most 1, got {fractions}")
        rng = np.random.default_rng(self.random_state)
        masks = cell_masks(images)
        model.eval()
        runs = [flipping_curves(model, images, targets, [removal_order(rng.random(k.shape), k, rng) for k in masks],
                                fractions, self.batch_size) for _ in range(self.n_random)]
        self.random_ = np.mean(runs, axis=0)
        self.curves_ = {m: flipping_curves(model, images, targets,
                                           [removal_order(v, k, rng) for v, k in zip(np.asarray(values), masks)],
                                           fractions, self.batch_size)
                        for m, values in maps.items()}
        self.abc_ = {m: area_between(c, self.random_, fractions) for m, c in self.curves_.items()}
        return self

    def drop(self, method, fraction):
        """(B,) fall of the target probability after removing ``fraction`` of the cell by ``method``'s
        order (``method=None``: the random orders)."""
        k = list(self.fractions).index(fraction)
        curves = self.random_ if method is None else self.curves_[method]
        return curves[:, 0] - curves[:, k]
