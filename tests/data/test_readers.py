"""Reading raw events: every input layout, and every bad input named with its file and problem."""
import re

import numpy as np
import pytest
import tifffile
from PIL import Image

from support.config import validated_config
from cellscape.data import stain
from cellscape.data.channels import resolve_channels
from cellscape.data.readers import InputError, discover_events, read_event
from cellscape.data.simulate import simulate_event

CLASSES = ["lymphocyte", "neutrophil"]


@pytest.fixture
def data_cfg(default_config):
    return default_config["data"]


def simulated_cell(seed=0, cls="lymphocyte"):
    """A realistic raw uint16 event (2, 78, 78): channel 0 cytoplasm, channel 1 nucleus."""
    return simulate_event(np.random.default_rng(seed), cls)[0]


def write_per_channel(folder, event_id, image, tokens=("Ch2", "Ch4")):
    folder.mkdir(parents=True, exist_ok=True)
    for token, plane in zip(tokens, image):
        tifffile.imwrite(folder / f"{event_id}_{token}.ome.tif", plane)


def smear_photo(size=(120, 126), nucleus_radius=14, cell_radius=26):
    """An RGB brightfield smear: white-ish background, pale violet cytoplasm, dark purple nucleus."""
    h, w = size
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    rgb = np.empty((h, w, 3), np.float32)
    rgb[:] = (235, 225, 240)                              # background
    rgb[r < cell_radius] = (190, 170, 215)                # cytoplasm: absorbs mostly red/green
    rgb[r < nucleus_radius] = (90, 40, 140)               # nucleus: absorbs red strongly
    noise = np.random.default_rng(0).normal(0, 2, rgb.shape)
    return np.clip(rgb + noise, 0, 255).astype(np.uint8), r


# ------------------------------------------------------------------ every input layout

def test_per_channel_tiff_pair_is_read_as_cytoplasm_then_nucleus(tmp_path, data_cfg):
    image = simulated_cell()
    write_per_channel(tmp_path / "lymphocyte", "e1", image)
    write_per_channel(tmp_path / "neutrophil", "e2", simulated_cell(1, "neutrophil"))
    events = discover_events(tmp_path, CLASSES, data_cfg["channels"])
    assert [(e.cls, e.object, e.id, e.layout) for e in events] == [
        ("lymphocyte", "e1", "lymphocyte/e1", "per_channel"), ("neutrophil", "e2", "neutrophil/e2", "per_channel")]
    raw, saturation = read_event(events[0], data_cfg)
    assert raw.dtype == np.float32 and raw.shape == (2, 78, 78)
    np.testing.assert_array_equal(raw, image.astype(np.float32))
    assert saturation == 65535


def test_per_channel_tokens_come_from_config(tmp_path, data_cfg):
    """Other exports number channels differently (e.g. Ch1 brightfield, Ch3/Ch7 markers)."""
    image = simulated_cell()
    write_per_channel(tmp_path / "lymphocyte", "e1", image, tokens=("Ch7", "Ch3"))
    write_per_channel(tmp_path / "lymphocyte", "e1", image[:1], tokens=("Ch1",))  # ignored
    write_per_channel(tmp_path / "neutrophil", "e2", image, tokens=("Ch7", "Ch3"))
    channels = resolve_channels({"channel_files": {"cytoplasm": "Ch7", "nucleus": "Ch3"}})
    events = discover_events(tmp_path, CLASSES, channels)
    assert [e.files[0].name for e in events] == ["e1_Ch7.ome.tif", "e2_Ch7.ome.tif"]
    np.testing.assert_array_equal(read_event(events[0], data_cfg)[0], image)


@pytest.mark.parametrize("suffix, channels_last", [(".tif", False), (".tiff", True),
                                                    (".npy", False), (".npy", True)])
