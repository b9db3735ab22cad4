"""The container of an ImageStream .cif/.rif: a little-endian TIFF of one header and two
directories (image file directories, IFDs) per object.

The header directory (the first) is read with ``tifffile``: the object count (private tag
33018), the acquisition XML (33027: the channels in use, the objective's magnification).
The object directories are walked one at a time straight from the file: each is a few
hundred bytes (the kind, 33002: 2 image, 3 mask; the object number, 33003, on the image;
width, height, compression and where the strip's bytes are), read only when the walk reaches
it, so a file of any size is opened in constant memory. (``tifffile``'s page objects reject the
mask directories, whose SamplesPerPixel is stored as two BYTEs.)
"""
import os
import re
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path


from ..events import InputError

KIND_TAG, OBJECT_TAG, OBJECT_COUNT_TAG, ACQUISITION_XML_TAG = 33002, 33003, 33018, 33027
KINDS = {1: "header", 2: "image", 3: "mask"}
#: TIFF field types: struct format of one value
FIELD_FORMATS = {1: "B", 2: "B", 3: "H", 4: "I", 6: "b", 7: "B", 8: "h", 9: "i", 11: "f", 12: "d", 16: "Q", 17: "q"}
#: tags a directory usually has at most (the example's image directories have 25)
GUESS_TAGS = 40
#: the tags a directory walk reads (everything else is skipped)
WANTED = {256: "width", 257: "height", 259: "compression", 273: "strip_offsets", 279: "strip_bytecounts",
          KIND_TAG: "kind", OBJECT_TAG: "number"}
MAX_TAGS = 4096


class CifError(InputError):
    """A .cif/.rif that cannot be read: the message names the file and, where it can, the object."""


@dataclass(frozen=True)
class Directory:
    """One object directory: where it is, what it holds, where its strip's bytes are."""
    offset: int
    kind: str                 # "image", "mask", "header" or "kind <n>"
    number: int               # the object number (image directories; None elsewhere)
    height: int
    width: int
    compression: int
    strip_offsets: tuple
    strip_bytecounts: tuple
    next_offset: int


@dataclass(frozen=True)
class Metadata:
    """What the header says about the acquisition."""
    object_count: int
    channels_in_use: tuple    # 0-based instrument channels recorded, in the images' order (Ch<k+1>)
    brightfield_channels: tuple  # 0-based instrument channels lit by the brightfield LED
    magnification: float      # of the objective (None when the XML does not say)
    pixel_size_um: float      # None when the file does not say
    acquisition_xml: str

    @property
    def channel_names(self):
        """The per-object TIFF exports' names of the channels in use: ``Ch1``...``Ch12``."""
        return tuple(f"Ch{k + 1}" for k in self.channels_in_use)


def _xml_text(xml, name):
    """Text of the first element ``name`` of the acquisition XML, or None."""
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        match = re.search(rf"<{name}>([^<]*)</{name}>", xml)
        return match[1] if match else None
    element = root.find(f".//{name}")
    return element.text if element is not None else None


def _indicators(xml, name):
    text = _xml_text(xml, name)
    return tuple(k for k, flag in enumerate((text or "").split()) if flag.strip() == "1")


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def parse_metadata(path, object_count, xml):
    channels = _indicators(xml, "ChannelInUseIndicators_0_11")
    if not channels:
        raise CifError(f"{path}: the acquisition XML names no channel in use (ChannelInUseIndicators_0_11)")
    pixel = next((_number(_xml_text(xml, name)) for name in ("PixelSize", "MicronsPerPixel", "PixelSizeMicrons")
                  if _xml_text(xml, name) is not None), None)
    return Metadata(int(object_count), channels, _indicators(xml, "BfLedIndicators_0_11"),
                    _number(_xml_text(xml, "Magnification")), pixel, xml)


