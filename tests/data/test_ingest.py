"""Ingestion end to end: simulated and real events in, a consistent image set (or a clear error) out."""
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import yaml
from scipy import ndimage

from support.config import ROOT, validated_config
from cellscape.data.ingest import ingest, read_properties
from cellscape.data.readers import InputError
from cellscape.data.simulate import BAD_EVENT_TYPES, simulate_chunk, simulate_event

CLASSES = ["lymphocyte", "neutrophil"]
OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")
PBC = ROOT.parent / "shared" / "data" / "pbc"


def run_ingest(roots, cfg, out, threads=1, properties=None):
    paths = [Path(out) / name for name in OUTPUTS]
    return ingest(roots, cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
                  *paths, threads=threads, properties=properties)


def good_cell(seed, cls="lymphocyte"):
    return simulate_event(np.random.default_rng(seed), cls)[0]


def write_pair(folder, event_id, image):
    folder.mkdir(parents=True, exist_ok=True)
    for token, plane in zip(("Ch2", "Ch4"), image):
        tifffile.imwrite(folder / f"{event_id}_{token}.ome.tif", plane)


# ------------------------------------------------------------------ simulated events

@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """240 simulated events, a third of them bad (every bad type), ingested once."""
    base = tmp_path_factory.mktemp("simulated")
    params = {"bad_event_fraction": 0.35}
    simulate_chunk(base / "raw" / "000", 0, 240, seed=3, params=params, progress=False)
    properties = read_properties([base / "raw" / "000" / "properties.csv"])
    cfg = validated_config({"data": {"normalise": "per_image"}})  # the paper's: each channel's maximum 1
    index, qc = run_ingest([base / "raw" / "000"], cfg, base / "out", properties=properties)
    truth = properties.assign(id=properties["class"] + "/" + properties["event_id"].astype(str))[["id", "event_type"]]
    qc = qc.assign(id=qc["id"].astype(str)).merge(truth, on="id", validate="one_to_one")
    return base, cfg, index, qc


def test_every_simulated_bad_event_type_is_removed(simulated):
    _, _, _, qc = simulated
    kept_by_type = qc.groupby("event_type")["kept"].agg(["sum", "size"])
    assert set(BAD_EVENT_TYPES) <= set(kept_by_type.index), "the fixture must hold every bad type"
    for event_type in BAD_EVENT_TYPES:
        assert kept_by_type.loc[event_type, "sum"] == 0, (event_type, kept_by_type)


def test_nearly_all_good_simulated_cells_are_kept(simulated):
    _, _, index, qc = simulated
    cells = qc[qc["event_type"] == "cell"]
    assert cells["kept"].mean() >= 0.97
    assert len(index) == qc["kept"].sum()
    assert set(index["event_type"]) == {"cell"}  # simulator ground truth joined to the index


def test_image_set_files_agree_with_each_other(simulated):
    base, cfg, index, qc = simulated
    out = base / "out"
    images = np.load(out / "images.npy", mmap_mode="r")
    assert images.dtype == np.float32 and images.shape == (len(index), 2, 78, 78)
    on_disk = pd.read_csv(out / "index.csv")
    assert list(on_disk.columns[:6]) == ["row", "id", "class", "label", "split", "source"]
    np.testing.assert_array_equal(on_disk["row"], np.arange(len(images)))
    assert (on_disk["label"] == on_disk["class"].map({c: i for i, c in enumerate(CLASSES)})).all()
    assert json.loads((out / "classes.json").read_text()) == CLASSES
    qc_disk = pd.read_csv(out / "qc.csv")
    assert len(qc_disk) == 240 and qc_disk["kept"].sum() == len(images)
    assert (qc_disk.loc[~qc_disk["kept"], "reason"].str.startswith("qc_")).all()
    assert not list(out.glob(".*"))  # no temporary files left behind
    # each kept image: per-channel maximum 1, background exactly 0 (20% rule), cell in the middle
    peaks = images.reshape(len(images), 2, -1).max(axis=2)
    np.testing.assert_allclose(peaks, 1.0)
    assert (images[:, :, :3, :] == 0).all()
    assert (images[:, :, 29:49, 29:49] > 0).any(axis=(2, 3)).all()
    # the split is stratified 60:20:20 per class
    for cls, group in on_disk.groupby("class"):
        assert abs((group["split"] == "train").mean() - 0.6) < 0.03, cls


def test_parallel_ingest_writes_the_same_set(simulated, tmp_path):
    base, cfg, index, _ = simulated
    run_ingest([base / "raw" / "000"], cfg, tmp_path, threads=2)
    assert (tmp_path / "images.npy").read_bytes() == (base / "out" / "images.npy").read_bytes()
    assert pd.read_csv(tmp_path / "index.csv")["id"].astype(str).tolist() == index["id"].tolist()


