"""State dicts of a network built elsewhere (torchvision, the user's module): read safely
(``weights_only=True``), checked against the image set before the network is built, loaded
with an error that names the file."""
import torch

from ..architecture import ModelError


def read_state_dict(path):
    """The parameter dict at ``path``, unwrapped from a training checkpoint's usual keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ModelError(f"{path}: not a state dict torch.load(weights_only=True) can read ({err})")
    for key in ("state_dict", "model"):  # a training checkpoint's usual wrappers
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise ModelError(f"{path}: holds a {type(state).__name__}, not a state dict (parameter name -> tensor)")
    return state


def checked_state_dict(path, n_channels=None):
    """The state dict at ``path``, its first convolution checked against the image set's channels
    (before torchvision is imported or the network built: a mismatch is reported at once)."""
    state = read_state_dict(path)
    kernels = [(name, value) for name, value in state.items() if getattr(value, "dim", lambda: 0)() == 4]
    if n_channels is not None and kernels and kernels[0][1].shape[1] != n_channels:
        name, value = kernels[0]
        raise ModelError(f"{path}: the state dict's first convolution ({name}) takes {value.shape[1]} input channels "
                         f"and the image set gives {n_channels} (model.input.channels): list {value.shape[1]} "
                         "channels there (they may repeat) or give weights for " + str(n_channels))
    return state


def load_state_dict(module, path, described, state):
    """``module`` with ``state`` (read from ``path``) loaded; ``described`` names the module in the error."""
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise ModelError(f"{path}: the state dict does not fit {described}: {detail[:1500]}")
    return module
