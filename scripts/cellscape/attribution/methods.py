"""Pixel attribution of the classifier's decision (beyond the paper), with its sanity check.

Saliency (|d logit / d pixel|) and integrated gradients (Sundararajan et al. 2017; path from a
black image) come from captum. An attribution map is only informative if it depends on what
the network learned: Adebayo et al. (2018, "Sanity checks for saliency maps") re-initialise
the layers one after another from the top (cascading randomisation) and measure how similar
the maps stay (Spearman rank correlation of the absolute maps). A method whose maps survive
randomisation shows the image, not the model. No I/O here.
"""
import copy

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

METHODS = ("saliency", "integrated_gradients")


def _batch(model, images):
    device = next(model.parameters()).device
    return torch.as_tensor(np.asarray(images, dtype=np.float32), device=device)


def attribute(model, images, targets, method="saliency", n_steps=32):
    """Attributions (B, C, H, W) of ``targets`` (class per image) to the input pixels.

    Saliency is the absolute input gradient of the target logit; integrated gradients are
    signed, along the straight path from an all-zero (background) image.
    """
    from captum.attr import IntegratedGradients, Saliency
    model.eval()
    x = _batch(model, images).requires_grad_(True)
    target = torch.as_tensor(np.array(targets), dtype=torch.long, device=x.device)
    if method == "saliency":
        result = Saliency(model).attribute(x, target=target, abs=True)
    elif method == "integrated_gradients":
        result = IntegratedGradients(model).attribute(x, baselines=0.0, target=target, n_steps=n_steps,
                                                      internal_batch_size=n_steps)
    else:
        raise ValueError(f"unknown attribution method {method!r}; choose from {METHODS}")
    return result.detach().cpu().numpy().astype(np.float32)


def importance(attributions):
    """Per-pixel importance (B, H, W): absolute attribution summed over the image channels."""
    return np.abs(np.asarray(attributions, dtype=np.float32)).sum(axis=1)


def rank_similarity(a, b, masks=None):
    """Spearman rank correlation of each pair of maps (B, H, W) x (B, H, W) -> (B,); 0 if constant.

    With ``masks`` (B, H, W) bool only the pixels inside each mask are compared.
    """
    out = np.zeros(len(a))
    for i, (x, y) in enumerate(zip(np.asarray(a), np.asarray(b))):
        keep = np.ones(x.shape, dtype=bool) if masks is None else np.asarray(masks[i], dtype=bool)
        x, y = x[keep], y[keep]
        if len(x) > 1 and np.ptp(x) > 0 and np.ptp(y) > 0:
            out[i] = spearmanr(x, y).statistic
    return out


def weighted_layers(model):
    """Names of the model's layers with weights, top (output) first: the cascade's order."""
    return list(reversed(model.layer_names))


def randomise_layer(model, name, generator):
    """Re-draw layer ``name``'s weights as at initialisation (He normal, zero bias), in place.
    A network from elsewhere (``stage_parameters``): every kernel and bias from the layer below
    up to this one (a block's normalisation scales stay)."""
    if hasattr(model, "stage_parameters"):
        for parameter_name, parameter in model.stage_parameters()[name]:
            with torch.no_grad():
                if parameter.dim() >= 2:
                    nn.init.kaiming_normal_(parameter, nonlinearity="relu", generator=generator)
                elif parameter_name.endswith("bias"):
                    nn.init.zeros_(parameter)
        return
    for module in model.layer(name).modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
                nn.init.zeros_(module.bias)


class CascadingRandomisation:
    """Adebayo et al.'s cascading model-randomisation test for one attribution method.

    ``fit(model, images, targets)`` (the model is copied, never changed) records the
    importance maps of the trained model and after re-initialising each layer in turn from
    the top, keeping the earlier ones randomised. Attributes: ``layers_`` (randomised so far
    at each stage: "none", then layer names), ``maps_`` (stages, B, H, W), ``spearman_``
    (stages, B): rank correlation of each stage's maps with the trained model's over the whole
    image, and ``spearman_cell_`` the same inside the cell only (pixels where any image channel
    is non-zero). The second matters for methods that multiply by the input (integrated
    gradients from a black baseline): they are zero on a zero background whatever the weights,
    which alone keeps the whole-image correlation high.
    """

    def __init__(self, method="saliency", n_steps=32, random_state=0):
        self.method = method
        self.n_steps = n_steps
        self.random_state = random_state

    def fit(self, model, images, targets):
        randomised = copy.deepcopy(model).eval()
        generator = torch.Generator().manual_seed(int(self.random_state))
        device = next(randomised.parameters()).device
        stages, maps = ["none"], [self._maps(randomised, images, targets)]
        for name in weighted_layers(randomised):
            randomise_layer(randomised.cpu(), name, generator)
            randomised.to(device)
            stages.append(name)
            maps.append(self._maps(randomised, images, targets))
        self.layers_ = stages
        self.maps_ = np.stack(maps)
        self.spearman_ = np.stack([rank_similarity(maps[0], m) for m in maps])
        inside = np.abs(np.asarray(images)).sum(axis=1) > 0
        self.spearman_cell_ = np.stack([rank_similarity(maps[0], m, inside) for m in maps])
        return self

    def _maps(self, model, images, targets):
        return importance(attribute(model, images, targets, self.method, self.n_steps))
