"""Native reading of Amnis ImageStream / FlowSight .cif and .rif files (no Java).

``codecs`` (the two Amnis compressions, bytes in, array out), ``container`` (the TIFF
container: header metadata, object directories walked lazily), ``objects`` (objects one at a
time: number, image, mask), ``source`` (the workflow's ``data.source: cif``).
"""
from .codecs import CodecError, decode_greyscale, decode_mask
from .container import CifError, CifFile, Metadata, object_count
from .objects import CifObject, ObjectLocation, iter_objects, locate_objects, object_ranges, read_object
