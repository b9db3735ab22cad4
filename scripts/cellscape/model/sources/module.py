"""Source ``module``: the user's own ``package.module:function`` that returns the nn.Module,
with the user's state dict."""
import importlib
import os
import sys

from torch import nn

from ..architecture import ModelError
from .state_dict import checked_state_dict, load_state_dict


def user_module(spec, arguments, path, n_channels=None):
    """``package.module:function`` called with ``arguments`` (it returns the nn.Module), with the
    state dict at ``path``. The package is imported from the run's directory or PYTHONPATH."""
    state = checked_state_dict(path, n_channels)
    module_name, _, function = spec.partition(":")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        build = getattr(importlib.import_module(module_name), function)
    except (ImportError, AttributeError) as err:
        raise ModelError(f"config model.architecture: cannot import {spec} ({err}); the package must be "
                         "importable from the directory snakemake runs in, or on PYTHONPATH")
    module = build(**arguments)
    if not isinstance(module, nn.Module):
        raise ModelError(f"config model.architecture: {spec}(**{arguments}) returned a {type(module).__name__}, "
                         "not a torch.nn.Module")
    return load_state_dict(module, path, f"{spec}({arguments})", state)
