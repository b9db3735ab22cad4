"""Atomic, streaming writers for the files passed between rules.

A rule that dies must not leave a file that looks finished: everything is written beside its
target under a temporary name and renamed into place only when complete.
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def read_rows(images, rows):
    """``images[rows]`` as float32, in the order of ``rows``: read in increasing row order, as
    memory maps want sorted fancy indexing, and put back in the requested order."""
    rows = np.asarray(rows)
    ascending = np.argsort(rows, kind="stable")
    block = np.asarray(images[rows[ascending]], dtype=np.float32)
    return block[np.argsort(ascending, kind="stable")]


@contextlib.contextmanager
def atomic_path(target, suffix=None):
    """Yield a temporary path beside ``target``; rename it to ``target`` on success only."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(target.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{suffix}", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.is_file():
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are for everyone to read
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_csv(df, path):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_json(obj, path):
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npy(array, path):
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def save_npz(path, **arrays):
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)


class NpyRowWriter:
    """Append rows of a fixed shape to an ``.npy`` file whose length is unknown in advance.

    Rows go straight into a temporary file beside the target, after a header slot of fixed
    size (memory stays at one batch); ``close`` rewrites the header in place for the final row
    count and renames the file into place, so a 2 GB dump is written once, never copied.
    Used for the image set (rows kept by quality control) and the activation dumps.
    """

    HEADER_BYTES = 256  # magic + length + the header dict padded with spaces; a multiple of 64

    def __init__(self, path, row_shape, dtype):
        self.path = Path(path)
        self.row_shape = tuple(row_shape)
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, raw = tempfile.mkstemp(prefix=f".{self.path.stem}.", suffix=".tmp.npy", dir=self.path.parent)
        self._raw_path = Path(raw)
        self._raw = os.fdopen(fd, "wb")
        self._raw.write(self._header())

    def _header(self):
        """Version 1.0 header for the current row count, padded to ``HEADER_BYTES``."""
        text = repr({"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                     "shape": (self.rows, *self.row_shape)})
        room = self.HEADER_BYTES - 10 - 1  # magic (6) + version (2) + length (2); final newline
        if len(text) > room:
            raise ValueError(f"{self.path}: .npy header for shape {(self.rows, *self.row_shape)} too long")
        body = (text + " " * (room - len(text)) + "\n").encode("latin1")
        return np.lib.format.magic(1, 0) + len(body).to_bytes(2, "little") + body

    def append(self, rows):
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"{self.path}: row shape {rows.shape[1:]} != {self.row_shape}")
        self._raw.write(memoryview(rows).cast("B"))
        self.rows += len(rows)

    def close(self):
        self._raw.seek(0)
        self._raw.write(self._header())
        self._raw.close()
        os.chmod(self._raw_path, 0o644)  # mkstemp makes 0600; outputs are for everyone to read
        os.replace(self._raw_path, self.path)

    def abort(self):
        self._raw.close()
        if self._raw_path.exists():
            self._raw_path.unlink()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.abort()
        return False
