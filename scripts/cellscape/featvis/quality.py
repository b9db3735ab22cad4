"""How good a feature image is, as numbers (docs/featvis.md's comparison table).

* ``saturated_share``: the share of pixels in the sigmoid's flat tails (below 0.02 or above
  0.98), where the parameterisation has no gradient left and images turn into binary fields;
* ``high_frequency_energy``: the energy (mean square per pixel) of an image's content above half
  the Nyquist frequency, the pixel-scale noise a frequency penalty removes (and
  ``high_frequency_share``, its share of the image's energy);
* ``best_cell_ratio``: an image's objective over the best real cell's for the same channel
  (>= 1: the optimisation found something the channel likes at least as much as any cell).

Numpy or torch in, numpy (B,) out. No I/O.
"""
import numpy as np
import torch

SATURATION_LOW, SATURATION_HIGH = 0.02, 0.98
HIGH_FREQUENCY_CUTOFF = 0.25  # cycles per pixel; Nyquist is 0.5


def _array(images):
    if isinstance(images, torch.Tensor):
        images = images.detach().cpu().numpy()
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) images, got shape {images.shape}")
    return images


def saturated_share(images, low=SATURATION_LOW, high=SATURATION_HIGH):
    """(B,) share of each image's pixel values (all channels) below ``low`` or above ``high``."""
    if isinstance(images, torch.Tensor):  # the renderer's per-step check stays on the device
        flat = images.detach().flatten(1)
        return ((flat < low) | (flat > high)).float().mean(dim=1)
    images = _array(images)
    flat = images.reshape(len(images), -1)
    return ((flat < low) | (flat > high)).mean(axis=1)


def radial_frequency(height, width):
    """(H, W) radial frequency in cycles per pixel of each ``np.fft.fft2`` coefficient."""
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    return np.sqrt(fx * fx + fy * fy)


def _high_pass_power(images, cutoff):
    """(B,) spectral energy above ``cutoff`` and (B,) total energy (each channel's mean removed),
    both as mean squares per pixel and channel (Parseval)."""
    images = _array(images)
    b, c, h, w = images.shape
    centred = images - images.mean(axis=(2, 3), keepdims=True)
    power = np.abs(np.fft.fft2(centred)) ** 2 / (h * w)  # sum over a channel's plane = sum of squares
    high = radial_frequency(h, w) > cutoff
    return power[..., high].sum(axis=(1, 2)) / (c * h * w), power.sum(axis=(1, 2, 3)) / (c * h * w)


def high_frequency_energy(images, cutoff=HIGH_FREQUENCY_CUTOFF):
    """(B,) energy above ``cutoff``: the mean square of the image's high-pass part, per pixel
    and channel (image units squared; pixel noise of amplitude a gives about 0.8 a^2 / 3 for
    uniform noise in [-a, a]). 0 for a smooth image; the absolute amount of pixel-scale noise,
    which a frequency penalty lowers (``high_frequency_share`` is the relative form)."""
    return _high_pass_power(images, cutoff)[0]


def high_frequency_share(images, cutoff=HIGH_FREQUENCY_CUTOFF):
    """(B,) share of the spectral energy (each channel's mean removed) above ``cutoff``.

    0 for an image without any variation; white noise has about 0.8 (the share of the
    frequency plane outside the radius 0.25); a smooth blob almost 0. A nearly flat image with
    faint noise scores high, so compare images by ``high_frequency_energy``.
    """
    above, total = _high_pass_power(images, cutoff)
    return np.where(total > 0, above / np.where(total > 0, total, 1.0), 0.0)


def best_cell_ratio(objective, best_cell):
    """objective / best_cell per channel; 0 where the channel never fires on a cell."""
    objective = np.asarray(objective, dtype=np.float64)
    best_cell = np.asarray(best_cell, dtype=np.float64)
    return np.where(best_cell > 0, objective / np.where(best_cell > 0, best_cell, 1.0), 0.0)
