"""Figures compose the image set's channels in their configured colours and show a detailed
cell or feature image channel by channel, for any number of channels."""
import re

import matplotlib
import numpy as np
import pytest
import yaml

matplotlib.use("Agg")

from cellscape.data.channels import display, resolve_channels  # noqa: E402
from cellscape.data.preprocess import normalise_per_image, process_event  # noqa: E402
from cellscape.data.simulate import simulate_event  # noqa: E402
from cellscape.figures.common import colour_note, compose_channels  # noqa: E402
from support.config import ROOT, validated_config  # noqa: E402

FOUR_CONFIG = validated_config(yaml.safe_load((ROOT / "configs" / "four_channels.yaml").read_text()))
#: the four channels of configs/four_channels.yaml, with colours fixed here (brightfield grey,
#: cytoplasm red, nucleus green, darkfield magenta) so the config's display choice can change
FOUR = [{**c, "colour": colour} for c, colour in
        zip(display(FOUR_CONFIG["data"]["channels"]), ("#bbbbbb", "#ff0000", "#00ff00", "#ff00ff"))]
TWO = display(resolve_channels({}))
SIZE = FOUR_CONFIG["image_size"]  # the simulator's frame: the whole cell and its background


def hex_rgb(colour):
    """'#rrggbb' -> three floats, parsed here independently of the figures' code."""
    return np.array([int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)]) / 255.0


def by_hand(image, channels):
    """The expected composite, pixel by pixel: sum over channels of intensity x colour, clipped."""
    image = np.asarray(image, dtype=np.float64)
    out = np.zeros(image.shape[:-3] + image.shape[-2:] + (3,))
    for index in np.ndindex(*image.shape[:-3], *image.shape[-2:]):
        lead, (y, x) = index[:-2], index[-2:]
        total = sum(image[lead + (c, y, x)] * hex_rgb(ch["colour"]) for c, ch in enumerate(channels))
        out[lead + (y, x)] = np.clip(total, 0, 1)
    return out


def simulated_cell(seed=0, cls="neutrophil"):
    """A cleaned, normalised 4-channel cell as the image set stores it, and its raw event."""
    rng = np.random.default_rng(seed)
    raw, _ = simulate_event(rng, cls, channels=tuple(c["file"] for c in FOUR_CONFIG["data"]["channels"]))
    raw = raw.astype(np.float32)
    filtered, _ = process_event(raw, np.inf, FOUR_CONFIG["data"], FOUR_CONFIG["qc"], SIZE)
    return normalise_per_image(filtered), raw


def grey_panels(fig):
    """{title: image data} of the axes that show one plane in the grey colour map."""
    return {ax.get_title(): np.asarray(ax.images[0].get_array()) for ax in fig.axes
            if ax.images and ax.images[0].get_cmap().name == "gray"}


# --- the composer -------------------------------------------------------------------------

def test_composite_adds_each_channel_times_its_colour():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 0.45, size=(4, 5, 6)).astype(np.float32)
    np.testing.assert_allclose(compose_channels(image, FOUR), by_hand(image, FOUR), atol=1e-6)
    batch = rng.uniform(0, 1, size=(3, 4, 5, 6)).astype(np.float32)
    composite = compose_channels(batch, FOUR)
    assert composite.shape == (3, 5, 6, 3)
    np.testing.assert_allclose(composite, by_hand(batch, FOUR), atol=1e-6)


def test_composite_clips_where_colours_add_past_one():
    image = np.zeros((4, 1, 3), np.float32)
    image[1, 0, 0] = image[3, 0, 0] = 0.6  # red + magenta: red 1.2 -> 1, blue 0.6
    image[:, 0, 1] = 1.0  # every channel at full: white
    rgb = compose_channels(image, FOUR)
    np.testing.assert_allclose(rgb[0, 0], [1.0, 0.0, 0.6], atol=1e-6)
    np.testing.assert_allclose(rgb[0, 1], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(rgb[0, 2], [0.0, 0.0, 0.0])


def test_two_default_channels_give_the_papers_red_green_images():
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, size=(4, 2, 7, 7)).astype(np.float32)
    for gain in (1.0, 1.7):
        red_green = np.clip(np.stack([images[:, 0], images[:, 1], np.zeros_like(images[:, 0])], axis=-1) * gain, 0, 1)
        np.testing.assert_array_equal(compose_channels(images, TWO, gain), red_green)


