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

Penalties read the pseudo-layer ``INPUT`` (the transformed image batch the network sees, as
lucid's ``T("input")``) or ``IMAGE`` (the parameterisation's untransformed images, which the
renderer adds) and are subtracted: ``channel(...) - 0.5 * total_variation()``. They are per-item
means over pixels, so a weight means the same whatever the image size.
"""
import numbers

import torch
import torch.nn.functional as F

from ..model.hooks import INPUT
from .quality import SATURATION_HIGH, SATURATION_LOW

IMAGE = "image"  # pseudo-layer: the untransformed images (the renderer adds them to the activations)


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


def _per_item_scale(scale, n):
    """None, a number or one positive divisor per item, as a (n,) float tensor or None."""
    if scale is None:
        return None
    scale = torch.as_tensor(scale, dtype=torch.float32).flatten()
    if scale.numel() == 1:
        scale = scale.expand(n)
    if scale.numel() != n or bool(torch.any(scale <= 0)):
        raise ValueError(f"scale must be positive, one per item ({n}), got {scale.tolist()}")
    return scale


def _pick_channels(act, index, name):
    if act.shape[0] != len(index):
        raise ValueError(f"{name}: batch of {act.shape[0]} images for {len(index)} channels")
    return act[torch.arange(len(index), device=act.device), index.to(act.device)]


def channels_batched(layer, channels, reduce="mean", scale=None):
    """Item i maximises channel ``channels[i]``: sum_i channel(layer, channels[i], batch=i).

    Computed with one gather instead of B masked objectives, so it stays cheap when B is a whole
    layer's channels. The batch size must equal ``len(channels)``. ``scale`` (one positive number
    per item, e.g. each channel's activation on its best real cell) divides item i's value, so
    that 1 means "as strong as that cell" for every channel and one penalty weight suits all.
    """
    index = torch.as_tensor(list(channels), dtype=torch.long)
    divisor = _per_item_scale(scale, len(index))

    def value(acts):
        values = _spatial_reduce(_pick_channels(acts[layer], index, "channels_batched"), reduce)
        return values if divisor is None else values / divisor.to(values.device)

    return Objective(value, [layer], f"channels_batched({layer}, {len(index)} channels)")


def channels_relative(layer, channels, eps=1e-6):
    """Item i maximises channel ``channels[i]`` *relative to the whole layer*, magnitude-free:

        mean over positions of a_c  /  (mean over positions of ||a||_channels + eps)

    in [0, 1]; 1 when only that channel fires. Making the image brighter does not pay unless it
    drives this channel more than the others (the network has no normalisation layer, so the
    plain channel objective always gains from brightness).
    """
    index = torch.as_tensor(list(channels), dtype=torch.long)

    def value(acts):
        act = acts[layer]
        picked = _pick_channels(act, index, "channels_relative")
        norm = act.norm(dim=1)
        return _spatial_reduce(picked, "mean") / (_spatial_reduce(norm, "mean") + eps)

    return Objective(value, [layer], f"channels_relative({layer}, {len(index)} channels)")


def neurons_batched(layer, channels, scale=None):
    """Item i maximises channel ``channels[i]`` at the centre position only (a localised feature:
    cells are centred objects); ``scale`` as in ``channels_batched``."""
    index = torch.as_tensor(list(channels), dtype=torch.long)
    divisor = _per_item_scale(scale, len(index))

    def value(acts):
        picked = _pick_channels(acts[layer], index, "neurons_batched")
        if picked.dim() == 3:
            h, w = picked.shape[-2:]
            picked = picked[:, h // 2, w // 2]
        return picked if divisor is None else picked / divisor.to(picked.device)

    return Objective(value, [layer], f"neurons_batched({layer}, {len(index)} channels)")


def capped(objective, cap):
    """``min(objective, cap)`` per item: no reward beyond ``cap``.

    On an objective in best-cell units (``scale``), a cap of 2 stops rewarding an image once it
    drives the channel twice as hard as any real cell: the render then only lowers the
    penalties while it stays there (minimise the penalties subject to objective >= cap), instead
    of buying ever more activation with brightness. (A soft cap, cap * tanh(x / cap), does not
    do this under Adam, which rescales the shrinking gradient back up.)
    """
    cap = float(cap)
    if cap <= 0:
        raise ValueError(f"cap must be positive, got {cap}")
    return Objective(lambda acts: torch.clamp(objective(acts), max=cap), objective.layers,
                     f"capped({objective.name}, {cap})")


def _image_of(acts, layer):
    image = acts[layer]
    if image.dim() != 4:
        raise ValueError(f"an image penalty needs a (B, C, H, W) tensor; {layer} has shape {tuple(image.shape)}")
    return image


def total_variation(layer=INPUT, power=1.0, batch=None):
    """Frequency penalty: mean |difference| ** ``power`` of neighbouring pixels, per item (subtract it).

    ``power`` 1 is the anisotropic total variation (lucid's ``total_variation`` uses the sum; this
    is the mean over pixel pairs and channels, so weights do not depend on the image size);
    ``power`` 2 is Mahendran & Vedaldi's V^2, whose gradient fades as neighbours agree (with
    Adam, a dominant power-1 penalty makes pixels hop around the median of their neighbours).
    """

    def value(acts):
        image = _image_of(acts, layer)
        dy = (image[..., 1:, :] - image[..., :-1, :]).abs()
        dx = (image[..., :, 1:] - image[..., :, :-1]).abs()
        if power != 1:
            dy, dx = dy ** power, dx ** power
        return _only_item(dx.mean(dim=(1, 2, 3)) + dy.mean(dim=(1, 2, 3)), batch)

    return Objective(value, [layer], f"total_variation({layer}, power={power})")


def box_blur(images, width=3):
    """Each channel averaged over a ``width`` x ``width`` window (edges replicated)."""
    c = images.shape[1]
    kernel = torch.full((c, 1, width, width), 1.0 / width ** 2, dtype=images.dtype, device=images.device)
    pad = width // 2
    return F.conv2d(F.pad(images, (pad, pad, pad, pad), mode="replicate"), kernel, groups=c)


def blur_penalty(layer=INPUT, width=3, batch=None):
    """Frequency penalty, lucid's ``blur_input_each_step``: 0.5 x the mean squared distance of
    the image to its own box-blurred copy (the blur is a constant: only the image moves towards
    it), per item (subtract it). Penalises the energy a ``width`` box filter removes."""

    def value(acts):
        image = _image_of(acts, layer)
        with torch.no_grad():
            blurred = box_blur(image, width)
        return _only_item(0.5 * ((image - blurred) ** 2).mean(dim=(1, 2, 3)), batch)

    return Objective(value, [layer], f"blur_penalty({layer}, {width})")


def range_penalty(low=SATURATION_LOW, high=SATURATION_HIGH, layer=IMAGE, batch=None):
    """Keep pixels out of the sigmoid's flat tails: mean over pixels of how far (in logits)
    each lies below ``low`` or above ``high``, per item (subtract it).

    In the tails the sigmoid passes almost no gradient back (x(1 - x) < 0.02), so the objective
    cannot pull a saturated pixel back, while this penalty's gradient with respect to the
    pre-sigmoid value stays 1: a pixel only enters a tail where the objective gains more than
    ``weight`` from it. Read on the untransformed images (the padding is no pixel of them).
    """
    z_low, z_high = _logit(low), _logit(high)

    def value(acts):
        z = torch.logit(_image_of(acts, layer).clamp(1e-6, 1 - 1e-6))
        return _only_item((F.relu(z_low - z) + F.relu(z - z_high)).mean(dim=(1, 2, 3)), batch)

    return Objective(value, [layer], f"range_penalty({low}, {high})")


def _logit(p):
    return float(torch.logit(torch.tensor(float(p), dtype=torch.float64)))


def L1(layer=INPUT, constant=0.0, batch=None):
    """Mean |x - constant| per item (lucid's ``L1``); on the input a brightness penalty towards
    ``constant`` (0: the data's black background)."""

    def value(acts):
        x = acts[layer]
        return _only_item((x - constant).abs().flatten(1).mean(dim=1), batch)

    return Objective(value, [layer], f"L1({layer}, {constant})")


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