def test_stack_is_read_channels_first_or_last(tmp_path, data_cfg, suffix, channels_last):
    cell = simulated_cell()
    # three channels, stored [nucleus, brightfield, cytoplasm]: the config picks the right two
    stack = np.stack([cell[1], np.full_like(cell[0], 500), cell[0]])
    stored = np.moveaxis(stack, 0, -1) if channels_last else stack
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        path = tmp_path / cls / f"ev{suffix}"
        if suffix == ".npy":
            np.save(path, stored)
        else:
            tifffile.imwrite(path, stored, photometric="minisblack")
    events = discover_events(tmp_path, CLASSES, data_cfg["channels"])
    assert [e.layout for e in events] == ["stack", "stack"]
    raw, saturation = read_event(events[0], {**data_cfg, "channels": resolve_channels(
        {"stack_channels": {"cytoplasm": 2, "nucleus": 0}})})
    np.testing.assert_array_equal(raw, cell.astype(np.float32))
    assert saturation == 65535


def test_float_stack_has_no_saturation_level(tmp_path, data_cfg):
    stack = simulated_cell().astype(np.float32) / 65535
    (tmp_path / "lymphocyte").mkdir()
    (tmp_path / "neutrophil").mkdir()
    np.save(tmp_path / "lymphocyte" / "a.npy", stack)
    np.save(tmp_path / "neutrophil" / "b.npy", stack)
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    raw, saturation = read_event(event, data_cfg)
    np.testing.assert_allclose(raw, stack)
    assert saturation == np.inf


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_rgb_smear_gives_nucleus_and_cytoplasm_channels(tmp_path, data_cfg, suffix):
    rgb, r = smear_photo()
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        Image.fromarray(rgb).save(tmp_path / cls / f"cell{suffix}", quality=95)
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    assert event.layout == "rgb"
    crop = 100
    raw, saturation = read_event(event, {**data_cfg, "rgb": {**data_cfg["rgb"], "crop": crop}})
    assert raw.shape == (2, crop, crop) and saturation == np.inf
    r = stain.centre_crop(r, crop)
    cyto, nucleus = raw
    nucleus_px, cyto_px, background_px = r < 10, (r > 18) & (r < 24), r > 32
    # nucleus channel: high on the nucleus, low on the cytoplasm, ~0 on the background
    assert nucleus[nucleus_px].mean() > 4 * nucleus[cyto_px].mean()
    assert nucleus[background_px].mean() < 0.02
    # cytoplasm channel: the whole cell stands out of the background
    assert cyto[cyto_px].mean() > 0.05 > cyto[background_px].mean()
    assert cyto[nucleus_px].mean() > cyto[cyto_px].mean()


def test_rgb_white_point_removes_a_batch_colour_cast():
    """A bluish background (another acquisition batch) must not change the optical densities."""
    rgb, _ = smear_photo()
    cast = np.clip(rgb.astype(np.float32) * np.array([0.85, 0.9, 1.0]), 0, 255)
    plain, tinted = stain.band_channels(rgb, ["blue", "red"], 100), stain.band_channels(cast, ["blue", "red"], 100)
    assert np.abs(plain - tinted).max() < 0.03 * plain.max()


def test_events_are_sorted_by_class_then_id_and_hidden_files_skipped(tmp_path, data_cfg):
    for cls in CLASSES:
        for event_id in ("b", "a", "c"):
            write_per_channel(tmp_path / cls, event_id, simulated_cell())
        (tmp_path / cls / ".DS_123.jpg").write_bytes(b"\x00" * 64)  # macOS junk, unreadable
        (tmp_path / cls / "notes.txt").write_text("not an image")
    events = discover_events(tmp_path, list(reversed(CLASSES)), data_cfg["channels"])
    assert [(e.cls, e.object) for e in events] == [(c, i) for c in CLASSES for i in "abc"]


# ------------------------------------------------------------------ bad input

def assert_names(err, *parts):
    message = str(err.value)
    for part in parts:
        assert str(part) in message, f"{part!r} not in error message {message!r}"


def two_class_dir(tmp_path, make):
    """A directory with one good event per class made by ``make(folder, name)``; returns events."""
    for cls in CLASSES:
        (tmp_path / cls).mkdir(exist_ok=True)
        make(tmp_path / cls)


