"""Source ``train``: the paper's network as this workflow trained it, rebuilt from the config
with its saved weights (a state dict, read with ``weights_only=True``)."""
import torch

from ..network import build_model


def state_in_channels(state_dict):
    """The input channels of a saved CellNet: the first convolution's kernel depth (the image
    set's channel count when it was trained)."""
    return next(v for v in state_dict.values() if v.ndim == 4).shape[1]


def load_model(weights_path, model_cfg, image_size, n_classes, device="cpu"):
    """Rebuild the network from the config and load trained weights (weights only, safe); the
    input width is the weights' own."""
    state = torch.load(weights_path, map_location=device, weights_only=True)
    model = build_model(model_cfg, image_size, n_classes, state_in_channels(state))
    model.load_state_dict(state)
    return model.to(device).eval()


def inference_model(state_dict, model_cfg, image_size, n_outputs, device="cpu", channels_last=False):
    """The network with ``state_dict`` in eval mode for prediction passes; ``channels_last`` as
    in training (a float32 forward pass is ~1.4x faster that way on CPU: docs/performance.md)."""
    model = build_model(model_cfg, image_size, n_outputs, state_in_channels(state_dict))
    model.load_state_dict(state_dict)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model.to(device).eval()
