"""Turning arrays into things a file:// page can load: data URIs, sprite sheets, JS data files.

Chromium blocks fetch() of file:// URLs, so every data file is a script that assigns into the
pages' payload object ``window.cellscape.payload`` (apart from the pages' code, which hangs off
``window.cellscape``); images are data URIs so canvases that draw them stay readable.
"""
import base64
import io
import json
import math

import numpy as np
from PIL import Image


def rgb_uint8(rgb):
    """Float RGB in [0, 1] -> uint8."""
    return np.clip(np.rint(np.asarray(rgb, dtype=np.float32) * 255), 0, 255).astype(np.uint8)


def image_data_uri(pixels, fmt="png", quality=88):
    """(H, W, 3|4) uint8 -> 'data:image/...;base64,...'."""
    mode = "RGBA" if pixels.shape[-1] == 4 else "RGB"
    buffer = io.BytesIO()
    image = Image.fromarray(np.ascontiguousarray(pixels), mode)
    if fmt == "jpeg":
        image.save(buffer, format="JPEG", quality=quality, subsampling=0)
    else:
        image.save(buffer, format="PNG", optimize=True)
    return f"data:image/{fmt};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def sprite_sheet(tiles, columns=None):
    """(N, h, w, 3) uint8 tiles -> one (rows*h, columns*w, 3) sheet and its column count.

    Tile i sits at column i % columns, row i // columns; the page cuts it out with drawImage or
    a CSS background-position, so N images cost one decode instead of N.
    """
    tiles = np.asarray(tiles)
    n, h, w = tiles.shape[:3]
    columns = columns or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / columns))
    sheet = np.zeros((rows * h, columns * w) + tiles.shape[3:], dtype=tiles.dtype)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = tile
    return sheet, columns


def rounded(values, digits=4):
    """Float list with a fixed number of decimals: keeps the data files small."""
    return [round(float(v), digits) for v in np.asarray(values).ravel()]


#: where the data scripts put what they hold (the pages read it there)
PAYLOAD = "window.cellscape.payload"


def js_assignment(key, payload):
    """A script that stores ``payload`` at ``cellscape.payload[key]`` (``key``: 'a.b', or a tuple of parts)."""
    parts = key.split(".") if isinstance(key, str) else [str(part) for part in key]
    lines = ["window.cellscape = window.cellscape || {};", f"{PAYLOAD} = {PAYLOAD} || {{}};"]
    target = PAYLOAD
    for part in parts[:-1]:
        target += f"[{json.dumps(part)}]"
        lines.append(f"{target} = {target} || {{}};")
    target += f"[{json.dumps(parts[-1])}]"
    lines.append(f"{target} = {json.dumps(payload, separators=(',', ':'), allow_nan=False)};")
    return "\n".join(lines) + "\n"


def b64_array(array):
    """A numeric array's little-endian bytes, base64 (the page decodes into the typed array)."""
    array = np.ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.byteswap().view(array.dtype.newbyteorder("<"))
    return base64.b64encode(array.tobytes()).decode("ascii")


def unit_uint16(values):
    """Values in [0, 1] -> uint16 0..65535 (the maps' coordinates); NaN is an error."""
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError("coordinates must be finite")
    return np.rint(np.clip(values, 0, 1) * 65535).astype(np.uint16)
