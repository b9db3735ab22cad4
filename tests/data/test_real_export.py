"""A real export as it arrives: object numbers that restart in every class folder, bad files inside,
40 px frames. Every cell gets its own id, every bad file is named, Fig. 2 counts each problem."""
import numpy as np
import pandas as pd
import pytest
import tifffile

from support.config import validated_config
from cellscape.data.ingest import ingest
from cellscape.data.readers import InputError
from cellscape.data.simulate import simulate_chunk, simulate_event
from cellscape.figures.data_figures import qc_figure
from cellscape.runtime.tables import read_cell_table
from support.ifc_export import CLASSES, FRAME, IMAGE_SIZE, write_export

OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")


def export_config(root, **data):
    return validated_config({"classes": list(CLASSES), "image_size": IMAGE_SIZE,
                             "data": {"source": "directory", "directory": str(root), **data}})


def run_ingest(root, cfg, out, threads=1):
    return ingest([root], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
                  *[out / name for name in OUTPUTS], threads=threads)


def lymphocyte(seed):
    return simulate_event(np.random.default_rng(seed), "lymphocyte", FRAME)[0]


# ------------------------------------------------------------------ identity

@pytest.mark.parametrize("threads", [1, 2])
def test_object_numbers_repeated_in_every_class_folder_give_one_id_per_cell(tmp_path, threads):
    write_export(tmp_path / "raw", 6)
    index, qc = run_ingest(tmp_path / "raw", export_config(tmp_path / "raw"), tmp_path / "out", threads)
    assert len(qc) == 18
    assert sorted(qc["id"]) == sorted(f"{cls}/{i}" for cls in CLASSES for i in range(6))
    on_disk = read_cell_table(tmp_path / "out" / "index.csv")
    assert len(on_disk) >= 15 and on_disk["id"].is_unique
    for _, cell in on_disk.iterrows():  # each id points at its own files
        cls, obj = cell["id"].split("/")
        assert cell["class"] == cls and cell["object"] == obj
        assert cell["source"] == str(tmp_path / "raw" / cls / f"{obj}_Ch2.ome.tif")
    # the image row of neutrophil/0 is the neutrophil's, not lymphocyte/0's
    images = np.load(tmp_path / "out" / "images.npy")
    for cls in ("lymphocyte", "neutrophil"):
        row = on_disk.set_index("id").loc[f"{cls}/0", "row"]
        raw_nucleus = tifffile.imread(tmp_path / "raw" / cls / "0_Ch4.ome.tif")
        assert (images[row, 1] > 0).sum() == pytest.approx((raw_nucleus > raw_nucleus.max() * 0.3).sum(), rel=0.5)
        assert np.unravel_index(images[row, 1].argmax(), images.shape[2:]) == np.unravel_index(
            np.argmax(raw_nucleus), raw_nucleus.shape)


def test_object_names_keep_leading_zeros(tmp_path):
    root = tmp_path / "raw"
    for cls, names in (("lymphocyte", ("007", "7", "0100")), ("neutrophil", ("007", "a", "b")),
                       ("lymphocyte_2n", ("007", "c", "d"))):
        (root / cls).mkdir(parents=True)
        for k, name in enumerate(names):
            image = lymphocyte(k)
            for token, plane in zip(("Ch2", "Ch4"), image):
                tifffile.imwrite(root / cls / f"{name}_{token}.ome.tif", plane)
    run_ingest(root, export_config(root), tmp_path / "out")
    qc = read_cell_table(tmp_path / "out" / "qc.csv")
    assert {"lymphocyte/007", "lymphocyte/7", "lymphocyte/0100", "neutrophil/007"} <= set(qc["id"])
    assert qc.set_index("id").loc["lymphocyte/0100", "object"] == "0100"