@pytest.mark.parametrize("name, content, problem", [
    ("bad_Ch2.ome.tif", b"II*\x00garbage", "unreadable TIFF"),
    ("bad.tif", b"not a tiff at all", "unreadable TIFF"),
    ("bad.npy", b"\x93NUMPY broken header", "unreadable .npy"),
    ("bad.jpg", b"\xff\xd8\xff\xe0 truncated jpeg", "unreadable image"),
    ("bad.png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + b"\x01" * 9, "unreadable image"),
])
def test_corrupt_file_is_an_error_naming_it(tmp_path, data_cfg, name, content, problem):
    def make(folder):
        (folder / name).write_bytes(content)
        if name.endswith("_Ch2.ome.tif"):
            tifffile.imwrite(folder / "bad_Ch4.ome.tif", simulated_cell()[1])
    two_class_dir(tmp_path, make)
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, tmp_path / "lymphocyte" / name, problem)


@pytest.mark.parametrize("array, problem", [
    (np.zeros((78, 78), np.uint16), "expected a multi-channel stack"),      # one channel
    (np.zeros((2, 3, 78, 78), np.uint16), "expected a multi-channel stack"),  # a time series
    (np.zeros((40, 78, 78), np.uint16), "cannot tell the channel axis"),
])
def test_stack_with_wrong_shape_is_an_error_naming_it(tmp_path, data_cfg, array, problem):
    two_class_dir(tmp_path, lambda folder: tifffile.imwrite(folder / "ev.tif", array,
                                                            photometric="minisblack"))
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, tmp_path / "lymphocyte" / "ev.tif", problem)


def test_stack_with_too_few_channels_for_the_config_names_the_key(tmp_path, data_cfg):
    two_class_dir(tmp_path, lambda folder: np.save(folder / "ev.npy", simulated_cell()))
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    cfg = {**data_cfg, "channels": resolve_channels({"stack_channels": {"cytoplasm": 0, "nucleus": 3}})}
    with pytest.raises(InputError) as err:
        read_event(event, cfg)
    assert_names(err, "ev.npy", "has 2 channels", "stack index", "data.channels")


def test_per_channel_file_holding_several_planes_is_an_error(tmp_path, data_cfg):
    def make(folder):
        tifffile.imwrite(folder / "ev_Ch2.ome.tif", simulated_cell())  # both channels in one file
        tifffile.imwrite(folder / "ev_Ch4.ome.tif", simulated_cell()[1])
    two_class_dir(tmp_path, make)
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, "ev_Ch2.ome.tif", "expected one 2-D channel image", "(2, 78, 78)")


def test_grayscale_photo_is_an_error_not_two_equal_channels(tmp_path, data_cfg):
    rgb, _ = smear_photo()
    two_class_dir(tmp_path, lambda folder: Image.fromarray(rgb[..., 0]).save(folder / "ev.png"))
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, "ev.png", "expected an RGB")


def test_channels_of_different_sizes_are_an_error_naming_both(tmp_path, data_cfg):
    def make(folder):
        tifffile.imwrite(folder / "ev_Ch2.ome.tif", np.ones((78, 78), np.uint16))
        tifffile.imwrite(folder / "ev_Ch4.ome.tif", np.ones((80, 78), np.uint16))
    two_class_dir(tmp_path, make)
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, "ev_Ch4.ome.tif", "ev_Ch2.ome.tif", "(80, 78)", "differs")


def test_missing_partner_channel_file_is_an_error_when_the_event_is_read(tmp_path, data_cfg):
    two_class_dir(tmp_path, lambda folder: write_per_channel(folder, "ok", simulated_cell()))
    tifffile.imwrite(tmp_path / "neutrophil" / "lonely_Ch2.ome.tif", simulated_cell()[0])
    events = discover_events(tmp_path, CLASSES, data_cfg["channels"])  # listed, not a stop
    lonely = next(e for e in events if e.object == "lonely")
    assert lonely.id == "neutrophil/lonely" and lonely.source == str(tmp_path / "neutrophil" / "lonely_Ch2.ome.tif")
    with pytest.raises(InputError) as err:
        read_event(lonely, data_cfg)
    assert_names(err, tmp_path / "neutrophil" / "lonely", "missing partner channel", "Ch4", "lonely_Ch2.ome.tif")
    assert err.value.kind == "missing partner channel"


def test_empty_class_folder_is_an_error(tmp_path, data_cfg):
    write_per_channel(tmp_path / "lymphocyte", "ok", simulated_cell())
    (tmp_path / "neutrophil").mkdir()
    with pytest.raises(InputError) as err:
        discover_events(tmp_path, CLASSES, data_cfg["channels"])
    assert_names(err, tmp_path / "neutrophil", "empty")