def test_dataset_normalisation_scales_by_the_training_cells(simulated, tmp_path):
    base, cfg, _, _ = simulated
    cfg = validated_config({"data": {"normalise": "dataset"}})
    index, _ = run_ingest([base / "raw" / "000"], cfg, tmp_path)
    images = np.load(tmp_path / "images.npy")
    assert images.min() >= 0 and images.max() <= 1
    train_peaks = images[index["split"] == "train"].reshape(-1, 2, 78 * 78).max(axis=2)
    assert ((train_peaks >= 1).mean(axis=0) <= 0.02).all()  # 99th percentile -> 1
    assert (train_peaks.max(axis=0) == 1).all()             # relative brightness survives:
    assert (np.median(train_peaks, axis=0) < 0.95).all()   # not every cell is at 1


# ------------------------------------------------------------------ formats and bad events

@pytest.fixture
def mixed_dir(tmp_path):
    """Good cells in every fluorescence layout: per-channel pairs, .npy and .tif stacks."""
    root = tmp_path / "raw"
    for cls in CLASSES:
        (root / cls).mkdir(parents=True)
    for i in range(3):
        write_pair(root / "lymphocyte", f"ly_pair{i}", good_cell(i))
        np.save(root / "lymphocyte" / f"ly_stack{i}.npy", good_cell(10 + i))
        tifffile.imwrite(root / "neutrophil" / f"ne_last{i}.tif",
                         np.moveaxis(good_cell(20 + i, "neutrophil"), 0, -1))
        tifffile.imwrite(root / "neutrophil" / f"ne_first{i}.tiff", good_cell(30 + i, "neutrophil"),
                         photometric="minisblack")
    return root


def test_every_fluorescence_layout_is_ingested(mixed_dir, tmp_path, default_config):
    index, qc = run_ingest([mixed_dir], default_config, tmp_path / "out")
    assert qc["kept"].all(), qc[~qc["kept"]]
    assert sorted(index["id"]) == sorted([f"lymphocyte/ly_pair{i}" for i in range(3)]
                                         + [f"lymphocyte/ly_stack{i}" for i in range(3)]
                                         + [f"neutrophil/ne_last{i}" for i in range(3)]
                                         + [f"neutrophil/ne_first{i}" for i in range(3)])
    images = np.load(tmp_path / "out" / "images.npy")
    row = index.set_index("id").loc["neutrophil/ne_last0", "row"]
    expected = good_cell(20, "neutrophil").astype(np.float32)
    # same cell, whatever the layout: the nucleus channel peaks where the raw nucleus does
    assert np.unravel_index(images[row, 1].argmax(), (78, 78)) == np.unravel_index(expected[1].argmax(), (78, 78))


def add_bad_events(root):
    """One bad event of every kind, sorted after the good ones (so a failure comes mid-ingest)."""
    folder = root / "lymphocyte"
    (folder / "z1_corrupt.tif").write_bytes(b"II*\x00 this is not a tiff")
    nan = good_cell(40).astype(np.float32)
    nan[0, 5, 5] = np.nan
    np.save(folder / "z2_nan.npy", nan)
    np.save(folder / "z3_constant.npy", np.full((2, 78, 78), 120, np.uint16))
    np.save(folder / "z4_one_channel.npy", good_cell(41)[0])
    tifffile.imwrite(folder / "z5_sizes_Ch2.ome.tif", good_cell(42)[0])
    tifffile.imwrite(folder / "z5_sizes_Ch4.ome.tif", good_cell(42)[1, :70])
    return {"z1_corrupt": ("unreadable TIFF", "unreadable file"), "z2_nan": ("NaN", "NaN or infinite values"),
            "z3_constant": ("constant", "constant image"),
            "z4_one_channel": ("multi-channel stack", "wrong image shape"),
            "z5_sizes": ("differs", "channel sizes differ")}


def test_bad_events_are_recorded_in_qc_when_skipped(mixed_dir, tmp_path, default_config):
    problems = add_bad_events(mixed_dir)
    index, qc = run_ingest([mixed_dir], default_config, tmp_path / "out")
    ids = {f"lymphocyte/{name}" for name in problems}
    assert len(index) == 12 and not ids & set(index["id"])
    qc = pd.read_csv(tmp_path / "out" / "qc.csv").set_index("id")
    for name, (message, kind) in problems.items():
        row = qc.loc[f"lymphocyte/{name}"]
        assert not row["kept"] and not row["qc_readable"]
        assert row["reason"].startswith("qc_readable:") and message in row["reason"]
        assert name in row["reason"]  # the message names the file
        assert row["problem"] == kind


