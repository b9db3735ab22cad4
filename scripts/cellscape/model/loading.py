"""Every classifier the workflow explores, loaded one way: ``load_network(weights, network)``.

``network`` is the rules' param (``model.spec``). The paper's network is rebuilt from the config
(``network.load_model``). A network from elsewhere (``source``: a torch.export ``.pt2``, a
TorchScript file, a torchvision architecture or the user's own module with a state dict) is
wrapped in :class:`ConfiguredModel`: it takes the image set's channels, puts them in the model's
order and normalisation, and names its layers by alias (``layer1_1_relu`` -> ``layer1.1.relu``),
so every later stage reads it through the one hook helper (``hooks.capture_activations``) as
it reads the paper's network. State dicts load with ``weights_only=True``; nothing is downloaded.
"""
import importlib
import os
import sys
import warnings

import torch
from torch import nn

from .architecture import ArchitectureError
from .taps import torchscript_regions, torchscript_taps


class ModelError(ArchitectureError):
    """A model file or setting that cannot serve: the message names the file and the problem."""


def _state_dict(path):
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


def submodule(module, path):
    """The submodule at ``path`` (get_submodule, which TorchScript modules refuse)."""
    for part in filter(None, path.split(".")):
        module = getattr(module, part)
    return module


def _checked_state(path, n_channels=None):
    """The state dict at ``path``, its first convolution checked against the image set's channels
    (before torchvision is imported or the network built: a mismatch is reported at once)."""
    state = _state_dict(path)
    kernels = [(name, value) for name, value in state.items() if getattr(value, "dim", lambda: 0)() == 4]
    if n_channels is not None and kernels and kernels[0][1].shape[1] != n_channels:
        name, value = kernels[0]
        raise ModelError(f"{path}: the state dict's first convolution ({name}) takes {value.shape[1]} input channels "
                         f"and the image set gives {n_channels} (model.input.channels): list {value.shape[1]} "
                         "channels there (they may repeat) or give weights for " + str(n_channels))
    return state


def _load_state(module, path, described, state):
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        detail = " ".join(str(err).split())
        raise ModelError(f"{path}: the state dict does not fit {described}: {detail[:1500]}")
    return module


def torchvision_model(name, arguments, n_channels, path):
    """torchvision architecture ``name`` built with ``arguments`` (no weights downloaded), its
    first convolution taking ``n_channels``, with the state dict at ``path``."""
    state = _checked_state(path, n_channels)
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
    return _load_state(with_input_channels(module, n_channels), path, f"torchvision's {name}({arguments})", state)


def user_module(spec, arguments, path, n_channels=None):
    """``package.module:function`` called with ``arguments`` (it returns the nn.Module), with the
    state dict at ``path``. The package is imported from the run's directory or PYTHONPATH."""
    state = _checked_state(path, n_channels)
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
    return _load_state(module, path, f"{spec}({arguments})", state)


def exported_model(path):
    """The module hierarchy of a torch.export program (``torch.export.unflatten``), whose
    submodules keep their paths and take forward hooks; its batch dimension must be dynamic."""
    try:
        program = torch.export.load(path)
    except Exception as err:
        raise ModelError(f"{path}: not a torch.export program torch.export.load can read ({err})")
    inputs = [node for node in program.graph.nodes
              if node.op == "placeholder" and node.name in program.graph_signature.user_inputs]
    if len(inputs) != 1:
        raise ModelError(f"{path}: the exported program takes {len(inputs)} inputs; the workflow feeds one image batch")
    shape = inputs[0].meta["val"].shape
    if isinstance(shape[0], int):
        raise ModelError(f"{path}: exported with a static batch dimension ({shape[0]}); the workflow runs "
                         "batches of any size: export with dynamic_shapes={'x': {0: torch.export.Dim('batch')}}")
    return torch.export.unflatten(program)


