"""The network at its random initialisation: the control every probe of a trained layer needs
(how much of a cell feature any network of this shape already encodes, before it learnt anything).

The paper's network is rebuilt as training started it (``torch.manual_seed(seed)`` then
``build_model``: the draw ``training.fit`` makes), so the control is this run's own starting
point. A network from elsewhere has no known starting point: each layer is re-drawn as an
initialisation would (He normal kernels, zero biases; normalisation scales stay), from a generator
seeded with ``seed``.
"""
import torch
from torch import nn

from .loading import load_network
from .network import build_model


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
