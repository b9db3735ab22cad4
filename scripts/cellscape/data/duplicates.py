"""Copies of one image among the events: exact, or rotated by a multiple of 90 degrees and/or
mirrored (the eight symmetries of the pixel grid, which training's augmentation also applies).

An event's ``image_hash`` hashes its raw pixels (every channel, as read, with the frame's shape)
in a canonical orientation: the one of the eight transforms whose bytes sort first, so an image
and any rotated or flipped copy share it. Events with one hash form a duplicate group; the split keeps a group together
(:func:`cellscape.data.split.stratified_split`), so a copy can never be trained on and tested on.

Not caught: copies whose pixels changed otherwise (rescaled or offset intensities, re-encoded
with loss, cropped, shifted by a pixel, resampled to another frame size).
"""
import hashlib

import numpy as np
import pandas as pd


def dihedral(image):
    """The eight rotations and mirror images of ``image`` (C, H, W)."""
    for flipped in (image, image[:, :, ::-1]):
        for k in range(4):
            yield np.rot90(flipped, k, axes=(1, 2))


def image_hash(image):
    """The canonical hash of ``image`` (C, H, W): the same for the image and every rotation by a
    multiple of 90 degrees and mirror image of it. Of the eight transforms, the one whose shape
    and raw bytes sort first is hashed (a byte comparison costs less than eight hashes)."""
    image = np.asarray(image)
    first = min(repr(t.shape).encode() + np.ascontiguousarray(t).tobytes() for t in dihedral(image))
    return hashlib.blake2b(image.dtype.str.encode() + first, digest_size=12).hexdigest()


def duplicate_groups(ids, hashes):
    """``duplicate_of`` per event: the first id (in the given order) of the events sharing its
    hash, for every member of a group of two or more; "" for an event without copies or hash."""
    table = pd.DataFrame({"id": list(ids), "hash": list(hashes)})
    hashed = table["hash"].fillna("").astype(str) != ""
    first = table[hashed].groupby("hash")["id"].transform("first")
    size = table[hashed].groupby("hash")["id"].transform("size")
    out = pd.Series("", index=table.index, dtype=object)
    out[first.index[size.to_numpy() > 1]] = first[size > 1]
    return out.to_numpy()


def duplicate_report(qc):
    """What the duplicate groups of qc.csv are: {groups, images, per class {groups, images},
    groups spanning classes (each a list of its ids)}."""
    members = qc[qc["duplicate_of"].fillna("").astype(str) != ""]
    per_class = {}
    for cls, part in members.groupby("class"):
        per_class[str(cls)] = {"groups": int(part["duplicate_of"].nunique()), "images": int(len(part))}
    mixed = [list(part["id"]) for _, part in members.groupby("duplicate_of") if part["class"].nunique() > 1]
    return {"groups": int(members["duplicate_of"].nunique()), "images": int(len(members)),
            "per_class": per_class, "across_classes": mixed}
