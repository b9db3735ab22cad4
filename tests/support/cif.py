"""Write small .cif files for tests: the container as the instrument lays it out (a 1x1 header
directory with the object count and the acquisition XML, then an image and a mask directory
per object), around strips that are already compressed (taken from a real file)."""
import struct

#: TIFF field types used here
SHORT, LONG, ASCII = 3, 4, 2


def _entries(tags, data_offset):
    """IFD entries of ``tags`` ({code: (type, values or bytes)}); values that do not fit in 4
    bytes go to ``data_offset`` on. Returns (entry bytes, out-of-line bytes)."""
    entries, extra = b"", b""
    for code in sorted(tags):
        ftype, value = tags[code]
        if ftype == ASCII:
            raw, count = value + b"\0", len(value) + 1
        else:
            values = value if isinstance(value, (list, tuple)) else [value]
            raw, count = struct.pack(f"<{len(values)}{'H' if ftype == SHORT else 'I'}", *values), len(values)
        if len(raw) <= 4:
            entries += struct.pack("<HHI", code, ftype, count) + raw.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", code, ftype, count, data_offset + len(extra))
            extra += raw + b"\0" * (len(raw) % 2)
    return entries, extra


def write_cif(path, xml, objects, masks=True):
    """A .cif of ``objects``: ``[(number, height, width, image strip, mask strip)]`` (width: all
    channels side by side), the acquisition ``xml`` (str) in the header."""
    out = bytearray(b"II*\0" + struct.pack("<I", 8))

    def directory(tags, strip):
        """Append an IFD (its strip after it) and return the offset of its next-IFD pointer."""
        offset = len(out)
        n = len(tags) + (2 if strip is not None else 0)
        data_offset = offset + 2 + 12 * n + 4
        if strip is not None:
            tags = {**tags, 273: (LONG, data_offset), 279: (LONG, len(strip))}
        entries, extra = _entries(tags, data_offset + (len(strip) if strip is not None else 0))
        out.extend(struct.pack("<H", n) + entries + b"\0\0\0\0")
        out.extend((strip or b"") + extra)
        return offset + 2 + 12 * n

    pointer = directory({256: (LONG, 1), 257: (LONG, 1), 258: (SHORT, 16), 259: (SHORT, 1), 262: (SHORT, 1),
                         277: (SHORT, 1), 278: (LONG, 1), 33002: (SHORT, 1), 33018: (LONG, len(objects)),
                         33027: (ASCII, xml.encode())}, b"\0\0")
    for number, height, width, image, mask in objects:
        common = {256: (LONG, width), 257: (LONG, height), 262: (SHORT, 1), 277: (SHORT, 1), 278: (LONG, height)}
        parts = [({**common, 258: (SHORT, 16), 259: (SHORT, 30817), 33002: (SHORT, 2), 33003: (LONG, number)}, image)]
        if masks:
            parts.append(({**common, 258: (SHORT, 8), 259: (SHORT, 30818), 33002: (SHORT, 3)}, mask))
        for tags, strip in parts:
            struct.pack_into("<I", out, pointer, len(out))
            pointer = directory(tags, strip)
    path.write_bytes(bytes(out))
    return path


def example_strips(path):
    """``[(number, height, width, image strip, mask strip)]`` of every object of a real .cif."""
    from cellscape.data.cif import CifFile, locate_objects
    with CifFile(path) as cif:
        strips = []
        for location in locate_objects(cif):
            image, mask = cif.read_directory(location.image_offset), cif.read_directory(location.mask_offset)
            strips.append((location.number, image.height, image.width, cif.strip(image, "image"),
                           cif.strip(mask, "mask")))
        return strips, cif.metadata.acquisition_xml
