"""The network at its random initialisation: the control every probe of a trained layer needs
(how much of a cell feature any network of this shape already encodes, before it learnt anything).

The paper's network is rebuilt as training started it (``torch.manual_seed(seed)`` then
``build_model``: the draw ``training.fit`` makes), so the control is this run's own starting
point. A network from elsewhere has no known starting point: each layer is re-drawn as an
initialisation would (He normal kernels, zero biases; normalisation scales stay), from a generator
seeded with ``seed``.
"""
import torch

from ..attribution.randomisation import randomise_layer
from .loading import load_network
from .network import build_model


def initial_network(weights_path, network, seed, device="cpu"):
    """The network of a rule's ``network`` param (its architecture and input width from the weights
    at ``weights_path``) at its seeded random initialisation, in eval mode."""
    model = load_network(weights_path, network, device)
    if network.get("source", "train") == "train":
        torch.manual_seed(int(seed))
        fresh = build_model(network["model"], network["image_size"], network["n_outputs"], model.in_channels)
        return fresh.to(device).eval()
    generator = torch.Generator().manual_seed(int(seed))
    model = model.cpu()
    for name in model.layer_names:
        randomise_layer(model, name, generator)
    return model.to(device).eval()
