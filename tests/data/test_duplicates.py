"""Copies of one image (exact, rotated, mirrored) are found, reported, kept in one split, or dropped."""
import json

import numpy as np
import pandas as pd
import pytest

from support.config import validated_config
from support.export60x import CLASSES, IMAGE_SIZE, dihedral_copy, write_export
from cellscape.data.duplicates import image_hash
from cellscape.data.ingest import ingest
from cellscape.data.readers import InputError
from cellscape.data.split import stratified_split

OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")
N = 60
COPIES = 18  # 30% of the large class


def config(root, duplicates="keep_together"):
    return validated_config({"classes": list(CLASSES), "image_size": IMAGE_SIZE,
                             "data": {"source": "directory", "directory": str(root), "duplicates": duplicates}})


def run(root, cfg, out):
    index, qc = ingest([root], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
                       *[out / name for name in OUTPUTS], out_summary=out / "qc_summary.json")
    return index, qc, json.loads((out / "qc_summary.json").read_text())


@pytest.fixture(scope="module")
def copied(tmp_path_factory):
    root = tmp_path_factory.mktemp("copies") / "raw"
    truth = write_export(root, N, seed=4, copies={"large": COPIES})
    # the groups, from the truth: an original and its copies
    truth["group"] = truth["copy_of"].where(truth["copy_of"] != "", truth["id"])
    sizes = truth.groupby("group")["id"].transform("size")
    truth["in_group"] = sizes > 1
    return root, truth


def test_every_rotation_and_mirror_image_has_the_same_hash():
    image = np.random.default_rng(0).integers(0, 4000, (3, 31, 24)).astype(np.float32)
    hashes = {image_hash(dihedral_copy(image, k)) for k in range(1, 8)} | {image_hash(image)}
    assert len(hashes) == 1
    other = image.copy()
    other[0, 5, 5] += 1
    assert image_hash(other) != image_hash(image)
    assert image_hash(image * 2) != image_hash(image)  # rescaled intensities are not caught


def test_copy_groups_are_reported_and_never_split(copied, tmp_path):
    root, truth = copied
    index, qc, summary = run(root, config(root), tmp_path / "out")
    both = qc.merge(truth, on="id", suffixes=("", "_truth"))
    # every copy and its original share duplicate_of; nothing else has one
    grouped = both[both["in_group"]]
    assert (grouped["duplicate_of"] != "").all()
    assert (both.loc[~both["in_group"], "duplicate_of"].fillna("") == "").all()
    assert grouped.groupby("group")["duplicate_of"].nunique().eq(1).all()
    n_groups, n_images = truth.loc[truth["in_group"], "group"].nunique(), int(truth["in_group"].sum())
    assert summary["duplicates"]["groups"] == n_groups
    assert summary["duplicates"]["per_class"] == {"large": {"groups": n_groups, "images": n_images}}
    assert any("copies of each other" in w and "large" in w for w in summary["warnings"])
    # kept together: one split per group, in the index
    kept = index.merge(truth, on="id", suffixes=("", "_truth"))
    assert kept[kept["in_group"]].groupby("group")["split"].nunique().eq(1).all()
    assert len(kept) == len(index) and kept["in_group"].sum() >= 0.9 * truth["in_group"].sum()
    shares = index.groupby("class")["split"].value_counts(normalize=True)
    assert shares["small"]["train"] == pytest.approx(0.6, abs=0.05)
    assert shares["large"]["train"] == pytest.approx(0.6, abs=0.2)  # as far as the groups allow


def test_drop_copies_keeps_one_image_of_each_group(copied, tmp_path):
    root, truth = copied
    index, qc, summary = run(root, config(root, "drop_copies"), tmp_path / "out")
    both = index.merge(truth, on="id", suffixes=("", "_truth"))
    assert both.groupby("group").size().max() == 1
    assert both["group"].nunique() >= truth["group"].nunique() - 3  # groups lost only to other checks
    dropped = qc[qc["reason"] == "qc_unique"]
    assert len(dropped) == int(truth["in_group"].sum()) - truth.loc[truth["in_group"], "group"].nunique()


def test_duplicates_error_names_the_groups_and_writes_qc_csv(copied, tmp_path):
    root, truth = copied
    with pytest.raises(InputError, match="groups of duplicate images") as err:
        run(root, config(root, "error"), tmp_path / "out")
    first_copy = truth.loc[truth["copy_of"] != ""].iloc[0]
    assert first_copy["id"] in str(err.value) or first_copy["copy_of"] in str(err.value)
    qc = pd.read_csv(tmp_path / "out" / "qc.csv", keep_default_na=False)
    assert (qc["duplicate_of"] != "").sum() == truth["in_group"].sum()
    assert not (tmp_path / "out" / "images.npy").exists()


def test_group_aware_split_without_groups_is_the_plain_stratified_split():
    labels = np.repeat([0, 1], [50, 70])
    plain = stratified_split(labels, {"train": 0.6, "val": 0.2, "test": 0.2}, 3)
    assert (stratified_split(labels, {"train": 0.6, "val": 0.2, "test": 0.2}, 3, groups=[""] * 120) == plain).all()
    groups = np.where(np.arange(120) < 30, (np.arange(120) // 5).astype(str), "")
    split = stratified_split(labels, {"train": 0.6, "val": 0.2, "test": 0.2}, 3, groups=groups)
    assert pd.Series(split[:30]).groupby(groups[:30]).nunique().eq(1).all()
    assert (split == "train").mean() == pytest.approx(0.6, abs=0.05)
