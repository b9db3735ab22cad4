"""The two Amnis compressions of an ImageStream .cif/.rif: bytes in, array out.

Greyscale (TIFF compression 30817): the strip is a stream of 4-bit groups (nibbles), the low
nibble of each byte first. Each nibble carries 3 bits of a number, least significant bits
first, and its top bit says whether the next nibble continues the same number (1) or the
number ends here (0). A number of k nibbles has 3k bits, two's complement (its top bit is the
sign). The numbers, one per pixel in row order, are differences: the pixel is the difference
plus the pixel to its left plus the pixel above minus the pixel above-left (outside the image
counts as 0), i.e. the image is the cumulative sum of the differences along each row, then
down each column. Nibbles after the last pixel's number are padding.

Mask (TIFF compression 30818): byte pairs (value, run length - 1), the runs in row order.
"""
import numpy as np

GREYSCALE = 30817
MASK = 30818
#: the largest number of nibbles one difference may take (3 bits each: 24 bits cover any 16-bit step)
MAX_NIBBLES = 8


class CodecError(ValueError):
    """The bytes do not decode to the expected image (truncated or corrupt data)."""


def decode_greyscale(data, height, width):
    """uint16 ``(height, width)`` from a 30817-compressed strip ``data`` (bytes-like)."""
    n = height * width
    raw = np.frombuffer(data, dtype=np.uint8)
    nibbles = np.empty(2 * raw.size, dtype=np.uint8)
    nibbles[0::2] = raw & 0x0F
    nibbles[1::2] = raw >> 4
    ends = np.flatnonzero(nibbles < 8)  # the top bit clear: the number ends at this nibble
    if ends.size < n:
        raise CodecError(f"greyscale data ends after {ends.size} of {n} pixels ({raw.size} bytes)")
    ends = ends[:n]
    starts = np.empty(n, dtype=np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts + 1
    if lengths.max() > MAX_NIBBLES:
        raise CodecError(f"greyscale data holds a difference of {lengths.max()} nibbles (at most {MAX_NIBBLES})")
    used = nibbles[:ends[-1] + 1]
    position = np.arange(used.size, dtype=np.int64) - np.repeat(starts, lengths)
    bits = (used & 7).astype(np.int64) << (3 * position)
    values = np.add.reduceat(bits, starts)
    width_bits = 3 * lengths
    values -= ((values >> (width_bits - 1)) & 1) << width_bits  # two's complement of 3k bits
    image = values.reshape(height, width).cumsum(axis=1).cumsum(axis=0)
    if image.min() < 0 or image.max() > 0xFFFF:
        raise CodecError(f"greyscale data decodes to values {image.min()}..{image.max()}, outside 16 bits")
    return image.astype(np.uint16)


def decode_mask(data, height, width):
    """uint8 ``(height, width)`` from a 30818-compressed strip ``data`` (bytes-like)."""
    n = height * width
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size % 2:
        raw = raw[:-1]  # a run needs both bytes; a lone last byte cannot add pixels
    pairs = raw.reshape(-1, 2)
    lengths = pairs[:, 1].astype(np.int64) + 1
    total = int(lengths.sum())
    if total < n:
        raise CodecError(f"mask data ends after {total} of {n} pixels ({raw.size} bytes)")
    if total > n:
        raise CodecError(f"mask data holds {total} pixels, the image {n}")
    return np.repeat(pairs[:, 0], lengths).reshape(height, width)
