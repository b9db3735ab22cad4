"""What every feature of one cell measures on: the filtered image and its masks.

After ingestion a channel's background is 0 (the 20% rule; brightfield: outside the cell's
deviation from the bright background), so a channel's object is its non-zero pixels. The cell is
the largest connected object (8-connectivity) of the outlining channels' objects together, as the
MDA stage's measurements define it (``cellscape.mda.target``); a channel's mask is its non-zero
pixels inside the cell, specks smaller than ``min_object_px`` dropped, so the nucleus mask is the
nucleus channel's objects inside the cell. Everything is measured on the cell's bounding box with a
margin of :data:`MARGIN_PX` (a cell covers a fifth of the frame: five times fewer pixels to visit).
"""
from functools import cached_property

import numpy as np
from skimage.measure import label
from skimage.morphology import remove_small_objects

from ..data.channels import outline_channels

#: pixels kept around the cell's bounding box (room for the texture and granularity filters)
MARGIN_PX = 4


def largest_object(mask):
    """The largest 8-connected object of a boolean mask (all False when there is none)."""
    labels = label(mask, connectivity=2)
    if labels.max() == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


class CellView:
    """One filtered cell image ``(C, H, W)`` with the masks the features need, computed once.

    ``channels``: the image set's channels (dicts with ``name`` and ``kind``), in image order.
    """

    def __init__(self, image, channels, min_object_px=8):
        image = np.asarray(image, dtype=np.float64)
        if image.ndim != 3 or image.shape[0] != len(channels):
            raise ValueError(f"expected a ({len(channels)}, H, W) image for channels "
                             f"{[c['name'] for c in channels]}, got shape {image.shape}")
        cell = largest_object((image[outline_channels(channels)] != 0).any(axis=0))
        ys, xs = np.nonzero(cell)
        if len(ys):
            box = (slice(max(ys.min() - MARGIN_PX, 0), ys.max() + MARGIN_PX + 1),
                   slice(max(xs.min() - MARGIN_PX, 0), xs.max() + MARGIN_PX + 1))
            image, cell = image[(slice(None),) + box], cell[box]
        #: the channels (C, h, w) and the cell's pixels (h, w), on the cell's box
        self.image, self.cell = image, cell
        self.channels = channels
        self.min_object_px = min_object_px
        self._masks = {}
        self._memo = {}

    def memo(self, key, compute):
        """``compute()``, once per view and ``key`` (a perimeter serves the circularity too)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def mask(self, c):
        """Boolean (H, W): channel ``c``'s non-zero pixels inside the cell, specks dropped."""
        if c not in self._masks:
            inside = (self.image[c] != 0) & self.cell
            self._masks[c] = remove_small_objects(inside, max_size=self.min_object_px - 1, connectivity=2) \
                if self.min_object_px > 1 else inside
        return self._masks[c]

    def region(self, c):
        """The mask a shape feature of channel ``c`` measures (None: the whole cell)."""
        return self.cell if c is None else self.mask(c)

    @cached_property
    def nucleus(self):
        """The nucleus mask (all False without a channel named nucleus)."""
        names = [channel["name"] for channel in self.channels]
        if "nucleus" not in names:
            return np.zeros_like(self.cell)
        return self.mask(names.index("nucleus"))
