"""Source ``torchvision``: a torchvision architecture built by name (no weights downloaded) with
the user's state dict, its first convolution widened or narrowed to the image set's channels."""
from torch import nn

from ..architecture import ModelError
from .state_dict import checked_state_dict, load_state_dict


def first_conv(module):
    """(path, nn.Conv2d) of the first convolution in ``module``'s module order, or (None, None)."""
    for path, child in module.named_modules():
        if isinstance(child, nn.Conv2d):
            return path, child
    return None, None


def with_input_channels(module, n_channels):
    """``module`` with its first convolution taking ``n_channels`` (a torchvision architecture
    is built for 3): a fresh convolution of the same geometry, whose weights the state dict sets."""
    path, conv = first_conv(module)
    if conv is None or conv.in_channels == n_channels:
        return module
    groups = conv.groups if n_channels % conv.groups == 0 else 1
    new = nn.Conv2d(n_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation,
                    groups, conv.bias is not None, conv.padding_mode)
    parent, _, name = path.rpartition(".")
    setattr(module.get_submodule(parent) if parent else module, name, new)
    return module


def torchvision_model(name, arguments, n_channels, path):
    """torchvision architecture ``name`` built with ``arguments`` (no weights downloaded), its
    first convolution taking ``n_channels``, with the state dict at ``path``."""
    state = checked_state_dict(path, n_channels)
    import torchvision
    try:
        builder = torchvision.models.get_model_builder(name)
    except ValueError:
        raise ModelError(f"config model.architecture: {name!r} is not a torchvision architecture "
                         f"(e.g. {', '.join(sorted(torchvision.models.list_models(torchvision.models))[:8])}...)")
    try:
        module = builder(weights=None, **arguments)
    except TypeError as err:
        raise ModelError(f"config model.arguments {arguments}: torchvision's {name} does not take them ({err})")
    return load_state_dict(with_input_channels(module, n_channels), path, f"torchvision's {name}({arguments})", state)