class CifFile:
    """An open .cif/.rif: its metadata, its object directories (walked lazily) and their bytes.

    Use as a context manager; :meth:`directories` walks from the first object directory, or from
    any directory offset (a worker reading a range of objects starts where it was told).
    """

    def __init__(self, path):
        import tifffile
        self.path = Path(path)
        try:
            with tifffile.TiffFile(self.path) as tif:
                if tif.byteorder != "<" or tif.is_bigtiff:
                    raise CifError(f"{self.path}: not an ImageStream .cif/.rif (expected a little-endian classic TIFF)")
                header = tif.pages.first
                # only the two tags needed: the header also holds megabytes of instrument XML (tag 33064)
                tags = {code: header.tags[code].value for code in (OBJECT_COUNT_TAG, ACQUISITION_XML_TAG)
                        if code in header.tags}
                self.header_offset = header.offset
        except CifError:
            raise
        except Exception as err:  # tifffile raises several types for files that are no TIFF
            raise CifError(f"{self.path}: unreadable .cif/.rif ({err})") from err
        if OBJECT_COUNT_TAG not in tags or ACQUISITION_XML_TAG not in tags:
            raise CifError(f"{self.path}: not an ImageStream .cif/.rif (its first directory lacks the object "
                           f"count, tag {OBJECT_COUNT_TAG}, or the acquisition XML, tag {ACQUISITION_XML_TAG})")
        self.metadata = parse_metadata(self.path, tags[OBJECT_COUNT_TAG], str(tags[ACQUISITION_XML_TAG]))
        self._fd = os.open(self.path, os.O_RDONLY)
        self.size = self.path.stat().st_size
        self.first_offset = self.read_directory(self.header_offset).next_offset

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _read(self, offset, n, what):
        if offset < 8 or offset + n > self.size:
            raise CifError(f"{self.path}: {what} (bytes {offset}..{offset + n}) lies past the end of the file "
                           f"({self.size} bytes): truncated or corrupt", kind="truncated file")
        return os.pread(self._fd, n, offset)  # no shared file position: safe in forked workers too

    def read_directory(self, offset):
        """The :class:`Directory` at ``offset``."""
        where = f"directory at byte {offset}"
        # one read for the usual directory (up to GUESS_TAGS tags), a second only for a longer one
        head = self._read(offset, min(2 + 12 * GUESS_TAGS + 4, max(2, self.size - offset)), where)
        (n,) = struct.unpack_from("<H", head)
        if n == 0 or n > MAX_TAGS:
            raise CifError(f"{self.path}: {where} claims {n} tags: corrupt file", kind="corrupt file")
        block = head[2:2 + 12 * n + 4]
        if len(block) < 12 * n + 4:
            block = self._read(offset + 2, 12 * n + 4, where)
        values = {}
        for code, ftype, count, value in struct.iter_unpack("<HHI4s", block[:12 * n]):
            if code not in WANTED:
                continue
            fmt = FIELD_FORMATS.get(ftype, "B")
            size = count * struct.calcsize(fmt)
            if size <= 4:
                raw = value[:size]
            else:
                raw = self._read(struct.unpack("<I", value)[0], size, f"tag {code} of the {where}")
            values[WANTED[code]] = struct.unpack(f"<{count}{fmt}", raw)
        (next_offset,) = struct.unpack_from("<I", block, 12 * n)
        kind = values.get("kind", (0,))[0]
        one = {key: values.get(key, (0,))[0] for key in ("width", "height", "compression")}
        return Directory(offset, KINDS.get(kind, f"kind {kind}"), values.get("number", (None,))[0],
                         int(one["height"]), int(one["width"]), int(one["compression"]),
                         values.get("strip_offsets", ()), values.get("strip_bytecounts", ()), next_offset)

    def directories(self, offset=None):
        """The directories from ``offset`` (default: the first object's) to the last, lazily."""
        offset = self.first_offset if offset is None else offset
        limit = 2 * self.metadata.object_count + 16  # a chain that loops would never end
        for _ in range(limit):
            if offset == 0:
                return
            directory = self.read_directory(offset)
            yield directory
            offset = directory.next_offset
        raise CifError(f"{self.path}: more than {limit} directories for {self.metadata.object_count} objects: "
                       "corrupt file", kind="corrupt file")

    def strip(self, directory, what):
        """The compressed bytes of ``directory``'s strips, joined; ``what`` names it in errors."""
        if not directory.strip_offsets or len(directory.strip_offsets) != len(directory.strip_bytecounts):
            raise CifError(f"{self.path}: {what}: no strip (corrupt directory at byte {directory.offset})",
                           kind="corrupt file")
        return b"".join(self._read(o, n, what) for o, n in zip(directory.strip_offsets, directory.strip_bytecounts))


def object_count(path):
    """The object count the header of ``path`` states (cheap: reads the first directory only)."""
    with CifFile(path) as cif:
        return cif.metadata.object_count
