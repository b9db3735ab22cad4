"""Feature visualisation: images that maximally excite a channel of the cell classifier.

Decomposed as tensorflow/lucid's ``optvis``: ``param`` (how images are described),
``objectives`` (what to maximise), ``transforms`` (what the images must be robust to),
``render`` (the optimisation loop) and ``filtering`` (activation filtering, paper IV.C).
"""
from .filtering import activation_filter, channel_maps
from .objectives import Objective, channel, channels_batched, direction, diversity, neuron
from .param import (FourierParam, PixelParam, channel_covariance, decorrelation_matrix,
                    fourier_image, fourier_spectrum, image_param)
from .render import PlateauStop, RenderResult, render
from .transforms import compose, standard_transforms

__all__ = [
    "FourierParam", "Objective", "PixelParam", "PlateauStop", "RenderResult",
    "activation_filter", "channel", "channel_covariance", "channel_maps", "channels_batched",
    "compose", "decorrelation_matrix", "direction", "diversity", "fourier_image",
    "fourier_spectrum", "image_param", "neuron", "render", "standard_transforms",
]
