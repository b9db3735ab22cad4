"""What a feature image should maximise, as composable objects (lucid's ``optvis/objectives.py``).

An ``Objective`` wraps a function of the hooked activations ``{layer: tensor}`` ((B, C, H, W)
for conv layers, (B, D) for dense layers) and knows which layers it reads, so the renderer can
hook exactly those and stop the forward pass after the deepest one. Higher is better: the
renderer *maximises* the objective.

Values are per batch item, shape (B,): an objective aimed at one batch item (``batch=i``) is
zero for the others, so ``sum_i channel(layer, c_i, batch=i)`` optimises B channels in a single
batched run and the renderer can still watch each item converge. Objectives add and scale like
numbers: ``a + 0.5 * b``, ``-a``, ``a - b``. A scalar (whole-batch) value combined with a
per-item value is spread evenly over the items so that sums are preserved.
"""
import numbers

import torch


def _combine(x, y):
    """x + y where either may be a per-item (B,) vector or a whole-batch scalar."""
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.dim() == 1 and y.dim() == 0:
        y = y / x.shape[0]
    elif x.dim() == 0 and y.dim() == 1:
        x = x / y.shape[0]
    return x + y


class Objective:
    """A function of the activations dict returning a (B,) vector or a scalar."""

    def __init__(self, fn, layers=(), name="objective"):
        self.fn = fn
        self.layers = frozenset(layers)
        self.name = name

    def __call__(self, activations):
        return self.fn(activations)

    def __repr__(self):
        return f"Objective({self.name})"

    def __add__(self, other):
        if isinstance(other, numbers.Number):
            return Objective(lambda acts: _combine(self(acts), float(other)), self.layers,
                             f"{self.name} + {other}")
        if isinstance(other, Objective):
            return Objective(lambda acts: _combine(self(acts), other(acts)),
                             self.layers | other.layers, f"{self.name} + {other.name}")
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, numbers.Number) and other == 0:  # lets sum() work
            return self
        return self.__add__(other)

    def __mul__(self, factor):
        if not isinstance(factor, numbers.Number):
            return NotImplemented
        return Objective(lambda acts: float(factor) * self(acts), self.layers,
                         f"{factor} * ({self.name})")

    __rmul__ = __mul__

    def __truediv__(self, divisor):
        if not isinstance(divisor, numbers.Number):
            return NotImplemented
        return self * (1.0 / divisor)

    def __neg__(self):
        return -1.0 * self

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other


def _only_item(values, batch):
    """Keep item ``batch`` of a (B,) vector and zero the rest (None keeps all)."""
    if batch is None:
        return values
    mask = torch.zeros_like(values)
    mask[batch] = 1.0
    return values * mask


def _spatial_reduce(maps, reduce):
    """(B, H, W) or (B,) -> (B,) by mean or sum over positions."""
    if maps.dim() == 1:
        return maps
    if reduce == "mean":
        return maps.mean(dim=(-2, -1))
    if reduce == "sum":
        return maps.sum(dim=(-2, -1))
    raise ValueError(f"reduce must be 'mean' or 'sum', got {reduce!r}")


def channel(layer, c, batch=None, reduce="mean"):
    """Mean (or sum) activation of channel / unit ``c`` of ``layer``; dense layers: the unit."""

    def value(acts):
        return _only_item(_spatial_reduce(acts[layer][:, c], reduce), batch)

    return Objective(value, [layer], f"channel({layer}:{c}, batch={batch})")


def channels_batched(layer, channels, reduce="mean"):
    """Item i maximises channel ``channels[i]``: sum_i channel(layer, channels[i], batch=i).

    Computed with one gather instead of B masked objectives, so it stays cheap when B is a whole
    layer's channels. The batch size must equal ``len(channels)``.
    """
    index = torch.as_tensor(list(channels), dtype=torch.long)

    def value(acts):
        act = acts[layer]
        if act.shape[0] != len(index):
            raise ValueError(f"channels_batched: batch of {act.shape[0]} images for "
                             f"{len(index)} channels")
        picked = act[torch.arange(len(index), device=act.device), index.to(act.device)]
        return _spatial_reduce(picked, reduce)

    return Objective(value, [layer], f"channels_batched({layer}, {len(index)} channels)")


def neuron(layer, c, x=None, y=None, batch=None):
    """Activation of channel ``c`` at one position (the centre by default); dense: the unit."""

    def value(acts):
        act = acts[layer]
        if act.dim() == 2:
            if x is not None or y is not None:
                raise ValueError(f"neuron: {layer} is a dense layer and has no (x, y) positions")
            return _only_item(act[:, c], batch)
        h, w = act.shape[-2:]
        return _only_item(act[:, c, h // 2 if y is None else y, w // 2 if x is None else x], batch)

    return Objective(value, [layer], f"neuron({layer}:{c}, x={x}, y={y}, batch={batch})")


def direction(layer, weights, batch=None, cosine=False, cosine_power=1.0, min_cosine=0.1):
    """Weighted sum of channels at each position, averaged over positions.

    With ``cosine`` the dot product at each position is multiplied by
    max(cos(activation, weights), min_cosine) ** cosine_power, as lucid's activation-atlas
    direction objectives: it rewards pointing *along* the direction rather than just being
    large. Dense layers have one position.
    """
    w = torch.as_tensor(weights, dtype=torch.float32).flatten()

    def value(acts):
        act = acts[layer]
        vec = w.to(act.device, act.dtype)
        shape = (1, -1) + (1,) * (act.dim() - 2)
        dot = (act * vec.view(shape)).sum(dim=1)  # (B, H, W) or (B,)
        if cosine:
            cos = dot / (act.norm(dim=1) * vec.norm() + 1e-6)
            dot = dot * cos.clamp(min=min_cosine) ** cosine_power
        return _only_item(_spatial_reduce(dot, "mean"), batch)

    return Objective(value, [layer], f"direction({layer}, cosine={cosine}, batch={batch})")


def diversity(layer):
    """Reward batch items for differing in style: minus their Gram-matrix similarity.

    Item i gets -sum_{j != i} <G_i, G_j> / B with G the L2-normalised channel Gram matrix, so
    ``objective + k * diversity(layer)`` spreads a batch over different facets of a feature.
    (lucid's ``diversity`` returns the similarity itself and is subtracted.)
    """

    def value(acts):
        act = acts[layer]
        b, c = act.shape[:2]
        flat = act.reshape(b, c, -1)
        grams = flat @ flat.transpose(1, 2)
        grams = grams / (grams.flatten(1).norm(dim=1).view(b, 1, 1) + 1e-10)
        similarity = grams.flatten(1) @ grams.flatten(1).T  # (B, B)
        off_diagonal = similarity.sum(dim=1) - similarity.diagonal()
        return -off_diagonal / b

    return Objective(value, [layer], f"diversity({layer})")
