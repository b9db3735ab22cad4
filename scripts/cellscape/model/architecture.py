"""The network's shape, computed from the config without torch.

The Snakefile needs the layer list (it drives every ``{layer}`` wildcard) and the rules need
tensor sizes to estimate memory; neither should pay for importing torch.
"""
from dataclasses import dataclass


class ArchitectureError(ValueError):
    """The configured network cannot be built for the configured image size."""


class ModelError(ArchitectureError):
    """A model file or setting that cannot serve: the message names the file and the problem."""


@dataclass(frozen=True)
class LayerShape:
    name: str
    kind: str  # "conv" or "dense"
    channels: int
    height: int
    width: int

    @property
    def size(self):
        return self.channels * self.height * self.width


def pooled(size):
    """Max-pooling 2x2 with ceil mode, as Keras' 'same' pooling in the paper."""
    return (size + 1) // 2


def layer_shapes(model_cfg, image_size, n_classes):
    """Post-activation output shape of every named layer, in forward order.

    Conv layers are named conv1..convN, dense layers dense1..denseM (the last one is the
    n_classes-way softmax). Raises ArchitectureError when a stage would pool below 1 px.
    """
    shapes = []
    size = image_size
    k = 0
    for stage, channels in enumerate(model_cfg["conv_stages"], start=1):
        if not channels:
            raise ArchitectureError(f"model.conv_stages[{stage - 1}] is empty")
        if size < 2:
            raise ArchitectureError(
                f"model.conv_stages: stage {stage} would pool a {size}x{size} px feature map "
                f"below 1 px (image_size {image_size} allows at most "
                f"{max_pool_stages(image_size)} stages)")
        for c in channels:
            k += 1
            shapes.append(LayerShape(f"conv{k}", "conv", int(c), size, size))
        size = pooled(size)
    for j, units in enumerate(list(model_cfg["dense"]) + [n_classes], start=1):
        shapes.append(LayerShape(f"dense{j}", "dense", int(units), 1, 1))
    return shapes


def max_pool_stages(image_size):
    n, size = 0, image_size
    while size >= 2:
        size = pooled(size)
        n += 1
    return n


def flat_size(model_cfg, image_size):
    """Length of the flattened tensor entering dense1."""
    size = image_size
    for _ in model_cfg["conv_stages"]:
        size = pooled(size)
    return model_cfg["conv_stages"][-1][-1] * size * size


def layer_names(model_cfg, image_size, n_classes):
    return [s.name for s in layer_shapes(model_cfg, image_size, n_classes)]


def _kind_and_number(name):
    kind = name.rstrip("0123456789")
    number = name[len(kind):]
    if kind not in ("conv", "dense") or not number:
        raise ArchitectureError(f"{name!r} is not a layer name (conv<k> or dense<k>)")
    return kind, int(number)


def _kinds(layers):
    """{layer: kind} of the paper network's layers, named conv<k> / dense<k>."""
    return {name: _kind_and_number(name)[0] for name in layers}


def resolve_layer(requested, layers, key, notes=None, kinds=None, paths=None):
    """The project's one policy for a configured layer the network lacks.

    ``requested`` if ``layers`` has it (or, with ``paths`` {layer: module path}, names one's
    module path), else for ``conv<k>`` / ``dense<k>`` the layer of the same kind with the
    nearest number (conv9 of a six-conv-layer network -> conv6; ties: the shallower); in a
    network from elsewhere (``kinds`` {layer: kind}; conv: a 4-D output, dense: a 2-D one) the
    k-th layer of that kind, or its deepest. So a setting written for the paper's network still
    works on another. The
    substitution is appended to ``notes`` (the Snakefile prints them at planning, naming the
    config ``key``). A kind the network has no layer of is an ArchitectureError.
    """
    if requested in layers:
        return requested
    by_path = {path: layer for layer, path in (paths or {}).items()}
    if requested in by_path:
        return by_path[requested]
    try:
        kind, number = _kind_and_number(requested)
    except ArchitectureError:
        raise ArchitectureError(f"config {key}: {requested} is not a layer name (conv<k>, dense<k> or a layer of "
                                f"the network: {', '.join(layers)})")
    named = kinds is None  # the paper network: conv<k> is its k-th conv layer by name
    kinds = kinds or _kinds(layers)
    same_kind = [name for name in layers if kinds[name] == kind]
    if not same_kind:
        raise ArchitectureError(f"config {key}: {requested} is not a layer of the network, which has no "
                                f"{kind} layers ({', '.join(layers)})")
    if named:  # the nearest number (ties: the shallower)
        chosen = min(same_kind, key=lambda name: (abs(_kind_and_number(name)[1] - number), _kind_and_number(name)[1]))
    else:
        chosen = same_kind[min(number, len(same_kind)) - 1]
    if notes is not None:
        notes.append(f"config {key}: the network has no layer {requested} ({', '.join(layers)}); using {chosen}")
    return chosen


def parameter_count(model_cfg, image_size, n_classes, in_channels=2):
    """Trainable parameters of the network (weights and biases), without building it."""
    total, c_in = 0, in_channels
    for stage in model_cfg["conv_stages"]:
        for c in stage:
            total += c_in * c * 9 + c
            c_in = c
    d_in = flat_size(model_cfg, image_size)
    for units in list(model_cfg["dense"]) + [n_classes]:
        total += d_in * units + units
        d_in = units
    return total