@pytest.mark.parametrize("files", [
    ("7.tif", "7.npy"),                                   # two stacks of one object
    ("7_Ch2.ome.tif", "7_Ch2.tif"),                       # two cytoplasm files of one object
    ("7.ome.tif", "7_Ch2.ome.tif"),                       # a stack beside a per-channel pair
])
def test_two_files_claiming_one_cell_are_an_error_naming_both(tmp_path, files):
    root = tmp_path / "raw"
    write_export(root, 3)
    folder = root / "neutrophil"
    image = lymphocyte(1)
    for name in files:
        if name.endswith(".npy"):
            np.save(folder / name, image)
        elif "_Ch" in name:
            tifffile.imwrite(folder / name, image[0])
            tifffile.imwrite(folder / "7_Ch4.ome.tif", image[1])
        else:
            tifffile.imwrite(folder / name, image, photometric="minisblack")
    with pytest.raises(InputError) as err:
        run_ingest(root, export_config(root), tmp_path / "out")
    message = str(err.value)
    for name in files:
        assert str(folder / name) in message, message
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_the_same_cell_in_two_raw_folders_is_an_error_naming_both_files(tmp_path):
    """Two simulator chunks with the same chunk number hold the same <class>/<object> ids."""
    for name, seed in (("a", 1), ("b", 2)):
        simulate_chunk(tmp_path / name, 0, 30, seed=seed, progress=False)
    cfg = validated_config()
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        ingest([tmp_path / "a", tmp_path / "b"], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"],
               cfg["seed"], *[out / name for name in OUTPUTS])
    message = str(err.value)
    assert "claimed twice" in message and str(tmp_path / "a") in message and str(tmp_path / "b") in message


# ------------------------------------------------------------------ bad files in the export

