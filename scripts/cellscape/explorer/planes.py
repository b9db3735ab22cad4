"""Images of 1 to 12 channels as uint8 grey planes packed three to an RGB sprite sheet.

The page turns channels on and off, so it needs each channel apart and composes them itself
(static/channels.js, in the configured colours; docs/explorer.md, "channel planes"). A plane is
``round(value * 255)``; image ``g`` of a set holds channels ``3g, 3g+1, 3g+2`` in its red, green and
blue (bands past the last channel are 0). Three planes to an image decode three times fewer
images than one grey image per channel and take 4 bytes per 3 planes once decoded, not 4 per plane.
"""
import math

import numpy as np

from .encode import image_data_uri, sprite_sheet

#: channels per packed image (its red, green and blue)
PER_IMAGE = 3


def channel_uint8(images):
    """Float images in [0, 1] -> uint8 planes (values outside are clipped)."""
    return np.clip(np.rint(np.asarray(images, dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def image_count(n_channels):
    """Packed images a set of ``n_channels`` planes needs."""
    return math.ceil(n_channels / PER_IMAGE)


def packed_sheets(images, columns=None, fmt="png"):
    """(n, C, S, S) floats in [0, 1] -> (data URIs of the ``image_count(C)`` packed sprite sheets,
    columns). Image ``k`` sits in each sheet at column ``k % columns``, row ``k // columns``."""
    planes = channel_uint8(images)
    n, c, h, w = planes.shape
    uris = []
    for first in range(0, c, PER_IMAGE):
        group = planes[:, first:first + PER_IMAGE]
        rgb = np.zeros((n, h, w, 3), dtype=np.uint8)
        rgb[..., :group.shape[1]] = np.moveaxis(group, 1, -1)
        sheet, columns = sprite_sheet(rgb, columns)
        uris.append(image_data_uri(sheet, fmt))
    return uris, columns
