"""Source ``torchscript``: a TorchScript file; its modules refuse forward hooks, so its layers
are read through graph taps (``model.taps``)."""
import warnings

import torch

from ..architecture import ModelError


def torchscript_model(path):
    """The TorchScript module at ``path``, on the CPU."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in torch 2.14, and still loads
        try:
            return torch.jit.load(path, map_location="cpu")
        except Exception as err:
            raise ModelError(f"{path}: not a TorchScript file torch.jit.load can read ({err})")
