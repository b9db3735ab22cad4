"""A network trained elsewhere as the workflow sees the paper's (:class:`ConfiguredModel`): it
takes the image set's channels, puts them in the model's order and normalisation, and names its
layers by alias (``layer1_1_relu`` -> ``layer1.1.relu``), so every later stage reads it through
the one hook helper (``hooks.capture_activations``) as it reads the paper's network.
"""
import copy

import torch
from torch import nn

from .sources import open_network
from .taps import submodule, torchscript_regions, torchscript_taps


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
        if self.recipe is not None:
            inner = open_network(*self.recipe)
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
    inner = open_network(network["source"], path, network.get("architecture"), network.get("arguments"),
                         len(network["channels"]))
    model = ConfiguredModel(inner, network["source"], network["channels"], network["mean"], network["std"],
                            network["layers"], network.get("calls"), network["image_size"], network["n_outputs"],
                            network.get("image_channels", 2))
    model.recipe = (network["source"], str(path), network.get("architecture"), network.get("arguments"),
                    len(network["channels"]))
    return model.to(device).eval()
