"""Normalisation chosen by evidence: per-image scaling says when it divides away a brightness that
separates the classes, and ``auto`` then scales per dataset instead."""
import json

import numpy as np
import pandas as pd
import pytest

from support.config import validated_config
from support.ifc_export import CLASSES as EXPORT_CLASSES, IMAGE_SIZE, write_export
from cellscape.data.ingest import ingest
from cellscape.data.normalisation import normalisation_evidence, separation
from cellscape.figures.data_figures import qc_figure
from cellscape.runtime.tables import read_cell_table

OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")
SIZE = IMAGE_SIZE  # the export's 40 px


def run(root, classes, out, **data):
    cfg = validated_config({"classes": list(classes), "image_size": SIZE,
                            "data": {"source": "directory", "directory": str(root), **data}})
    ingest([root], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
           *[out / name for name in OUTPUTS])
    evidence = json.loads((out / "normalisation.json").read_text())
    return evidence, np.load(out / "images.npy"), read_cell_table(out / "index.csv")


def cell(nucleus, level, rng, background=100):
    """A (2, 40, 40) uint16 event: a round cell whose nucleus is ``round`` or ``lobed`` (two lobes of
    about the same total area), flat at ``level`` counts per channel, with a little noise."""
    yy, xx = np.mgrid[:SIZE, :SIZE] - 19.5
    image = np.full((2, SIZE, SIZE), background, np.float64)
    image[0, np.hypot(yy, xx) < 11] = level[0]
    lobes = (np.hypot(yy, xx) < 6 if nucleus == "round"
             else (np.hypot(yy, xx - 5) < 4.25) | (np.hypot(yy, xx + 5) < 4.25))
    image[1, lobes] = level[1]
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 65535).astype(np.uint16)


def write_classes(root, make, n=40, seed=0):
    """``make(class, k, rng)`` -> one event, ``n`` per class, object numbers restarting per class."""
    rng = np.random.default_rng(seed)
    for cls in ("a", "b"):
        (root / cls).mkdir(parents=True)
        for k in range(n):
            np.save(root / cls / f"{k}.npy", make(cls, k, rng))


def levels(k):
    """The same brightness ladder in every class: brightness alone says nothing of the class."""
    return np.array([800.0 + 40 * (k % 20), 1500.0 + 60 * ((7 * k) % 20)])


# ------------------------------------------------------------------ the AUC itself

def test_separation_is_the_auc_in_whichever_direction_separates():
    assert separation(np.array([1, 2, 3, 4]), np.array([0, 0, 1, 1])) == 1.0
    assert separation(np.array([4, 3, 2, 1]), np.array([0, 0, 1, 1])) == 1.0
    # label-1 values (2, 4) above label-0 values (1, 3): 2>1, 4>1, 4>3, not 2>3: 3 of 4 pairs
    assert separation(np.array([1, 3, 2, 4]), np.array([0, 0, 1, 1])) == 0.75


def table(values, classes, splits):
    return pd.DataFrame({"class": classes, "split": splits, "max_cytoplasm": values, "max_nucleus": 1.0,
                         "mean_cytoplasm": 1.0, "mean_nucleus": 1.0})


def test_evidence_comes_from_the_training_cells_only():
    classes = ["a"] * 4 + ["b"] * 4 + ["a", "b"]
    splits = ["train"] * 8 + ["test", "test"]
    values = [1, 2, 3, 4, 11, 12, 13, 14, 5, 5]
    first = normalisation_evidence(table(values, classes, splits), ["a", "b"], "per_image", 0.8, ["cytoplasm", "nucleus"])
    # the test cells now separate the other way round, and far: nothing may change
    second = normalisation_evidence(table(values[:8] + [100, -100], classes, splits), ["a", "b"], "per_image", 0.8, ["cytoplasm", "nucleus"])
    assert first == second
    assert first["training_cells"] == 8
    found = first["channels"]["cytoplasm"]["max"]
    assert found["best_pair"] == {"classes": ["a", "b"], "auc": 1.0}
    assert found["one_vs_rest_auc"] == {"a": 1.0, "b": 1.0}
    assert [s["channel"] for s in first["separating"]] == ["cytoplasm"]
    # a training set that does not separate: the test cells cannot make it
    mixed = [1, 12, 3, 14, 11, 2, 13, 4, 5, 5]
    none = normalisation_evidence(table(mixed, classes, splits), ["a", "b"], "per_image", 0.8, ["cytoplasm", "nucleus"])
    assert none["separating"] == [] and none["warnings"] == []
    assert none["channels"]["cytoplasm"]["max"]["best_pair"]["auc"] == 0.5