def add_bad_files(root):
    """One bad file of each kind a real export holds, in the lymphocyte folder; returns
    {object: (problem, file the message must name)}."""
    folder = root / "lymphocyte"
    # truncated: the file was cut short while copying
    tifffile.imwrite(folder / "900_Ch2.ome.tif", lymphocyte(900)[0], photometric="minisblack")
    tifffile.imwrite(folder / "900_Ch4.ome.tif", lymphocyte(900)[1], photometric="minisblack")
    data = (folder / "900_Ch2.ome.tif").read_bytes()
    (folder / "900_Ch2.ome.tif").write_bytes(data[:len(data) // 2])
    # garbage with an image name
    (folder / "901_Ch4.ome.tif").write_bytes(b"this is not an image, it is a note someone saved here")
    tifffile.imwrite(folder / "901_Ch2.ome.tif", lymphocyte(901)[0])
    # channels of different sizes
    tifffile.imwrite(folder / "902_Ch2.ome.tif", lymphocyte(902)[0])
    tifffile.imwrite(folder / "902_Ch4.ome.tif", lymphocyte(902)[1, :30])
    # a dead channel: the cytoplasm channel is the camera offset everywhere
    tifffile.imwrite(folder / "903_Ch2.ome.tif", np.full((IMAGE_SIZE, IMAGE_SIZE), 100, np.uint16))
    tifffile.imwrite(folder / "903_Ch4.ome.tif", lymphocyte(903)[1])
    # the nucleus file went missing
    tifffile.imwrite(folder / "904_Ch2.ome.tif", lymphocyte(904)[0])
    return {"900": ("unreadable file", "900_Ch2.ome.tif"), "901": ("unreadable file", "901_Ch4.ome.tif"),
            "902": ("channel sizes differ", "902_Ch4.ome.tif"), "903": ("weak or constant channel", None),
            "904": ("missing partner channel", "904")}


@pytest.fixture
def bad_export(tmp_path):
    root = tmp_path / "raw"
    write_export(root, 5)
    return root, add_bad_files(root)


def test_every_bad_file_is_a_rejection_naming_the_file_and_the_problem(bad_export, tmp_path):
    root, bad = bad_export
    index, _ = run_ingest(root, export_config(root), tmp_path / "out")
    qc = read_cell_table(tmp_path / "out" / "qc.csv").set_index("id")
    assert len(qc) == 15 + 5
    for obj, (problem, named) in bad.items():
        row = qc.loc[f"lymphocyte/{obj}"]
        assert not row["kept"] and row["problem"] == problem, (obj, row.to_dict())
        if named is not None:
            assert not row["qc_readable"] and row["reason"].startswith("qc_readable: ")
            assert str(root / "lymphocyte" / named) in row["reason"], row["reason"]
    assert qc.loc["lymphocyte/903", "reason"] == "qc_signal_both" and qc.loc["lymphocyte/903", "qc_readable"]
    assert "Ch4" in qc.loc["lymphocyte/904", "reason"]  # what is missing
    assert qc.loc["lymphocyte/904", "source"] == str(root / "lymphocyte" / "904_Ch2.ome.tif")
    assert not {f"lymphocyte/{obj}" for obj in bad} & set(index["id"])


def test_fig02_counts_every_bad_file_under_its_problem(bad_export, tmp_path):
    root, _ = bad_export
    _, qc = run_ingest(root, export_config(root), tmp_path / "out")
    fig = qc_figure(read_cell_table(tmp_path / "out" / "qc.csv"), list(CLASSES))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    counts = {cls: dict(zip(labels, (bar.get_width() for bar in ax.containers[k])))
              for k, cls in enumerate(CLASSES)}
    removed_good = qc[~qc["kept"] & ~qc["object"].isin(["900", "901", "902", "903", "904"])]
    assert len(removed_good) == 0, removed_good  # the simulated cells of this export all pass
    assert counts["lymphocyte"]["unreadable file"] == 2
    assert counts["lymphocyte"]["missing partner channel"] == 1
    assert counts["lymphocyte"]["channel sizes differ"] == 1
    assert counts["lymphocyte"]["weak or constant channel"] == 1
    assert counts["lymphocyte"]["cell area out of range"] == 0  # every check is listed
    assert all(v == 0 for cls in ("neutrophil", "lymphocyte_2n") for v in counts[cls].values())
    assert "5 of 20 events removed" in ax.get_title()


def test_missing_partner_channel_stops_ingestion_with_on_bad_event_error(bad_export, tmp_path):
    root, _ = bad_export
    out = tmp_path / "out"
    with pytest.raises(InputError) as err:
        run_ingest(root, export_config(root, on_bad_event="error"), out)
    assert "missing partner channel" in str(err.value) and str(root / "lymphocyte" / "904") in str(err.value)
    assert not out.exists() or not list(out.iterdir())


# ------------------------------------------------------------------ intensity per class

def disc_stack(radius, cytoplasm, nucleus, background=100):
    """A (2, 40, 40) uint16 event: a flat disc of ``cytoplasm``/``nucleus`` counts on ``background``."""
    yy, xx = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
    disc = np.hypot(yy - 19.5, xx - 19.5) < radius
    image = np.full((2, IMAGE_SIZE, IMAGE_SIZE), background, np.uint16)
    image[0][disc], image[1][disc] = cytoplasm, nucleus
    return image, int(disc.sum())


def test_integrated_intensity_per_channel_is_recorded_and_drawn_per_class(tmp_path):
    root = tmp_path / "raw"
    brightness = {"lymphocyte": (1100, 2100), "neutrophil": (1100, 4100), "lymphocyte_2n": (3100, 2100)}
    expected = {}
    for cls, (cyto, nuc) in brightness.items():
        (root / cls).mkdir(parents=True)
        for k, radius in enumerate((11, 12, 13)):
            image, area = disc_stack(radius, cyto, nuc)
            np.save(root / cls / f"{k}.npy", image)
            expected[f"{cls}/{k}"] = ((cyto - 100) * area, (nuc - 100) * area)
    index, _ = run_ingest(root, export_config(root), tmp_path / "out")
    qc = read_cell_table(tmp_path / "out" / "qc.csv").set_index("id")
    assert qc["kept"].all(), qc[~qc["kept"]]
    for cell, (cyto, nuc) in expected.items():
        assert qc.loc[cell, "intensity_cytoplasm"] == pytest.approx(cyto)
        assert qc.loc[cell, "intensity_nucleus"] == pytest.approx(nuc)
    on_disk = pd.read_csv(tmp_path / "out" / "index.csv").set_index("id")
    assert on_disk.loc["neutrophil/1", "intensity_nucleus"] == pytest.approx(expected["neutrophil/1"][1])
    fig = qc_figure(qc.reset_index(), list(CLASSES))
    titles = [ax.get_title() for ax in fig.axes]
    assert any("cytoplasm intensity per class" in t for t in titles)
    nucleus_ax = next(ax for ax in fig.axes if "nucleus intensity per class" in ax.get_title())
    legend = [t.get_text() for t in nucleus_ax.get_legend().get_texts()]
    median = expected["neutrophil/1"][1]  # radius 12: the middle of the three discs
    assert f"neutrophil (median {median:.3g}, n = 3)" in legend, legend
