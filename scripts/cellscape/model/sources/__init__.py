"""Where a network comes from (config ``model.source``), one module per source: ``train`` (the
paper's network as this workflow trained it), and the networks trained elsewhere: ``torchvision``,
``module`` (the user's own), ``exported`` (torch.export) and ``torchscript``.

:func:`open_network` opens a network trained elsewhere as it is (no channel order, no
normalisation, no layer names: ``model.adapter`` adds those); ``model.loading.load_network`` is
the one entrance for every source.
"""
from ..architecture import ModelError
from .exported import exported_model
from .module import user_module
from .torchscript import torchscript_model
from .torchvision import torchvision_model


def open_network(source, path, architecture=None, arguments=None, n_channels=2):
    """The network of ``source`` (trained elsewhere) from ``path``, in eval mode on the CPU."""
    arguments = arguments or {}
    if source == "exported":
        module = exported_model(path)
    elif source == "torchscript":
        module = torchscript_model(path)
    elif source == "torchvision":
        module = torchvision_model(architecture, arguments, n_channels, path)
    elif source == "module":
        module = user_module(architecture, arguments, path, n_channels)
    else:
        raise ModelError(f"config model.source: {source!r} is not a source of a network trained elsewhere")
    return module.eval()
