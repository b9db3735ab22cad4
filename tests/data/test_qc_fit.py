"""Quality control that fits the data: shape bounds from the events (or in square micrometres) at a
60x-like scale, every measured value beside each verdict, and a word when a check removes much of
a class or classes at different rates."""
import json

import numpy as np
import pandas as pd
import pytest
import tifffile

from support.config import validated_config
from support.export60x import CLASSES, IMAGE_SIZE, PIXEL_UM, write_export
from cellscape.data.ingest import ingest
from cellscape.data.quality import removal_warnings
from cellscape.data.readers import InputError
from cellscape.figures.data_figures import qc_figure

OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")


def config(root, **over):
    qc = over.pop("qc", {})
    return validated_config({"classes": list(CLASSES), "image_size": over.pop("image_size", IMAGE_SIZE),
                             "data": {"source": "directory", "directory": str(root), **over}, "qc": qc})


def run(root, cfg, out):
    index, qc = ingest([root], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
                       *[out / name for name in OUTPUTS], out_summary=out / "qc_summary.json")
    return index, qc, json.loads((out / "qc_summary.json").read_text())


@pytest.fixture(scope="module")
def export60(tmp_path_factory):
    """60 events per class at 0.18 um pixels, 6 bad ones (debris, doublets) in each."""
    root = tmp_path_factory.mktemp("export60") / "raw"
    truth = write_export(root, 60, seed=1, bad={cls: {"debris": 3, "doublet": 3} for cls in CLASSES})
    return root, truth


def kept_share_of_good_cells(qc, truth):
    both = qc.merge(truth, on="id", suffixes=("", "_truth"))
    good = both[both["event_type"] == "cell"]
    return good.groupby("class")["kept"].mean()


def test_auto_bounds_keep_nearly_every_good_cell_of_two_sizes_at_60x(export60, tmp_path):
    root, truth = export60
    _, qc, summary = run(root, config(root), tmp_path / "out")
    kept = kept_share_of_good_cells(qc, truth)
    assert (kept >= 0.9).all(), kept
    both = qc.merge(truth, on="id", suffixes=("", "_truth"))
    assert not both.loc[both["event_type"] == "doublet", "kept"].any()
    assert summary["bounds"]["area_bounds"] == "auto"
    # cells 3-4x the default's area: far beyond the pixel bounds made for 78 px frames
    assert summary["bounds"]["max_area_px"] > 1400
    assert qc.loc[qc["kept"] & (qc["class"] == "large"), "area_px"].median() > 2 * 1400


def test_the_pixel_bounds_made_for_the_simulator_cut_60x_cells(export60, tmp_path):
    """The reason auto is the default: qc.min_area/max_area (250-1,400 px) stop this export."""
    root, truth = export60
    with pytest.raises(InputError, match="fewer than 3 cells"):
        run(root, config(root, qc={"area_bounds": "pixels"}), tmp_path / "out")
    qc = pd.read_csv(tmp_path / "out" / "qc.csv")  # written although ingestion stopped
    assert len(qc) == 120
    assert (qc.loc[qc["class"] == "large", "problem"] == "cell area out of range").mean() > 0.8


def test_area_bounds_in_square_micrometres_use_the_pixel_size_of_the_metadata(export60, tmp_path):
    root, truth = export60
    _, qc, summary = run(root, config(root, qc={"area_bounds": "um2"}), tmp_path / "out")
    readable = qc[qc["qc_readable"]]
    np.testing.assert_allclose(readable["pixel_size_um"], PIXEL_UM)
    np.testing.assert_allclose(readable["area_um2"], readable["area_px"] * PIXEL_UM ** 2)
    assert (kept_share_of_good_cells(qc, truth) >= 0.9).all()
    # a configured pixel size wins over the metadata: at twice the size every cell is 4x the area
    _, big, _ = run(root, config(root, pixel_size_um=2 * PIXEL_UM, qc={"area_bounds": "um2", "max_area_um2": 300}),
                    tmp_path / "out2")
    assert big.loc[big["class"] == "large", "problem"].eq("cell area out of range").mean() > 0.8


def write_cell(folder, name, image):
    folder.mkdir(parents=True, exist_ok=True)
    for token, plane in zip(("Ch2", "Ch4"), image):
        tifffile.imwrite(folder / f"{name}_{token}.ome.tif", plane)


def disk_cell(h, w, radius, centre, saturated_px=0):
    """A bright disk of ``radius`` on a flat noisy background, both channels; the number of disk
    pixels, counted here."""
    rng = np.random.default_rng(radius)
    yy, xx = np.mgrid[:h, :w]
    disk = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2
    image = np.stack([100 + rng.normal(0, 3, (h, w)) + 3000 * disk, 100 + rng.normal(0, 3, (h, w)) + 5000 * disk])
    image = image.clip(0, 65535).astype(np.uint16)
    image[0].flat[np.flatnonzero(disk)[:saturated_px]] = 65535
    return image, int(disk.sum())