def test_composite_refuses_images_with_another_channel_count():
    with pytest.raises(ValueError, match="one plane per channel"):
        compose_channels(np.zeros((2, 4, 4)), FOUR)


def test_colour_note_names_each_channel_by_its_colour():
    assert colour_note(TWO) == "red = cytoplasm, green = nucleus"
    assert colour_note(FOUR) == "grey = brightfield, red = cytoplasm, green = nucleus, magenta = darkfield"


# --- one cell in detail, channel by channel -----------------------------------------------

def test_preprocessing_figure_has_a_row_per_channel_and_labels_brightfield_cleaning():
    from cellscape.figures.data_figures import preprocessing_figure
    _, raw = simulated_cell()
    fig = preprocessing_figure(raw, FOUR_CONFIG["data"], SIZE, "cell 1", FOUR)
    panels = grey_panels(fig)
    cleaned = {}
    for channel in FOUR:
        raw_titles = [t for t in panels if t == f"{channel['name']}: raw counts"]
        clean_titles = [t for t in panels if t.startswith(f"{channel['name']}: ") and t not in raw_titles]
        assert len(raw_titles) == 1 and len(clean_titles) == 1, panels.keys()
        title = clean_titles[0]
        if channel["kind"] == "brightfield":
            assert "bright" in title and "no threshold" in title and "%" not in title
        else:
            assert "<20%" in title
        cleaned[channel["name"]] = panels[title]
    # the cleaned composite is the grey panels added in the channels' colours
    stack = np.stack([cleaned[c["name"]] for c in FOUR])
    composite = [ax for ax in fig.axes if ax.get_title() == "composite, cleaned and normalised"][0]
    np.testing.assert_allclose(composite.images[0].get_array(), by_hand(stack, FOUR), atol=1e-6)
    assert colour_note(FOUR) in fig._suptitle.get_text()


def test_conv2_activations_figure_shows_each_channel_of_the_cell_in_grey():
    from cellscape.figures.model_figures import conv2_activations_figure
    cell, _ = simulated_cell(1)
    maps = np.random.default_rng(0).uniform(size=(10, 8, 8)).astype(np.float32)
    fig = conv2_activations_figure(cell, maps, "cell 7", FOUR)
    panels = grey_panels(fig)
    for k, channel in enumerate(FOUR):
        np.testing.assert_array_equal(panels[channel["name"]], cell[k])
    shown = [ax for ax in fig.axes if ax.get_title() == "cell"][0]
    np.testing.assert_allclose(shown.images[0].get_array(), by_hand(cell, FOUR), atol=1e-6)
    assert sum(ax.get_title().startswith("ch ") for ax in fig.axes) == len(maps)


def test_neuron_examples_figure_shows_each_feature_image_channel_in_grey():
    from cellscape.figures.featvis_figures import neuron_examples_figure
    rng = np.random.default_rng(2)
    k = 3
    images = rng.uniform(size=(k, 4, 16, 16)).astype(np.float32)
    fig = neuron_examples_figure("conv2", np.array([5, 1, 9]), images, images * 0.5, images[:2], ["a 1", "b 2"],
                                 rng.uniform(size=(k, 2, 8, 8)), images[:, None].repeat(2, axis=1),
                                 [["x", "y"]] * k, rng.uniform(size=(k, 2, 8, 8)), FOUR)
    grey = [ax for ax in fig.axes if ax.images and ax.images[0].get_cmap().name == "gray"]
    assert len(grey) == k * len(FOUR)
    for i in range(k):
        row = [ax for ax in grey if ax.get_subplotspec().rowspan.start == i + 1]
        row.sort(key=lambda ax: ax.get_subplotspec().colspan.start)
        assert [ax.get_title() for ax in row] == [c["name"] for c in FOUR]
        for c, ax in enumerate(row):
            np.testing.assert_array_equal(ax.images[0].get_array(), images[i, c])