def test_class_folder_without_images_is_an_error(tmp_path, data_cfg):
    """Only junk (hidden files, notes) is as good as empty: say so, instead of failing later."""
    write_per_channel(tmp_path / "lymphocyte", "ok", simulated_cell())
    (tmp_path / "neutrophil").mkdir()
    (tmp_path / "neutrophil" / ".DS_Store").write_bytes(b"\x00")
    (tmp_path / "neutrophil" / "notes.txt").write_text("to do")
    with pytest.raises(InputError) as err:
        discover_events(tmp_path, CLASSES, data_cfg["channels"])
    assert_names(err, tmp_path / "neutrophil", "no image files")


def test_missing_class_folder_lists_the_folders_present(tmp_path, data_cfg):
    write_per_channel(tmp_path / "lymphocyte", "ok", simulated_cell())
    write_per_channel(tmp_path / "Neutrophils", "ok", simulated_cell())
    with pytest.raises(InputError) as err:
        discover_events(tmp_path, CLASSES, data_cfg["channels"])
    assert_names(err, tmp_path / "neutrophil", "class folder missing", "Neutrophils")


def test_fewer_than_two_classes_is_an_error(tmp_path, data_cfg):
    write_per_channel(tmp_path / "lymphocyte", "ok", simulated_cell())
    with pytest.raises(InputError) as err:
        discover_events(tmp_path, ["lymphocyte"], data_cfg["channels"])
    assert_names(err, "classes", "at least two")


def test_missing_data_directory_is_an_error(tmp_path, data_cfg):
    with pytest.raises(InputError) as err:
        discover_events(tmp_path / "nowhere", CLASSES, data_cfg["channels"])
    assert_names(err, tmp_path / "nowhere", "does not exist")


@pytest.mark.parametrize("suffix", [".npy", ".tif"])
def test_nan_image_is_an_error_naming_it(tmp_path, data_cfg, suffix):
    image = simulated_cell().astype(np.float32)
    image[1, 40, 40] = np.nan
    two_class_dir(tmp_path, lambda folder: np.save(folder / "ev.npy", image) if suffix == ".npy"
                  else tifffile.imwrite(folder / "ev.tif", image))
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, f"ev{suffix}", "NaN")


def test_tiny_image_is_an_error(tmp_path, data_cfg):
    two_class_dir(tmp_path, lambda folder: np.save(folder / "ev.npy", np.ones((2, 5, 5))))
    event = discover_events(tmp_path, CLASSES, data_cfg["channels"])[0]
    with pytest.raises(InputError) as err:
        read_event(event, data_cfg)
    assert_names(err, "ev.npy", "too small")


# ------------------------------------------------------------------ bad configuration

@pytest.mark.parametrize("cfg, key, problem", [
    ({"data": {"treshold": 0.3}}, "treshold", "unexpected"),
    ({"qc": {"min_area": "big"}}, "min_area", "not of type 'integer'"),
    ({"data": {"rgb": {"crop": 2.5}}}, "crop", "not of type 'integer'"),
    ({"data": {"fit": "stretch"}}, "fit", "is not one of"),
    ({"data": {"threshold": 1.5}}, "threshold", "greater than the maximum"),
    ({"classes": ["lymphocyte"]}, "classes", "too short"),
])
def test_bad_config_is_rejected_naming_the_key(cfg, key, problem):
    from snakemake.exceptions import WorkflowError
    with pytest.raises(WorkflowError) as err:
        validated_config(cfg)
    assert_names(err, key, problem)


def test_snakemake_rejects_unknown_config_key_before_running(tmp_path):
    """The real entry point: ``snakemake -n --configfile`` stops and names the misspelt key."""
    import subprocess
    import sys
    from support.config import ROOT
    (tmp_path / "bad.yaml").write_text(f"results: {tmp_path}/results\nqc:\n  min_aera: 100\n")
    snakemake = re.sub(r"python[\d.]*$", "snakemake", sys.executable)
    proc = subprocess.run([snakemake, "-n", "--configfile", str(tmp_path / "bad.yaml"),
                           "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "'min_aera' was unexpected" in proc.stdout + proc.stderr
    assert not (tmp_path / "results").exists()