def torchscript_model(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in torch 2.14, and still loads
        try:
            return torch.jit.load(path, map_location="cpu")
        except Exception as err:
            raise ModelError(f"{path}: not a TorchScript file torch.jit.load can read ({err})")


def load_inner(source, path, architecture=None, arguments=None, n_channels=2):
    """The network of ``source`` from ``path`` (eval mode, on the CPU)."""
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


class ConfiguredModel(nn.Module):
    """A network from elsewhere as the workflow sees the paper's: image-set channels in
    (``in_channels`` of them, ``image_size`` px), logits out, layers named by alias.

    ``channels``: the image-set channel each model input channel takes (model.input.channels);
    ``mean``/``std``: the model's input normalisation (None: the image set's values as they are);
    ``layers``: {alias: module path} (or [alias, path] pairs) in forward order; ``calls``: {alias: calls of the module in one forward pass}
    (a hook keeps the last).
    """

    clone_outputs = True  # in-place ops of a foreign network may overwrite a hooked output

    def __init__(self, inner, source, channels, mean, std, layers, calls, image_size, n_outputs, image_channels=2):
        super().__init__()
        self.inner = inner
        self.source = source
        self.layer_paths = dict(layers)  # in forward order
        self.layer_names = list(self.layer_paths)
        self.calls = dict(calls or {})
        self.in_channels = image_channels  # what the workflow feeds: the image set's channels
        self.image_size = image_size
        self.n_outputs = n_outputs
        self.channel_index = list(channels)
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1) if mean else None)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1) if std else None)
        self._taps = {}
        self.recipe = None  # (source, path, architecture, arguments, channels) when loaded from a file

    def prepare(self, x):
        """The image batch in the model's channel order and input normalisation."""
        if self.channel_index != list(range(x.shape[1])):
            x = x[:, self.channel_index]
        if self.mean is not None:
            x = x - self.mean.to(x.dtype)
        if self.std is not None:
            x = x / self.std.to(x.dtype)
        return x

    def forward(self, x):
        return self.inner(self.prepare(x))

    @property
    def hookable(self):
        return not isinstance(self.inner, torch.jit.ScriptModule)

    def layer(self, name):
        """The module whose output is layer ``name`` (alias or module path)."""
        path = self.layer_paths.get(name, name)
        return submodule(self.inner, path)

    def layer_calls(self, name):
        return self.calls.get(name, 1)

    def tapped_forward(self, x, names):
        """(logits, {name: output}) of a TorchScript network (graph taps; see ``torchscript_taps``)."""
        paths = tuple(self.layer_paths.get(name, name) for name in names)
        if paths not in self._taps:
            self._taps[paths] = torchscript_taps(self.inner, paths)
        out = self._taps[paths](self.inner._c, self.prepare(x))
        return out[0], dict(zip(names, out[1:]))

    def stage_parameters(self):
        """{layer: [(name, parameter)]}: each parameter under the first layer (forward order) whose
        output its module's first call precedes (the deepest layer when none does), so
        randomising the layers from the top re-draws everything between two layers at once."""
        paths = [self.layer_paths[name] for name in self.layer_names]
        if self.hookable:
            order = []
            handles = [m.register_forward_hook(lambda m, i, o, path=path: order.append(path))
                       for path, m in self.inner.named_modules() if path]
            try:
                with torch.no_grad():
                    self(torch.zeros(1, self.in_channels, self.image_size, self.image_size,
                                     device=next(self.parameters()).device))
            finally:
                for handle in handles:
                    handle.remove()
            first = {}
            for k, path in enumerate(order):
                first.setdefault(path, k)
            last = {path: len(order) - 1 - order[::-1].index(path) for path in set(order)}
        else:
            regions, _ = torchscript_regions(self.inner)
            first = last = {path: k for k, path in enumerate(regions)}
        ends = [last.get(path, len(first)) for path in paths]
        stages = {name: [] for name in self.layer_names}
        for name, param in self.inner.named_parameters():
            owner = name.rpartition(".")[0]
            while owner and owner not in first:
                owner = owner.rpartition(".")[0]
            at = first.get(owner, 0)
            layer = next((self.layer_names[k] for k, end in enumerate(ends) if end >= at), self.layer_names[-1])
            stages[layer].append((name, param))
        return stages

    def __deepcopy__(self, memo):
        """A copy with its own weights (the attribution check randomises one): loaded again
        from its file with this model's weights (torch.export's unflattened modules hold graphs
        with symbolic shapes, which deepcopy refuses); the tap functions of a TorchScript network
        are rebuilt on demand."""
        import copy
        if self.recipe is not None:
            inner = load_inner(*self.recipe)
            inner.load_state_dict(self.inner.state_dict())
            inner.to(next(self.inner.parameters()).device)
        else:
            inner = copy.deepcopy(self.inner, memo)
        clone = ConfiguredModel(inner, self.source, self.channel_index, None, None, self.layer_paths, self.calls,
                                self.image_size, self.n_outputs)
        clone.mean, clone.std = copy.deepcopy(self.mean, memo), copy.deepcopy(self.std, memo)
        clone.recipe = self.recipe
        return clone.train(self.training)

    @torch.no_grad()
    def predict_proba(self, x):
        return torch.softmax(self(x), dim=1)


def load_configured(path, network, device="cpu"):
    """A :class:`ConfiguredModel` from a rule's ``network`` param (``model.spec``)."""
    inner = load_inner(network["source"], path, network.get("architecture"), network.get("arguments"),
                       len(network["channels"]))
    model = ConfiguredModel(inner, network["source"], network["channels"], network["mean"], network["std"],
                            network["layers"], network.get("calls"), network["image_size"], network["n_outputs"],
                            network.get("image_channels", 2))
    model.recipe = (network["source"], str(path), network.get("architecture"), network.get("arguments"),
                    len(network["channels"]))
    return model.to(device).eval()


def load_network(weights_path, network, device="cpu"):
    """The classifier of a rule's ``network`` param, whatever its source, in eval mode."""
    if network.get("source", "train") == "train":
        from .network import load_model
        return load_model(weights_path, network["model"], network["image_size"], network["n_outputs"], device=device)
    return load_configured(weights_path, network, device)
