"""Configured channels: the config form, brightfield cleaning, QC by kind, the simulator's label-free
channels and reading 1-12 channels from every export layout."""
import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy import ndimage

from support.config import validated_config
from cellscape.data.channels import ChannelError, resolve_channels
from cellscape.data.ingest import ingest
from cellscape.data.preprocess import brightfield_contrast, process_event
from cellscape.data.readers import InputError, discover_events, read_event
from cellscape.data.simulate import simulate_chunk, simulate_event

FOUR = [{"name": "brightfield", "file": "Ch1", "kind": "brightfield", "colour": "#bbbbbb"},
        {"name": "darkfield", "file": "Ch6", "kind": "darkfield", "colour": "#ff00ff"},
        {"name": "cytoplasm", "file": "Ch2", "kind": "fluorescence"},
        {"name": "nucleus", "file": "Ch4", "kind": "fluorescence"}]
TOKENS = tuple(c["file"] for c in FOUR)
CLASSES = ["lymphocyte", "neutrophil"]


def four_channel_config(**data):
    return validated_config({"data": {"channels": FOUR, **data}})


# ------------------------------------------------------------------ the config form

def test_short_form_is_the_papers_two_channels():
    channels = resolve_channels(validated_config({})["data"] | {"channels": None})
    assert [(c["name"], c["file"], c["stack"], c["band"], c["colour"]) for c in channels] == [
        ("cytoplasm", "Ch2", 0, "blue", "#ff0000"), ("nucleus", "Ch4", 1, "red", "#00ff00")]
    assert all(c["kind"] == "fluorescence" and c["threshold"] == 0.2 for c in channels)


def test_channel_list_fills_stack_index_colour_and_threshold():
    channels = resolve_channels({"threshold": 0.3, "channels": FOUR[:2] + [{"name": "cytoplasm", "threshold": 0.1}]})
    assert [c["stack"] for c in channels] == [0, 1, 2]
    assert [c["threshold"] for c in channels] == [None, 0.3, 0.1]  # brightfield has none; own value kept
    assert channels[2]["colour"] == "#ff0000"  # the paper's colour for a channel of the paper's name


@pytest.mark.parametrize("channels, words", [
    ([{"name": "a", "kind": "phase"}], ["data.channels[0]", "unknown kind 'phase'"]),
    ([{"name": "a"}, {"name": "a"}], ["channels 1 and 2", "name 'a'"]),
    ([{"name": "a", "file": "Ch2"}, {"name": "b", "file": "ch2"}], ["channels 1 and 2", "file"]),
    ([{"name": f"c{k}"} for k in range(13)], ["13 channels", "between 1 and 12"]),
    ([{"name": "bf", "kind": "brightfield", "threshold": 0.2}], ["(bf)", "no threshold"]),
    ([{"name": "a", "colour": "red"}], ["(a)", "#rrggbb"]),
])
def test_bad_channel_lists_are_named(channels, words):
    with pytest.raises(ChannelError) as err:
        resolve_channels({"channels": channels, "threshold": 0.2})
    for word in words:
        assert word in str(err.value)


def test_schema_rejects_an_unknown_kind_naming_the_key():
    from snakemake.exceptions import WorkflowError
    with pytest.raises(WorkflowError, match="kind"):
        validated_config({"data": {"channels": [{"name": "a", "kind": "phase"}]}})


def test_long_and_short_form_together_is_an_error():
    with pytest.raises(ChannelError, match="data.channel_files"):
        resolve_channels({"channels": FOUR, "channel_files": {"cytoplasm": "Ch3"}})


# ------------------------------------------------------------------ brightfield cleaning

