"""Activation filtering (Webb et al. 2018, section IV.C).

A feature image shows the pattern a channel likes *and* surrounding clutter the channel ignores.
Filtering multiplies the image's brightness by the channel's own activation map (upscaled to the
image with Lanczos interpolation, normalised to [0, 1]), keeping only the parts that drive it.
As feedback, the Pearson correlation between the channel's activation maps for the filtered
and the unfiltered image tells whether the filtered image still drives the channel the same way
(a low value flags filtering that lost the feature).

``FilteredView`` puts the same filter into the render, as a robustness transform: the images are
drawn so that what survives filtering still drives the channel (docs/featvis.md, "Float32").
"""
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..model.hooks import capture_activations, frozen_eval


def upscale_lanczos(maps, height, width):
    """Resize (B, h, w) float maps to (B, height, width) with Lanczos (PIL mode 'F')."""
    maps = np.asarray(maps, dtype=np.float32)
    out = np.empty((len(maps), height, width), dtype=np.float32)
    for i, m in enumerate(maps):
        out[i] = np.asarray(Image.fromarray(m).resize((width, height), Image.Resampling.LANCZOS))
    return out


def normalise_maps(maps):
    """Scale each map to [0, 1] by its own min and max; a constant map becomes all ones."""
    maps = np.asarray(maps, dtype=np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    flat = span <= 1e-12
    return np.where(flat, 1.0, (maps - low) / np.where(flat, 1.0, span)).astype(np.float32)


def filter_by_maps(images, maps):
    """Multiply every channel of image i by map i: (B, C, H, W) x (B, H, W) -> (B, C, H, W)."""
    images = np.asarray(images, dtype=np.float32)
    return np.clip(images * np.asarray(maps, dtype=np.float32)[:, None], 0.0, 1.0)


def pearson_rows(a, b):
    """Pearson correlation of each row pair of (B, N) arrays; 0 where a row is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    r = np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)
    return np.clip(r, -1.0, 1.0)


def channel_maps(model, layer, channels, images, device=None, truncate=True):
    """Activation map of channel ``channels[i]`` of a conv ``layer`` for image i: (B, h, w)."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    x = torch.as_tensor(np.asarray(images, dtype=np.float32), device=device)
    index = torch.as_tensor(list(channels), dtype=torch.long, device=device)
    if len(index) != len(x):
        raise ValueError(f"{len(x)} images for {len(index)} channels")
    with torch.no_grad(), frozen_eval(model), capture_activations(model, [layer], truncate) as run:
        act = run(x)[layer]
    if act.dim() != 4:
        raise ValueError(f"activation filtering needs a conv layer; {layer} has shape {tuple(act.shape)}")
    return act[torch.arange(len(x), device=device), index].cpu().numpy()


def activation_filter(model, layer, channels, images, device=None):
    """Filter image i by channel ``channels[i]``'s activation map.

    Returns ``(filtered, feedback)``: (B, C, H, W) float32 images in [0, 1] and the per-channel
    Pearson correlation in [-1, 1] between the channel's maps for filtered and original images.
    """
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[-2:]
    original = channel_maps(model, layer, channels, images, device)
    masks = normalise_maps(upscale_lanczos(original, height, width))
    filtered = filter_by_maps(images, masks)
    after = channel_maps(model, layer, channels, filtered, device)
    feedback = pearson_rows(original.reshape(len(images), -1), after.reshape(len(images), -1))
    return filtered, feedback.astype(np.float32)


class FilteredView:
    """Every ``every``-th step the renderer also shows the network the view filtered by item i's
    map of channel ``channels[i]`` of ``layer`` and adds ``weight`` x the objective on it.

    Without it, the cap is reached by images whose channel fires on thin edges and stripes that
    need their unlit surroundings: filtering removes those and the feedback drops (0.68 median on
    conv4 of the float32 default run, as low as on real cells). The mask is the filter's (map
    scaled to [0, 1]), from the view's own activations (no extra pass), upscaled bilinearly on
    the device and detached: the image is pushed to drive the channel through the filter, not
    to move the mask. Costs one forward and backward pass every ``every`` steps.
    """

    def __init__(self, layer, channels, every=8, weight=2.0):
        if every < 1 or weight <= 0:
            raise ValueError(f"every must be >= 1 and weight > 0, got {every}, {weight}")
        self.layer, self.every, self.weight = layer, int(every), float(weight)
        self.index = torch.as_tensor(list(channels), dtype=torch.long)

    def due(self, step):
        return step % self.every == 0

    def __call__(self, view, activations):
        """``view`` (B, C, H, W) times each item's normalised channel map in ``activations``."""
        items = torch.arange(len(self.index), device=view.device)
        maps = activations[self.layer][items, self.index.to(view.device)]
        maps = F.interpolate(maps.detach().float()[:, None], size=view.shape[-2:], mode="bilinear",
                             align_corners=False)
        low = maps.amin(dim=(2, 3), keepdim=True)
        span = maps.amax(dim=(2, 3), keepdim=True) - low
        mask = torch.where(span > 1e-12, (maps - low) / span.clamp(min=1e-12), torch.ones_like(maps))
        return (view * mask.to(view.dtype)).clamp(0.0, 1.0)

    def __repr__(self):
        return f"FilteredView({self.layer}, {len(self.index)} channels, every={self.every}, weight={self.weight})"
