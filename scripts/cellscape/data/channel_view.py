"""The image set seen through some of its channels, without copying it.

Training, prediction and the layer dumps read images as ``images[rows]`` or
``images[start:stop]`` from an array or a memory map (``len`` and ``shape`` size the network's
input). :class:`ChannelSubset` answers the same reads with only some channels, so the label-free
network trains on the memory-mapped image set as it is; :class:`ReplacedChannels` with some
channels replaced by a fixed image (the channel ablation).
"""
import numpy as np

from ..runtime.io import read_rows


class ChannelSubset:
    """``images`` (N, C, H, W) with only the channels ``channels`` (indices, in that order)."""

    def __init__(self, images, channels):
        self.images, self.channels = images, list(channels)
        if not self.channels or not all(0 <= c < images.shape[1] for c in self.channels):
            raise ValueError(f"channels {self.channels} of an image set with {images.shape[1]} channels")
        self.shape = (images.shape[0], len(self.channels), *images.shape[2:])
        self.dtype, self.ndim = images.dtype, images.ndim

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        return np.asarray(self.images[idx])[:, self.channels]


class ReplacedChannels:
    """``images[rows]`` with the channels ``replaced`` (indices) set to ``fill``'s (C, H, W) in every
    image: the channel ablation's input, built batch by batch."""

    def __init__(self, images, rows, replaced, fill):
        self.images, self.rows = images, np.asarray(rows)
        self.replaced, self.fill = list(replaced), np.asarray(fill, dtype=np.float32)
        self.shape = (len(self.rows), *images.shape[1:])
        self.dtype, self.ndim = np.dtype(np.float32), images.ndim

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, idx):
        block = read_rows(self.images, self.rows[idx])
        if self.replaced:
            block[:, self.replaced] = self.fill[self.replaced]
        return block
