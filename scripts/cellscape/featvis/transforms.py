"""Random transformations a feature image must survive (lucid's ``optvis/transform.py``).

An image that excites a channel only at one exact pixel alignment is adversarial noise; asking
the image to work under small random shifts, zooms and rotations yields readable features.

Each transform is a callable ``t(images, generator) -> images`` on a (B, C, H, W) tensor that
draws its random parameters *per sample* from a CPU ``torch.Generator`` (so a batch of feature
images for different channels is as robust as B separate runs, and a seed gives the same draw
on CPU and CUDA). ``compose(list)`` chains them.

What fills the pixels a transform brings in from outside the image (padding, zooming out,
rotating) is ``fill``: a constant (lucid: 0.5 grey; 0 matches the cells' black background) or
``"uniform"``, a random level per sample and step drawn from [0, 1] by ``Pad`` (lucid's
``constant_value="uniform"``), which stops the image from relying on any one border value; the
later warps and crops then replicate the (padded) border, so one step sees one level.
"""
import math

import torch
import torch.nn.functional as F


UNIFORM = "uniform"


def _check_fill(fill):
    if fill == UNIFORM:
        return fill
    return float(fill)


def _uniform_choice(values, n, generator):
    values = torch.as_tensor(list(values), dtype=torch.float32)
    return values[torch.randint(len(values), (n,), generator=generator)]


class Pad:
    """Padding by ``width`` px on every side with ``value`` (lucid: constant 0.5; or "uniform")."""

    def __init__(self, width, value=0.5):
        self.width, self.value = int(width), _check_fill(value)

    def __call__(self, images, generator=None):
        w = self.width
        if self.value != UNIFORM:
            return F.pad(images, (w, w, w, w), mode="constant", value=self.value)
        level = torch.rand(images.shape[0], generator=generator).to(images.device, images.dtype)
        level = level.view(-1, 1, 1, 1)
        return F.pad(images - level, (w, w, w, w), mode="constant", value=0.0) + level


class Jitter:
    """Random crop shrinking each side by ``distance`` px, at a different offset per sample."""

    def __init__(self, distance):
        self.distance = int(distance)

    def __call__(self, images, generator=None):
        d = self.distance
        if d <= 0:
            return images
        b, _, h, w = images.shape
        oy = torch.randint(d + 1, (b,), generator=generator).to(images.device)
        ox = torch.randint(d + 1, (b,), generator=generator).to(images.device)
        rows = oy[:, None] + torch.arange(h - d, device=images.device)  # (B, H-d)
        cols = ox[:, None] + torch.arange(w - d, device=images.device)  # (B, W-d)
        batch = torch.arange(b, device=images.device)[:, None, None]
        cropped = images.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
        return cropped.permute(0, 3, 1, 2)


class _AffineWarp:
    """Per-sample zoom/rotation about the image centre, output the same size as the input.

    Pixels that come from outside the input are filled with ``fill`` (the padding value), so
    zooming out and rotating do not introduce a black frame.
    """

    def __init__(self, fill=0.5):
        self.fill = _check_fill(fill)

    def matrices(self, n, generator):
        raise NotImplementedError

    def __call__(self, images, generator=None):
        theta = self.matrices(images.shape[0], generator).to(images.device, images.dtype)
        grid = F.affine_grid(theta, list(images.shape), align_corners=False)
        if self.fill == UNIFORM:  # the padded border carries this step's level: replicate it
            return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
        shifted = images - self.fill
        return F.grid_sample(shifted, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=False) + self.fill


class RandomScale(_AffineWarp):
    """Zoom by a factor drawn per sample from ``scales`` (> 1 enlarges the content)."""

    def __init__(self, scales, fill=0.5):
        super().__init__(fill)
        self.scales = list(scales)

    def matrices(self, n, generator):
        s = _uniform_choice(self.scales, n, generator)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / s  # grid coordinates shrink -> content grows
        return theta


class RandomRotate(_AffineWarp):
    """Rotate by an angle in degrees drawn per sample from ``angles``."""

    def __init__(self, angles, fill=0.5):
        super().__init__(fill)
        self.angles = list(angles)

    def matrices(self, n, generator):
        a = _uniform_choice(self.angles, n, generator) * (math.pi / 180.0)
        cos, sin = torch.cos(a), torch.sin(a)
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin
        theta[:, 1, 0], theta[:, 1, 1] = sin, cos
        return theta


class CropOrPadTo:
    """Centre crop or pad to a fixed size: the dense layers need the training image size."""

    def __init__(self, height, width=None, value=0.5):
        self.height, self.width, self.value = int(height), int(width or height), _check_fill(value)

    def __call__(self, images, generator=None):
        h, w = images.shape[-2:]
        dh, dw = self.height - h, self.width - w
        if dh > 0 or dw > 0:
            ph, pw = max(dh, 0), max(dw, 0)
            sides = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
            if self.value == UNIFORM:
                images = F.pad(images, sides, mode="replicate")
            else:
                images = F.pad(images, sides, mode="constant", value=self.value)
            h, w = images.shape[-2:]
        top, left = (h - self.height) // 2, (w - self.width) // 2
        return images[..., top:top + self.height, left:left + self.width]


def compose(transforms):
    """One callable applying ``transforms`` in order with the same generator."""
    transforms = list(transforms or [])

    def apply(images, generator=None):
        for transform in transforms:
            images = transform(images, generator)
        return images

    return apply


def standard_transforms(image_size=78, fill=0.5):
    """lucid's ``standard_transforms`` rescaled from 224 px to ``image_size`` px.

    lucid (224 px): pad 12, jitter 8, scale 0.9..1.1 (11 steps), rotate -10..10 deg (plus
    extra weight on 0), jitter 4. Translations scale with the image (x 78/224 = 0.35), zoom
    factors and angles are relative and stay. For 78 px that is: pad 4, jitter 3, scale
    0.9..1.1, rotate -10..10 deg, jitter 1, then a centre crop back to 78 x 78 so the dense
    layers see the size they were trained on. ``fill``: a constant or "uniform" (see above).
    """
    k = image_size / 224.0
    return [
        Pad(max(1, round(12 * k)), value=fill),
        Jitter(max(1, round(8 * k))),
        RandomScale([1 + (i - 5) / 50.0 for i in range(11)], fill=fill),
        RandomRotate(list(range(-10, 11)) + 5 * [0], fill=fill),
        Jitter(max(1, round(4 * k))),
        CropOrPadTo(image_size, value=fill),
    ]