def test_qc_csv_records_every_measured_value_beside_each_verdict(tmp_path):
    root = tmp_path / "raw"
    areas = {}
    for cls, offset in (("small", 0), ("large", 1)):
        for i in range(4):
            image, areas[f"{cls}/{i}"] = disk_cell(50 + i, 60, 12 + 2 * offset + i % 2, (25, 30))
            write_cell(root / cls, i, image)
    image, areas["large/cut"] = disk_cell(50, 60, 12, (8, 30))  # runs over the top edge
    write_cell(root / "large", "cut", image)
    image, areas["large/sat"] = disk_cell(50, 60, 12, (25, 30), saturated_px=40)
    write_cell(root / "large", "sat", image)
    _, qc, _ = run(root, config(root, pixel_size_um=0.5, image_size=64), tmp_path / "out")
    qc = qc.set_index("id")
    for column in ("n_objects", "area_px", "aspect", "border_px", "bbox_h", "bbox_w", "snr_cytoplasm",
                   "snr_nucleus", "saturated_share", "frame_h", "frame_w", "pixel_size_um", "area_um2",
                   "image_hash", "duplicate_of"):
        assert column in qc.columns, column
    for cell_id, area in areas.items():
        if cell_id != "large/cut":
            assert qc.at[cell_id, "area_px"] == area, cell_id
            assert qc.at[cell_id, "border_px"] == 0
        assert qc.at[cell_id, "n_objects"] == 1
    assert qc.at["small/1", "frame_h"] == 51 and qc.at["small/1", "frame_w"] == 60
    assert qc.at["small/0", "area_um2"] == pytest.approx(areas["small/0"] * 0.25)
    assert qc.at["small/0", "aspect"] == pytest.approx(1.0, abs=0.05)
    assert qc.at["small/0", "bbox_h"] == qc.at["small/0", "bbox_w"] == 25
    assert qc.at["large/cut", "border_px"] > 0 and qc.at["large/cut", "reason"] == "qc_not_touching_border"
    assert qc.at["large/sat", "saturated_share"] == pytest.approx(40 / (50 * 60))
    assert qc.at["large/sat", "problem"] == "saturated"
    assert (qc.loc[[i for i in areas if i not in ("large/cut", "large/sat")], "snr_nucleus"] > 100).all()


def test_a_check_that_removes_one_class_more_is_reported_in_the_log_summary_and_figure(tmp_path, capsys):
    root = tmp_path / "raw"
    write_export(root, 60, seed=2, bad={"large": {"cut": 12}, "small": {"saturated": 6}})
    _, qc, summary = run(root, config(root), tmp_path / "out")
    border = [w for w in summary["warnings"] if "cut by the frame border" in w]
    assert len(border) == 1 and "large 20% (12 of 60)" in border[0] and "small 0% (0 of 60)" in border[0]
    assert "cellscape warning: quality control 'cut by the frame border'" in capsys.readouterr().err
    fig = qc_figure(qc, list(CLASSES), qc_warnings=summary["warnings"])
    assert "cut by the frame border" in fig._suptitle.get_text()
    flagged = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text().startswith("(!)")]
    assert "(!) cut by the frame border" in flagged and "(!) cell area out of range" not in flagged


def test_a_check_that_removes_classes_alike_is_not_reported(tmp_path):
    root = tmp_path / "raw"
    write_export(root, 60, seed=3, bad={cls: {"saturated": 6} for cls in CLASSES})
    _, qc, summary = run(root, config(root), tmp_path / "out")
    assert (qc.groupby("class")["problem"].apply(lambda p: (p == "saturated").sum()) == 6).all()
    assert not [w for w in summary["warnings"] if "saturated" in w]


def test_removal_warnings_name_the_check_and_the_classes():
    def table(removed):  # {class: (events, removed by the border check)}
        rows = [{"class": cls, "kept": i >= n, "problem": "cut by the frame border" if i < n else ""}
                for cls, (total, n) in removed.items() for i in range(total)]
        return pd.DataFrame(rows)
    classes = ["ciliated", "secretory"]
    (text,) = removal_warnings(table({"ciliated": (77, 43), "secretory": (77, 1)}), classes)
    assert "cut by the frame border" in text and "ciliated 56% (43 of 77)" in text and "secretory 1% (1 of 77)" in text
    assert "more than 20% of ciliated" in text and "differing more than 2x" in text
    assert removal_warnings(table({"ciliated": (100, 10), "secretory": (100, 8)}), classes) == []
    (text,) = removal_warnings(table({"ciliated": (100, 25), "secretory": (100, 24)}), classes)
    assert "more than 20% of ciliated, secretory" in text and "2x" not in text
    (text,) = removal_warnings(table({"ciliated": (100, 12), "secretory": (100, 3)}), classes)
    assert "differing more than 2x" in text and "20%" not in text.split(":")[0]


def test_qc_csv_is_written_when_too_few_cells_of_a_class_remain(export60, tmp_path):
    root, _ = export60
    with pytest.raises(InputError):
        run(root, config(root, qc={"area_bounds": "pixels", "max_area": 900}), tmp_path / "out")
    qc = pd.read_csv(tmp_path / "out" / "qc.csv")
    assert len(qc) == 120 and qc["area_px"].notna().sum() > 100
    summary = json.loads((tmp_path / "out" / "qc_summary.json").read_text())
    assert "fewer than 3 cells" in summary["error"]
    assert not (tmp_path / "out" / "images.npy").exists()
