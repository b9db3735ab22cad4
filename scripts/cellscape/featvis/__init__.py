"""Feature visualisation: images that maximally excite a channel of the cell classifier.

Decomposed as tensorflow/lucid's ``optvis``: ``param`` (how images are described),
``objectives`` (what to maximise), ``transforms`` (what the images must be robust to),
``render`` (the optimisation loop, with plateau and saturation stops), ``filtering`` (activation
filtering, paper IV.C) and ``quality`` (saturation, high-frequency energy: docs/featvis.md).
"""
from .filtering import activation_filter, channel_maps
from .objectives import (L1, Objective, blur_penalty, capped, channel, channels_batched, channels_relative, direction,
                         diversity, neuron, neurons_batched, range_penalty, total_variation)
from .param import (FourierParam, PixelParam, channel_covariance, decorrelation_matrix,
                    fourier_image, fourier_spectrum, image_param)
from .render import PlateauStop, RenderResult, SaturationStop, render
from .transforms import compose, standard_transforms

__all__ = [
    "FourierParam", "L1", "Objective", "PixelParam", "PlateauStop", "RenderResult", "SaturationStop",
    "activation_filter", "blur_penalty", "capped", "channel", "channel_covariance", "channel_maps", "channels_batched",
    "channels_relative", "compose", "decorrelation_matrix", "direction", "diversity", "fourier_image",
    "fourier_spectrum", "image_param", "neuron", "neurons_batched", "range_penalty", "render",
    "standard_transforms",
    "total_variation",
]