@pytest.mark.parametrize("threads", [1, 2])
def test_bad_event_with_on_bad_event_error_writes_nothing(mixed_dir, tmp_path, threads):
    add_bad_events(mixed_dir)
    cfg = validated_config({"data": {"on_bad_event": "error"}})
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        run_ingest([mixed_dir], cfg, out, threads=threads)
    assert "z1_corrupt.tif" in str(err.value) and "unreadable TIFF" in str(err.value)
    assert not out.exists() or not list(out.iterdir())  # no half-written set, no temp files


def test_failed_ingest_does_not_clobber_an_existing_set(mixed_dir, tmp_path, default_config):
    out = tmp_path / "out"
    run_ingest([mixed_dir], default_config, out)
    before = {name: (out / name).read_bytes() for name in OUTPUTS}
    add_bad_events(mixed_dir)
    with pytest.raises(InputError):
        run_ingest([mixed_dir], validated_config({"data": {"on_bad_event": "error"}}), out)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)


def test_class_emptied_by_quality_control_is_an_error_naming_it(mixed_dir, tmp_path):
    """Settings that reject a whole class must stop the run, naming the class and the checks."""
    cfg = validated_config({"qc": {"max_area": 2000}})
    shutil.rmtree(mixed_dir / "neutrophil")
    (mixed_dir / "neutrophil").mkdir()
    for i in range(4):  # big, border-cut neutrophils only
        img = np.zeros((2, 78, 78), np.uint16) + 100
        img[:, :, :30] = 5000
        np.save(mixed_dir / "neutrophil" / f"cut{i}.npy", img + i)
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        run_ingest([mixed_dir], cfg, out)
    assert "neutrophil" in str(err.value) and "fewer than 3 cells" in str(err.value)
    assert "qc_" in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["qc.csv"]  # why, event by event; no image set
    qc = pd.read_csv(out / "qc.csv")
    assert len(qc) == 10 and not qc.loc[qc["class"] == "neutrophil", "kept"].any()
    assert (qc.loc[qc["class"] == "neutrophil", "border_px"] > 0).all()


# ------------------------------------------------------------------ real data (PBC smears)

def pbc_config():
    cfg = yaml.safe_load((ROOT / "configs" / "pbc.yaml").read_text())
    return validated_config(cfg)


def test_pbc_config_is_valid_and_points_at_the_data():
    cfg = pbc_config()
    assert cfg["data"]["source"] == "directory" and cfg["data"]["fit"] == "resize"
    assert (ROOT / cfg["data"]["directory"]).resolve() == PBC.resolve()
    assert cfg["results"] == "results/pbc"


@pytest.mark.skipif(not PBC.is_dir(), reason=f"PBC data not present at {PBC}")
def test_pbc_smears_go_through_the_rgb_path(tmp_path):
    """10 real smears per class, both acquisition batches: most kept, centred, red cells removed."""
    from PIL import Image
    cfg = pbc_config()
    for cls in CLASSES:
        (tmp_path / "raw" / cls).mkdir(parents=True)
        sizes = {}
        for f in sorted((PBC / cls).iterdir()):
            if not f.name.startswith("."):
                with Image.open(f) as im:  # reads the header only
                    sizes[f] = im.size
        batch1 = [f for f, size in sizes.items() if size == (360, 363)]
        batch2 = [f for f, size in sizes.items() if size == (366, 369)]
        for f in batch1[::len(batch1) // 8][:8] + batch2[:2]:
            (tmp_path / "raw" / cls / f.name).symlink_to(f)
    index, qc = run_ingest([tmp_path / "raw"], cfg, tmp_path / "out")
    assert len(qc) == 20 and qc["qc_readable"].all()
    assert qc["kept"].mean() >= 0.8, qc[~qc["kept"]][["id", "reason"]]
    images = np.load(tmp_path / "out" / "images.npy")
    cell = images.any(axis=1)
    # neighbouring red cells are gone: nothing left in the frame corners, the cell in the middle
    assert not cell[:, :12, :12].any() and not cell[:, -12:, -12:].any()
    for mask in cell:
        assert np.hypot(*(np.array(ndimage.center_of_mass(mask)) - 38.5)) < 12
    # class morphology survives: a lymphocyte's nucleus fills its cell, a neutrophil's does not
    nucleus_share = (images[:, 1] > 0).sum(axis=(1, 2)) / cell.sum(axis=(1, 2))
    share = pd.Series(nucleus_share).groupby(index["class"].to_numpy()).median()
    assert share["lymphocyte"] > share["neutrophil"] + 0.05, share
