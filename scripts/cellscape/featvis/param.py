"""Image parameterisations: what the optimiser actually changes when it draws a feature image.

Following lucid (``optvis/param/spatial.py`` and ``color.py``): optimising pixels directly
yields high-frequency noise, so by default the image is described by Fourier coefficients
scaled by 1/f (spatial decorrelation), optionally mixed across channels by the square root of
the data set's channel covariance (channel decorrelation), and squashed to [0, 1] by a sigmoid.

A parameterisation is an ``nn.Module`` holding a batch of B images with C channels; calling it
returns the (B, C, H, W) image tensor in [0, 1]. ``start`` sets where the images begin: the
sigmoid's centre (0.5, uniform grey, lucid's choice) by default, or one level per channel (e.g.
the data's channel means, ``start_levels``: a dark start close to cells on a black background). ``from_images`` builds a parameterisation that
reproduces given images, which both checks the maths and lets an optimisation start from data.
"""
import numpy as np
import torch
from torch import nn

_LUCID_MAGIC = 4.0  # lucid divides the inverse FFT by 4 to keep initial pixels small
_EPS = 1e-6


def spectrum_frequencies(height, width):
    """Radial frequency of each coefficient of ``torch.fft.rfft2`` on an (height, width) image."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    return torch.sqrt(fx * fx + fy * fy)


def spectrum_scale(height, width, decay_power=1.0):
    """1/f^decay_power amplitude per coefficient, times sqrt(H*W) so the map is near-unitary.

    The near-unitary scaling lets the same learning rate work as for pixel optimisation.
    """
    freqs = spectrum_frequencies(height, width)
    floor = 1.0 / max(height, width)
    return (1.0 / torch.clamp(freqs, min=floor) ** decay_power) * np.sqrt(height * width)


def fourier_image(spectrum, height, width, decay_power=1.0):
    """Real (..., H, W) image from an unscaled complex (..., H, W//2+1) spectrum."""
    scale = spectrum_scale(height, width, decay_power).to(spectrum.device)
    return torch.fft.irfft2(scale * spectrum, s=(height, width)) / _LUCID_MAGIC


def fourier_spectrum(image, decay_power=1.0):
    """Inverse of ``fourier_image``: the unscaled spectrum that reproduces a real image."""
    height, width = image.shape[-2:]
    scale = spectrum_scale(height, width, decay_power).to(image.device)
    return torch.fft.rfft2(image.float() * _LUCID_MAGIC) / scale


def channel_covariance(images):
    """C x C covariance of pixel values over all images and pixels, (N, C, H, W) -> (C, C)."""
    x = torch.as_tensor(np.asarray(images), dtype=torch.float64)
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    return torch.cov(flat).numpy()


def decorrelation_matrix(covariance):
    """Lower Cholesky factor L of the channel covariance (L L^T = cov).

    Mixing independent unit-variance channels with L gives channels with the data set's
    correlation, as lucid's ``color_correlation_svd_sqrt`` does for ImageNet RGB. A small ridge
    keeps it defined when a channel is constant.
    """
    cov = np.asarray(covariance, dtype=np.float64)
    ridge = 1e-8 * max(np.trace(cov) / len(cov), 1e-12)
    return np.linalg.cholesky(cov + ridge * np.eye(len(cov))).astype(np.float32)


class ImageParam(nn.Module):
    """Base class: a pre-sigmoid spatial image, optional channel mixing, then a sigmoid.

    ``color_sqrt`` (C x C, e.g. ``decorrelation_matrix(channel_covariance(images))``) is
    normalised by its largest column norm, as lucid does, so decorrelation does not change the
    overall scale of the initial image.
    """

    def __init__(self, channels, color_sqrt=None, start=None):
        super().__init__()
        self.channels = int(channels)
        self.register_buffer("offset", start_offset(start, self.channels))
        if color_sqrt is None:
            self.color_mix = None
        else:
            mix = torch.as_tensor(np.asarray(color_sqrt), dtype=torch.float32)
            if mix.shape != (self.channels, self.channels):
                raise ValueError(f"color_sqrt must be {self.channels}x{self.channels}, got {tuple(mix.shape)}")
            mix = mix / mix.norm(dim=0).max()
            self.register_buffer("color_mix", mix)

    def spatial(self):
        """The (B, C, H, W) pre-sigmoid image in decorrelated channel space."""
        raise NotImplementedError

    def mix_channels(self, x):
        if self.color_mix is None:
            return x
        return torch.einsum("ij,bjhw->bihw", self.color_mix, x)

    def unmix_channels(self, x):
        if self.color_mix is None:
            return x
        inverse = torch.linalg.inv(self.color_mix.double()).float()
        return torch.einsum("ij,bjhw->bihw", inverse.to(x.device), x)

    def pre_sigmoid(self):
        """The image before squashing, in data channel space (for tests and diagnostics)."""
        return self.mix_channels(self.spatial()) + self.offset

    @property
    def start_levels(self):
        """(C,) image level every channel starts around (sigmoid of the offset)."""
        return torch.sigmoid(self.offset.flatten())

    def forward(self):
        return torch.sigmoid(self.pre_sigmoid())

    def _spatial_target(self, images):
        """Pre-sigmoid, decorrelated-space image that maps back to ``images`` in [0, 1]."""
        x = torch.as_tensor(np.asarray(images), dtype=torch.float32)
        return self.unmix_channels(torch.logit(x.clamp(_EPS, 1 - _EPS)) - self.offset)


def start_offset(start, channels):
    """Pre-sigmoid offset (1, C, 1, 1) that centres channel c's initial image on ``start[c]``.

    ``start``: None (0.5, grey), one level in (0, 1) for every channel, or one per channel.
    """
    if start is None:
        return torch.zeros(1, channels, 1, 1)
    levels = torch.as_tensor(np.asarray(start, dtype=np.float32).reshape(-1))
    if levels.numel() == 1:
        levels = levels.expand(channels)
    if levels.numel() != channels or bool(torch.any((levels <= 0) | (levels >= 1))):
        raise ValueError(f"start levels must be in (0, 1), one per channel ({channels}), got {levels.tolist()}")
    return torch.logit(levels.double()).float().view(1, channels, 1, 1)


def _normal(shape, sd, seed):
    """Gaussian init; ``seed`` is one int for the batch or one int per batch item, so that an
    item's start can depend on its channel alone, whatever chunk it is rendered in."""
    if np.ndim(seed) == 0:
        return torch.randn(shape, generator=torch.Generator().manual_seed(int(seed))) * sd
    if len(seed) != shape[0]:
        raise ValueError(f"{len(seed)} seeds for a batch of {shape[0]}")
    return torch.stack([torch.randn(shape[1:], generator=torch.Generator().manual_seed(int(s)))
                        for s in seed]) * sd


class FourierParam(ImageParam):
    """B images as 1/f-scaled Fourier coefficients (lucid's ``fft_image``), sd 0.01 by default."""

    def __init__(self, batch, channels, height, width=None, sd=0.01, decay_power=1.0,
                 color_sqrt=None, seed=0, start=None):
        super().__init__(channels, color_sqrt, start)
        self.height, self.width = int(height), int(width or height)
        self.decay_power = float(decay_power)
        freq_shape = spectrum_frequencies(self.height, self.width).shape
        init = _normal((batch, self.channels, *freq_shape, 2), sd, seed)
        self.spectrum = nn.Parameter(init)  # real and imaginary parts in the last axis
        # cached on the param's device: no host-to-device copy per step
        self.register_buffer("scale", spectrum_scale(self.height, self.width, self.decay_power),
                             persistent=False)

    def spatial(self):
        spectrum = self.scale * torch.view_as_complex(self.spectrum)
        return torch.fft.irfft2(spectrum, s=(self.height, self.width)) / _LUCID_MAGIC

    @classmethod
    def from_images(cls, images, decay_power=1.0, color_sqrt=None, start=None):
        """A parameterisation whose output reproduces ``images`` (B, C, H, W) in (0, 1)."""
        batch, channels, height, width = np.shape(images)
        param = cls(batch, channels, height, width, decay_power=decay_power, color_sqrt=color_sqrt,
                    start=start)
        spectrum = fourier_spectrum(param._spatial_target(images), decay_power)
        with torch.no_grad():
            param.spectrum.copy_(torch.view_as_real(spectrum))
        return param


class PixelParam(ImageParam):
    """B images as raw pre-sigmoid pixels (lucid's ``pixel_image``): the naive baseline."""

    def __init__(self, batch, channels, height, width=None, sd=0.01, color_sqrt=None, seed=0, start=None):
        super().__init__(channels, color_sqrt, start)
        self.height, self.width = int(height), int(width or height)
        self.pixels = nn.Parameter(_normal((batch, self.channels, self.height, self.width), sd, seed))

    def spatial(self):
        return self.pixels

    @classmethod
    def from_images(cls, images, color_sqrt=None, start=None):
        batch, channels, height, width = np.shape(images)
        param = cls(batch, channels, height, width, color_sqrt=color_sqrt, start=start)
        with torch.no_grad():
            param.pixels.copy_(param._spatial_target(images))
        return param


def image_param(kind, batch, channels, height, width=None, **kwargs):
    """Build a parameterisation by name ('fourier' or 'pixel'), as a config would choose it."""
    kinds = {"fourier": FourierParam, "pixel": PixelParam}
    if kind not in kinds:
        raise ValueError(f"unknown parameterisation {kind!r}; choose from {sorted(kinds)}")
    return kinds[kind](batch, channels, height, width, **kwargs)