def test_feature_evolution_figure_shows_the_last_steps_image_channel_by_channel():
    from cellscape.figures.featvis_figures import feature_evolution_figure
    rng = np.random.default_rng(3)
    snapshots = rng.uniform(size=(3, 2, 4, 8, 8)).astype(np.float32)
    fig = feature_evolution_figure([4, 7], [0, 8, 16], snapshots, rng.uniform(size=(3, 2)), "conv4", FOUR)
    grey = [ax for ax in fig.axes if ax.images and ax.images[0].get_cmap().name == "gray"]
    assert len(grey) == 2 * len(FOUR)
    titles = [ax.get_title() for ax in grey]
    assert all(any(t.endswith(c["name"]) for t in titles) for c in FOUR)
    for ax in grey:
        row = ax.get_subplotspec().rowspan.start
        c = [ch["name"] for ch in FOUR].index(ax.get_title().split("\n")[-1])
        np.testing.assert_array_equal(ax.images[0].get_array(), snapshots[-1, row, c])


# --- conv1 kernels of C input channels ----------------------------------------------------

@pytest.mark.parametrize("channels", [TWO, FOUR], ids=["two", "four"])
def test_conv1_kernels_are_the_composite_of_their_channel_weights(channels):
    from cellscape.figures.model_figures import kernels_figure
    from cellscape.model.network import build_model
    import torch
    torch.manual_seed(0)
    model = build_model({"conv_stages": [[8], [8]], "dense": [8]}, 16, 2, in_channels=len(channels))
    fig = kernels_figure(model, channels)
    ax = [a for a in fig.axes if a.get_title().startswith("conv1")][0]
    assert f"3x3x{len(channels)}" in ax.get_title() and colour_note(channels).split(", ")[-1] in ax.get_title()
    weights = model.layer("conv1")[0].weight.detach().numpy()
    scaled = (weights - weights.min()) / (weights.max() - weights.min() + 1e-12)
    unclipped = np.einsum("kchw,cj->khwj", scaled, np.stack([hex_rgb(c["colour"]) for c in channels]))
    expected = unclipped / max(1.0, unclipped.max())  # dimmed as a whole, never clipped
    mosaic = np.asarray(ax.images[0].get_array())
    for i in range(len(weights)):
        r, c = divmod(i, 4)
        np.testing.assert_allclose(mosaic[r * 4:r * 4 + 3, c * 4:c * 4 + 3], expected[i], atol=1e-5)
    if channels is TWO:  # the paper's red / green kernels, unchanged
        old = np.stack([scaled[:, 0], scaled[:, 1], np.zeros_like(scaled[:, 0])], axis=-1)
        np.testing.assert_allclose(expected, old, atol=1e-6)


# --- rules pass the channels to every figure script that reads them -----------------------

def test_every_figure_script_reading_the_channels_gets_them_from_its_rule():
    rules = "\n".join(path.read_text() for path in sorted((ROOT / "rules").glob("*.smk")))
    blocks = rules.split("\nrule ")[1:]
    checked = 0
    for block in blocks:
        script = block.split('script:\n        "../scripts/')[-1].split('"')[0]
        path = ROOT / "scripts" / script
        if script.startswith("fig") and re.search(r"\b(snakemake\.params|p)\.channels\b", path.read_text()):
            assert "channels=CHANNEL_DISPLAY" in block, block.split(":")[0]
            checked += 1
    assert checked == 10  # fig01_06, fig02, fig07_11 and fig13 to fig19
