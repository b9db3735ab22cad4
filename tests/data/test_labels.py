"""Classes where real exports keep them: a folder per class, the file name, or a table; an object
without a class is recorded, not dropped. Planning counts the events a directory holds."""
import pandas as pd
import pytest
import tifffile
import yaml

from support.config import validated_config
from support.workflow import snakemake
from support.export60x import CLASSES, IMAGE_SIZE, write_export
from cellscape.data.ingest import ingest
from cellscape.data.readers import InputError, auto_image_size, discover_events
from cellscape.model.architecture import layer_shapes
from cellscape.plan.costs import DIRECTORY_EVENTS, CostModel

OUTPUTS = ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")
PATTERN = r"(?P<class>[A-Za-z]+)_(?P<object>\d+)"


def config(root, **labels):
    return validated_config({"classes": list(CLASSES), "image_size": IMAGE_SIZE,
                             "data": {"source": "directory", "directory": str(root), "labels": labels}})


def run(root, cfg, out):
    return ingest([root], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"],
                  *[out / name for name in OUTPUTS])


@pytest.fixture(scope="module")
def one_folder(tmp_path_factory):
    """An IDEAS export in one folder: ``SMALL_<n>_Ch2.ome.tif`` and ``Lg_<n>_Ch2.ome.tif``, and two
    stray objects: one of a class not configured, one whose name has no class."""
    root = tmp_path_factory.mktemp("one_folder") / "raw"
    write_export(root, 8, seed=5, one_folder=True, names={"small": "SMALL", "large": "Lg"})
    for name in ("Calibration_1", "beads"):
        for token in ("Ch2", "Ch4"):
            (root / f"{name}_{token}.ome.tif").write_bytes((root / f"SMALL_0_{token}.ome.tif").read_bytes())
    return root


def test_classes_from_the_file_name_case_insensitive_and_mapped(one_folder, tmp_path):
    cfg = config(one_folder, pattern=PATTERN, map={"lg": "large"})
    events = discover_events(one_folder, cfg["classes"], cfg["data"]["channels"], cfg["data"]["labels"])
    labelled = {e.id for e in events if e.cls}
    assert labelled == {f"{cls}/{i}" for cls in CLASSES for i in range(8)}
    index, qc = run(one_folder, cfg, tmp_path / "out")
    assert set(index["class"]) == set(CLASSES) and len(index) >= 14
    assert index.set_index("id").loc["large/3", "source"] == str(one_folder / "Lg_3_Ch2.ome.tif")


def test_an_object_without_a_class_is_recorded_in_qc_csv(one_folder, tmp_path):
    _, qc = run(one_folder, config(one_folder, pattern=PATTERN, map={"lg": "large"}), tmp_path / "out")
    stray = qc[qc["problem"] == "no label"].set_index("object")
    assert sorted(stray.index) == ["Calibration_1", "beads"]
    assert "calibration" in stray.loc["Calibration_1", "reason"].lower() and not stray["kept"].any()
    assert "does not match" in stray.loc["beads", "reason"]
    assert stray["class"].isna().all()


def test_an_unmapped_label_is_not_a_class(one_folder, tmp_path):
    cfg = config(one_folder, pattern=PATTERN)  # Lg is no class without the map
    with pytest.raises(InputError, match="large"):
        run(one_folder, cfg, tmp_path / "out")
    qc = pd.read_csv(tmp_path / "out" / "qc.csv")
    assert (qc["problem"] == "no label").sum() == 8 + 2


def test_classes_from_a_table(one_folder, tmp_path):
    table = tmp_path / "labels.csv"
    rows = [{"object": f"SMALL_{i}", "class": "Small"} for i in range(8)] + \
           [{"object": f"Lg_{i}", "class": "LARGE"} for i in range(6)]
    pd.DataFrame(rows).to_csv(table, index=False)
    _, qc = run(one_folder, config(one_folder, table=str(table)), tmp_path / "out")
    labelled = qc[qc["problem"] != "no label"]
    assert sorted(labelled["id"]) == sorted([f"small/SMALL_{i}" for i in range(8)] + [f"large/Lg_{i}" for i in range(6)])
    assert sorted(qc.loc[qc["problem"] == "no label", "object"]) == ["Calibration_1", "Lg_6", "Lg_7", "beads"]


def test_a_pattern_without_the_named_groups_is_an_error(one_folder):
    cfg = config(one_folder, pattern=r"([A-Za-z]+)_(\d+)")
    with pytest.raises(InputError, match="named groups"):
        discover_events(one_folder, cfg["classes"], cfg["data"]["channels"], cfg["data"]["labels"])


def test_the_planning_estimate_counts_the_events_of_a_directory(tmp_path):
    write_export(tmp_path / "raw", 7, seed=6)  # 14 events, each two files
    cfg = config(tmp_path / "raw")
    model = CostModel(cfg, layer_shapes(cfg["model"], cfg["image_size"], len(cfg["classes"])))
    assert model.n_images == 14
    one = config(tmp_path / "raw" / "small", pattern=PATTERN)  # one folder of <n>_Ch2 files: unlabelled, listed
    assert CostModel(one, layer_shapes(one["model"], one["image_size"], 2)).n_images == 7
    missing = config(tmp_path / "nowhere")
    assert CostModel(missing, layer_shapes(missing["model"], missing["image_size"], 2)).n_images == DIRECTORY_EVENTS


def test_auto_image_size_fits_the_frames_from_their_headers(tmp_path):
    write_export(tmp_path / "raw", 10, seed=7)
    cfg = config(tmp_path / "raw")
    events = discover_events(tmp_path / "raw", cfg["classes"], cfg["data"]["channels"])
    sides = [max(tifffile.imread(e.files[0]).shape) for e in events]  # decoded here, headers there
    size, facts = auto_image_size(events, "pad_crop", quantile=1.0)
    assert size == max(sides) + max(sides) % 2 and facts["frames"] == 20 and facts["largest"] == max(sides)
    assert auto_image_size(events, "pad_crop")[0] <= size


def test_the_workflow_plans_with_the_image_size_it_chose(tmp_path):
    write_export(tmp_path / "raw", 4, seed=8)
    events = discover_events(tmp_path / "raw", list(CLASSES), config(tmp_path / "raw")["data"]["channels"])
    expected, _ = auto_image_size(events, "pad_crop")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump({
        "classes": list(CLASSES), "image_size": "auto",
        "data": {"source": "directory", "directory": str(tmp_path / "raw")}}))
    r = snakemake(tmp_path, "-n", "--configfile", str(tmp_path / "run.yaml"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"image_size auto: {expected} px" in r.stderr