def brightfield_event(contrast, seed=0, size=78, level=20000.0, radius=14):
    """A brightfield frame: bright background with camera noise, a cell ``contrast`` x the
    level darker (< 0) or brighter (> 0) than it, soft-edged."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    cell = ndimage.gaussian_filter((np.hypot(yy - 39, xx - 41) <= radius).astype(float), 1.0)
    plane = level * (1 + contrast * cell)
    return rng.poisson(plane / 2.0) * 2.0 + rng.normal(0, 6, plane.shape), cell > 0.5


@pytest.mark.parametrize("contrast", [-0.3, 0.25])
def test_brightfield_cell_survives_and_background_goes_to_zero(contrast):
    plane, cell = brightfield_event(contrast)
    clean = brightfield_contrast(plane)
    outside = ~ndimage.binary_dilation(cell, iterations=3)
    assert (clean[outside] == 0).mean() > 0.999           # the bright background is gone
    assert (clean[cell] > 0).mean() > 0.99                 # the whole cell is kept...
    np.testing.assert_allclose(np.median(clean[cell]), abs(contrast), rtol=0.1)  # ...as contrast vs the level


def test_brightfield_dark_interior_and_bright_rim_stay_one_object():
    """The zero crossing between an absorbing interior and a bright halo must not split the cell."""
    plane, cell = brightfield_event(-0.3)
    yy, xx = np.mgrid[:78, :78]
    ring = (np.abs(np.hypot(yy - 39, xx - 41) - 16) < 1.5)
    plane = plane + 20000 * 0.3 * ring
    clean = brightfield_contrast(plane)
    labels, n = ndimage.label(clean > 0, structure=np.ones((3, 3)))
    sizes = np.bincount(labels.ravel())[1:]
    assert (sizes >= 8).sum() == 1 and labels[39, 41] > 0


def test_twenty_percent_rule_would_lose_a_dark_brightfield_cell():
    """Why brightfield needs its own cleaning: the threshold rule keeps only the bright background."""
    from cellscape.data.preprocess import subtract_background, threshold_channels
    plane, cell = brightfield_event(-0.3)
    old = threshold_channels(subtract_background(plane[None].astype(np.float32)), 0.2)[0]
    new = brightfield_contrast(plane)
    assert (old[cell] > 0).mean() < 0.2 < 0.99 < (new[cell] > 0).mean()


# ------------------------------------------------------------------ the simulator's label-free channels

def test_label_free_channels_leave_the_fluorescence_images_unchanged():
    two, _ = simulate_event(np.random.default_rng(5), "neutrophil")
    four, _ = simulate_event(np.random.default_rng(5), "neutrophil", channels=TOKENS,
                             extra_rng=np.random.default_rng(6))
    np.testing.assert_array_equal(four[2:], two)


def test_simulated_brightfield_has_a_bright_background_and_a_darker_cell():
    image, _ = simulate_event(np.random.default_rng(1), "lymphocyte", channels=("Ch1", "Ch2"))
    brightfield, cytoplasm = image.astype(float)
    border = np.concatenate([brightfield[0], brightfield[-1]])
    assert np.median(border) > 10 * np.median(np.concatenate([cytoplasm[0], cytoplasm[-1]]))
    inside = cytoplasm > np.percentile(cytoplasm, 95)
    assert brightfield[inside].mean() < 0.85 * np.median(border)


def test_darkfield_scatter_is_higher_for_neutrophils(default_config):
    """Granular cells scatter more: the mean darkfield signal inside the cell separates the classes."""
    data = {**default_config["data"], "channels": resolve_channels({"channels": FOUR, "threshold": 0.2})}
    scatter = {cls: [] for cls in CLASSES}
    for cls in CLASSES:
        for seed in range(12):
            raw, _ = simulate_event(np.random.default_rng(seed), cls, channels=TOKENS)
            filtered, _ = process_event(raw.astype(np.float32), 65535, data, default_config["qc"], 78)
            scatter[cls].append(filtered[1][filtered[1] > 0].mean())
    assert min(scatter["neutrophil"]) > np.median(scatter["lymphocyte"])
    assert np.median(scatter["neutrophil"]) > 2 * np.median(scatter["lymphocyte"])


def test_simulator_names_a_channel_it_cannot_image(tmp_path):
    with pytest.raises(ValueError, match="Ch5"):
        simulate_chunk(tmp_path / "c", 0, 3, 0, channels=("Ch2", "Ch5"), progress=False)


# ------------------------------------------------------------------ reading and ingesting N channels

def test_four_channel_export_is_ingested_in_the_configured_order(tmp_path):
    """Simulated per-channel files of four channels -> a (N, 4, H, W) image set whose planes are the
    files' own in data.channels' order; per-channel intensity columns; QC keeps most good cells."""
    cfg = four_channel_config()
    rows = simulate_chunk(tmp_path / "raw", 0, 40, 0, channels=TOKENS, progress=False)
    out = tmp_path / "data"
    out.mkdir()
    index, qc = ingest([tmp_path / "raw"], cfg["data"], cfg["qc"], CLASSES, 78, 0, out / "images.npy",
                       out / "index.csv", out / "qc.csv", out / "classes.json", out / "normalisation.json")
    images = np.load(out / "images.npy")
    assert images.shape[1:] == (4, 78, 78)
    good = sum(r["event_type"] == "cell" for r in rows)
    assert len(index) >= 0.8 * good
    for name in ("brightfield", "darkfield", "cytoplasm", "nucleus"):
        assert (index[f"intensity_{name}"] > 0).all()
    # each plane is that file's channel: the brightest pixel of the nucleus plane lies where the
    # Ch4 file's does after the same cleaning, and brightfield is not a copy of a fluorescence plane
    first = index.iloc[0]
    raw_nucleus = tifffile.imread(tmp_path / "raw" / first["class"] / f"{first['object']}_Ch4.ome.tif").astype(float)
    assert np.corrcoef(images[0, 3].ravel(), raw_nucleus.ravel())[0, 1] > 0.9
    assert np.corrcoef(images[0, 0].ravel(), images[0, 3].ravel())[0, 1] < 0.95


def test_missing_channel_file_is_a_rejection_naming_the_file(tmp_path):
    cfg = four_channel_config()
    image, _ = simulate_event(np.random.default_rng(0), "lymphocyte", channels=TOKENS)
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        for token, plane in zip(TOKENS, image):
            if not (cls == "neutrophil" and token == "Ch6"):
                tifffile.imwrite(tmp_path / cls / f"7_{token}.ome.tif", plane)
    events = discover_events(tmp_path, CLASSES, cfg["data"]["channels"])
    assert events[0].problem is None and read_event(events[0], cfg["data"])[0].shape == (4, 78, 78)
    with pytest.raises(InputError) as err:
        read_event(events[1], cfg["data"])
    assert "Ch6" in str(err.value) and str(tmp_path / "neutrophil" / "7") in str(err.value)


def test_per_channel_files_need_a_file_suffix_for_every_channel(tmp_path):
    cfg = validated_config({"data": {"channels": [{"name": "a", "file": "Ch2"}, {"name": "b"}]}})
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        tifffile.imwrite(tmp_path / cls / "1_Ch2.ome.tif", np.ones((20, 20), np.uint16))
    with pytest.raises(InputError, match="channel\\(s\\) b name no file suffix"):
        discover_events(tmp_path, CLASSES, cfg["data"]["channels"])


def test_rgb_photograph_as_three_band_channels(tmp_path):
    cfg = validated_config({"data": {"channels": [{"name": f"od_{b}", "band": b} for b in ("red", "green", "blue")]}})
    rgb = np.full((60, 60, 3), 230, np.uint8)
    rgb[20:40, 20:40] = (60, 150, 200)  # absorbs red most, blue least
    for cls in CLASSES:
        (tmp_path / cls).mkdir()
        Image.fromarray(rgb).save(tmp_path / cls / "smear.png")
    event = discover_events(tmp_path, CLASSES, cfg["data"]["channels"])[0]
    od = read_event(event, cfg["data"])[0]
    assert od.shape == (3, 60, 60)
    expected = -np.log10((np.array([60, 150, 200]) + 1) / 231)  # white point 230, +1 as in stain
    np.testing.assert_allclose(od[:, 30, 30], expected, rtol=1e-4)
    assert od[:, 5, 5].max() == 0


def test_single_channel_image_set(tmp_path):
    """One channel is enough: a nucleus stain alone goes through reading, cleaning and QC."""
    cfg = validated_config({"data": {"channels": [{"name": "nucleus", "file": "Ch4"}]}})
    image, _ = simulate_event(np.random.default_rng(2), "lymphocyte")
    filtered, checks = process_event(image[1:].astype(np.float32), 65535, cfg["data"], cfg["qc"], 78)
    assert filtered.shape == (1, 78, 78) and checks["qc_one_object"] and checks["qc_signal_both"]


# ------------------------------------------------------------------ MDA targets on N channels

def test_mda_targets_find_the_nucleus_by_name_among_four_channels():
    """The nucleus channel is found by name wherever it sits; a darkfield speck outside the cell
    does not enlarge the cell (darkfield does not outline); no nucleus channel: NaN and an error
    for the targets that need it."""
    from cellscape.data.channels import channel_roles, missing_channel
    from cellscape.mda.target import cell_measurements
    yy, xx = np.mgrid[:40, :40]
    r = np.hypot(yy - 20, xx - 20)
    image = np.zeros((4, 40, 40), np.float32)
    image[0] = r <= 10                       # brightfield: the whole cell (314 px)
    image[1, 2:5, 2:5] = 1                   # darkfield scatter outside the cell
    image[2] = 0.5 * (r <= 10)               # cytoplasm
    image[3] = r <= 5                        # nucleus (81 px)
    channels = resolve_channels({"channels": FOUR[:1] + FOUR[1:2] + FOUR[2:], "threshold": 0.2})
    roles = channel_roles(channels)
    values = cell_measurements(image, 8, roles)
    assert values["cell_area"] == (r <= 10).sum()
    assert values["nucleus_area_ratio"] == pytest.approx((r <= 5).sum() / (r <= 10).sum())
    assert values["cytoplasm_intensity"] == pytest.approx(0.5)
    no_nucleus = channel_roles(channels[:3])
    assert missing_channel("nucleus_area_ratio", no_nucleus) == "nucleus"
    assert missing_channel("cell_area", no_nucleus) is None
    assert np.isnan(cell_measurements(image[:3], 8, no_nucleus)["nucleus_area_ratio"])


def test_qc_figure_draws_an_intensity_panel_per_channel():
    """Fig. 2's QC figure with five channels: one intensity panel per channel, each titled by it."""
    import matplotlib
    matplotlib.use("Agg")
    import pandas as pd
    from cellscape.figures.data_figures import qc_figure
    rng = np.random.default_rng(0)
    names = ["brightfield", "darkfield", "cytoplasm", "nucleus", "extra"]
    qc = pd.DataFrame({"id": [f"c{i}" for i in range(40)], "class": CLASSES * 20, "kept": [True] * 36 + [False] * 4,
                       "problem": [""] * 36 + ["cell area out of range"] * 4, "reason": [""] * 36 + ["qc_area"] * 4,
                       **{f"intensity_{n}": rng.uniform(1, 10, 40) for n in names}})
    fig = qc_figure(qc, CLASSES)
    titles = " ".join(ax.get_title() + ax.get_xlabel() + ax.get_ylabel() for ax in fig.axes)
    assert all(name in titles for name in names), titles