# ------------------------------------------------------------------ through ingestion

def test_a_class_twice_as_bright_warns_under_per_image_and_auto_picks_dataset(tmp_path):
    def make(cls, k, rng):
        level = levels(k) * ([1, 2] if cls == "b" else [1, 1])  # b: nucleus twice as bright
        return cell("round", level, rng)
    write_classes(tmp_path / "raw", make)
    out = tmp_path / "per_image"
    out.mkdir()
    evidence, per_image, _ = run(tmp_path / "raw", "ab", out, normalise="per_image")
    assert evidence["used"] == "per_image"
    channels = {s["channel"] for s in evidence["separating"]}
    assert channels == {"nucleus"}, evidence["separating"]
    assert evidence["channels"]["cytoplasm"]["max"]["best_pair"]["auc"] < 0.8
    assert evidence["warnings"] and all("nucleus" in w and "normalise: dataset" in w for w in evidence["warnings"])
    assert np.allclose(per_image.reshape(len(per_image), 2, -1).max(axis=2), 1.0)

    out = tmp_path / "auto"
    out.mkdir()
    auto, images, index = run(tmp_path / "raw", "ab", out, normalise="auto")
    assert auto["used"] == "dataset" and auto["warnings"] == []
    assert "nucleus" in auto["reason"]
    out = tmp_path / "dataset"
    out.mkdir()
    _, dataset, _ = run(tmp_path / "raw", "ab", out, normalise="dataset")
    np.testing.assert_array_equal(images, dataset)
    # the brightness survives: b's nuclei are about twice a's in the image the network sees
    nucleus = images[:, 1].reshape(len(images), -1).max(axis=1)
    ratio = np.median(nucleus[index["class"] == "b"]) / np.median(nucleus[index["class"] == "a"])
    assert 1.8 < ratio < 2.2, ratio


def test_classes_equal_in_brightness_but_not_in_shape_give_no_warning_and_auto_keeps_per_image(tmp_path):
    write_classes(tmp_path / "raw", lambda cls, k, rng: cell("round" if cls == "a" else "lobed", levels(k), rng))
    out = tmp_path / "per_image"
    out.mkdir()
    evidence, per_image, _ = run(tmp_path / "raw", "ab", out)
    assert evidence["separating"] == [] and evidence["warnings"] == []
    assert evidence["largest_auc"] < 0.8
    out = tmp_path / "auto"
    out.mkdir()
    auto, images, _ = run(tmp_path / "raw", "ab", out, normalise="auto")
    assert auto["used"] == "per_image" and auto["warnings"] == []
    np.testing.assert_allclose(images, per_image, rtol=0, atol=1e-6)


def test_a_three_class_export_with_colliding_ids_warns_and_auto_chooses_dataset(tmp_path):
    """The IFC-like export: object numbers restart in every class folder, the third class is
    lymphocytes with twice the nucleus stain (as G2 beside G1)."""
    write_export(tmp_path / "raw", 24)
    classes = list(EXPORT_CLASSES)
    out = tmp_path / "per_image"
    out.mkdir()
    evidence, _, index = run(tmp_path / "raw", classes, out, normalise="per_image")
    assert index["id"].is_unique and len(index) > 60
    top = evidence["separating"][0]
    assert top["channel"] == "nucleus", top
    # the pair that differs by brightness alone is named, whatever else the nucleus separates
    assert any(p["classes"] == ["lymphocyte", "lymphocyte_2n"] for s in evidence["separating"]
               if s["channel"] == "nucleus" for p in s["pairs"]), evidence["separating"]
    nucleus = next(w for w in evidence["warnings"] if "nucleus" in w)
    assert "lymphocyte_2n from lymphocyte (AUC" in nucleus, nucleus
    assert len(evidence["warnings"]) == len({s["channel"] for s in evidence["separating"]})  # one per channel
    fig = qc_figure(read_cell_table(out / "qc.csv"), classes, evidence)
    title = fig._suptitle.get_text()
    assert "normalisation: per_image" in title and "warning:" in title and "lymphocyte_2n" in title

    out = tmp_path / "auto"
    out.mkdir()
    auto, _, _ = run(tmp_path / "raw", classes, out, normalise="auto")
    assert auto["used"] == "dataset" and "nucleus" in auto["reason"]
