"""Objects of a .cif/.rif, one at a time: object number, image (C, H, W) uint16, mask (C, H, W) uint8.

An object is an image directory and the mask directory after it. Its channels lie side by side
in one strip (width = channels in use x object width) and are split here, in the order of the
channels in use. :func:`locate_objects` walks the directories only (no pixel is read), so
planning and workers can share out the objects; :func:`read_object` reads one located object;
:func:`iter_objects` streams a range of objects ``[start, stop)`` in constant memory, and
ranges read in parallel give what one pass gives (:func:`object_ranges`).
"""
from dataclasses import dataclass

import numpy as np

from .codecs import GREYSCALE, MASK, CodecError, decode_greyscale, decode_mask
from .container import CifError, CifFile


@dataclass(frozen=True)
class ObjectLocation:
    """Where one object's directories are: its position in the file (0-based), its number, and
    the byte offsets of its image and mask directories (mask None when the file has none)."""
    index: int
    number: int
    image_offset: int
    mask_offset: int = None


@dataclass(frozen=True)
class CifObject:
    index: int
    number: int
    image: np.ndarray   # uint16 (C, H, W)
    mask: np.ndarray    # uint8 (C, H, W); None when the file holds no masks


def _describe(location):
    if location.index < 0:  # located elsewhere (a worker given the directory offsets)
        return f"object {location.number}"
    return f"object {location.number} (object {location.index + 1} in the file)"


def locate_objects(cif, start=0, stop=None):
    """The :class:`ObjectLocation` of objects ``start`` to ``stop`` (exclusive) of an open
    :class:`CifFile`, lazily; reads the directories only."""
    for location, _, _ in _walk(cif, start, stop):
        yield location


def _walk(cif, start, stop):
    """(location, image directory, mask directory or None) of objects ``start`` to ``stop``."""
    pending, index = None, -1
    walk = cif.directories()
    while True:
        try:
            directory = next(walk, None)
        except CifError as err:  # name the object whose directories the walk was reading
            where = (_describe(pending[0]) + ": its mask directory" if pending is not None else
                     f"after object {index + 1} in the file" if index >= 0 else "before the first object")
            raise CifError(f"{cif.path}: {where}: {str(err).removeprefix(f'{cif.path}: ')}", kind=err.kind) from err
        if directory is None:
            break
        if directory.kind == "image":
            if pending is not None:
                yield pending[0], pending[1], None
                pending = None
            index += 1
            if stop is not None and index >= stop:
                return
            if index >= start:
                number = directory.number if directory.number is not None else index
                pending = (ObjectLocation(index, number, directory.offset), directory)
        elif directory.kind == "mask":
            if index < 0:
                raise CifError(f"{cif.path}: a mask directory (byte {directory.offset}) before any image",
                               kind="corrupt file")
            if pending is not None:
                location, image = pending
                yield ObjectLocation(location.index, location.number, location.image_offset, directory.offset), \
                    image, directory
                pending = None
    if pending is not None:
        yield pending[0], pending[1], None


def _decode(cif, directory, what, location, expected=None):
    if directory.kind != expected:
        raise CifError(f"{cif.path}: {_describe(location)}: expected an {expected} directory at byte "
                       f"{directory.offset}, found {directory.kind}", kind="corrupt file")
    data = cif.strip(directory, f"{_describe(location)}: {what}")
    h, w = directory.height, directory.width
    try:
        if directory.compression == GREYSCALE:
            return decode_greyscale(data, h, w)
        if directory.compression == MASK:
            return decode_mask(data, h, w)
        if directory.compression == 1:  # uncompressed
            dtype = np.dtype("<u2") if expected == "image" else np.dtype("u1")
            if len(data) < h * w * dtype.itemsize:
                raise CodecError(f"{len(data)} bytes for {h}x{w} pixels")
            return np.frombuffer(data, dtype=dtype, count=h * w).reshape(h, w).astype(dtype.newbyteorder("="))
    except CodecError as err:
        raise CifError(f"{cif.path}: {_describe(location)}: {what}: {err}", kind="corrupt file") from err
    raise CifError(f"{cif.path}: {_describe(location)}: {what} uses compression {directory.compression} "
                   f"(known: {GREYSCALE} greyscale, {MASK} mask, 1 none)", kind="unknown compression")


def _channels(cif, plane, location, what):
    """(H, C x w) -> (C, H, w) in the order of the channels in use."""
    c = len(cif.metadata.channels_in_use)
    h, width = plane.shape
    if width % c:
        raise CifError(f"{cif.path}: {_describe(location)}: {what} is {width} px wide, not a multiple of its "
                       f"{c} channels in use", kind="corrupt file")
    return np.ascontiguousarray(plane.reshape(h, c, width // c).transpose(1, 0, 2))


def read_object(cif, location):
    """The :class:`CifObject` at ``location`` of an open :class:`CifFile`."""
    mask = cif.read_directory(location.mask_offset) if location.mask_offset is not None else None
    return _read(cif, location, cif.read_directory(location.image_offset), mask)


def _read(cif, location, image_directory, mask_directory):
    image = _channels(cif, _decode(cif, image_directory, "image", location, "image"), location, "image")
    mask = None
    if mask_directory is not None:
        mask = _channels(cif, _decode(cif, mask_directory, "mask", location, "mask"), location, "mask")
        if mask.shape != image.shape:
            raise CifError(f"{cif.path}: {_describe(location)}: mask {mask.shape} and image {image.shape} differ",
                           kind="corrupt file")
    return CifObject(location.index, location.number, image, mask)


def iter_objects(path, start=0, stop=None):
    """Objects ``start`` to ``stop`` (exclusive; None: to the end) of the file at ``path``, one at a time."""
    with CifFile(path) as cif:
        for location, image, mask in _walk(cif, start, stop):
            yield _read(cif, location, image, mask)


def object_ranges(count, parts):
    """``parts`` contiguous ``(start, stop)`` ranges covering ``count`` objects (for parallel readers)."""
    bounds = np.linspace(0, count, max(1, parts) + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
