"""The one way into the model stage: ``load_network(weights, network)`` for every source.

``network`` is the rules' param (``model.spec``). The paper's network (source ``train``) is
rebuilt from the config with its weights (``sources.train``); a network from elsewhere is opened
by its source's module (``sources``) and wrapped in the adapter (``adapter.ConfiguredModel``).
State dicts load with ``weights_only=True``; nothing is downloaded.
"""
from .adapter import load_configured
from .sources.train import load_model


def load_network(weights_path, network, device="cpu"):
    """The classifier of a rule's ``network`` param, whatever its source, in eval mode."""
    if network.get("source", "train") == "train":
        return load_model(weights_path, network["model"], network["image_size"], network["n_outputs"], device=device)
    return load_configured(weights_path, network, device)
