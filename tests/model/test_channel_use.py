"""The channel ablation: a channel that carries the class matters, a noise channel does not; the
label-free plan; the channel views that let training and prediction see some channels only."""
import numpy as np
import pandas as pd
import pytest
import torch

from cellscape.data.channel_view import ChannelSubset, ReplacedChannels
from cellscape.data.channels import ChannelError, label_free_channels, label_free_plan, resolve_channels
from cellscape.model.channel_use import channel_use_table, conditions, training_mean_image
from cellscape.model.network import build_model
from cellscape.model.sources.train import inference_model
from cellscape.model.training import fit

#: networks trained here: make test runs them again with bfloat16 off on a bfloat16 CPU
pytestmark = pytest.mark.trains

TINY = {"conv_stages": [[4], [8]], "dense": [8], "dropout": 0.0}
TRAIN = {"epochs": 12, "batch_size": 16, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
         "patience": 12, "class_weights": "balanced", "augment": False}
CLASSES = ["a", "b"]
SIGNAL, NOISE = {"name": "signal", "kind": "fluorescence"}, {"name": "noise", "kind": "darkfield"}


def signal_and_noise(n=240, size=16, seed=0):
    """Channel 0 holds a bright disc in class-b cells only; channel 1 is noise, the same for both classes."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2).astype(np.float32)
    labels = np.arange(n) % 2
    images = rng.random((n, 2, size, size), dtype=np.float32) * 0.3
    images[:, 0] += labels[:, None, None] * disc
    images[:, 1] += rng.random((n, 1, 1), dtype=np.float32)  # cell-to-cell brightness that means nothing
    split = np.where(np.arange(n) < n * 0.5, "train", np.where(np.arange(n) < n * 0.65, "val", "test"))
    index = pd.DataFrame({"row": np.arange(n), "id": [f"c{i}" for i in range(n)], "label": labels,
                          "class": np.array(CLASSES)[labels], "split": split})
    return images, index


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    images, index = signal_and_noise()
    best, _, _ = fit(images, index, CLASSES, TINY, TRAIN, 16, 0, "cpu", tmp_path_factory.mktemp("fit") / "ck.pt")
    return inference_model(best, TINY, 16, 2), images, index


def balanced_accuracy(model, x, labels):
    """Computed here, not by the code under test: the mean over classes of the share predicted right."""
    with torch.no_grad():
        predicted = model(torch.from_numpy(x)).argmax(1).numpy()
    return np.mean([np.mean(predicted[labels == k] == k) for k in (0, 1)]), np.mean(predicted == labels)


def test_the_mean_image_is_the_per_pixel_mean_of_the_training_cells():
    images, index = signal_and_noise(n=50)
    train = index.loc[index["split"] == "train", "row"].to_numpy()
    np.testing.assert_allclose(training_mean_image(images, train[::-1], batch_size=7), images[train].mean(0),
                               rtol=1e-5, atol=1e-6)


def test_replacing_the_informative_channel_drops_to_chance_and_the_noise_channel_does_not(trained):
    model, images, index = trained
    table = channel_use_table(model, images, index, CLASSES, [SIGNAL, NOISE]).set_index(["condition", "channel"])
    test = index[index["split"] == "test"]
    x, labels = images[test["row"].to_numpy()].copy(), test["label"].to_numpy()
    mean = images[index.loc[index["split"] == "train", "row"].to_numpy()].mean(0)
    expected = {}
    for condition, channel, replaced in (("all", "all", []), ("without", "signal", [0]), ("without", "noise", [1]),
                                         ("only", "signal", [1]), ("only", "noise", [0])):
        ablated = x.copy()
        ablated[:, replaced] = mean[replaced]
        expected[condition, channel] = balanced_accuracy(model, ablated, labels)
    for key, (balanced, accuracy) in expected.items():
        assert table.loc[key, "balanced_accuracy"] == pytest.approx(balanced, abs=1e-9), key
        assert table.loc[key, "accuracy"] == pytest.approx(accuracy, abs=1e-9), key
    assert table.loc[("all", "all"), "balanced_accuracy"] > 0.9
    assert table.loc[("without", "signal"), "balanced_accuracy"] <= 0.6  # chance: 0.5
    assert table.loc[("only", "noise"), "balanced_accuracy"] <= 0.6
    assert table.loc[("without", "noise"), "balanced_accuracy"] > 0.9
    assert table.loc[("only", "signal"), "balanced_accuracy"] > 0.9
    n_b = (labels == 1).sum()
    assert table.loc[("all", "all"), "accuracy_b"] == pytest.approx(
        np.mean(model(torch.from_numpy(x[labels == 1])).argmax(1).numpy() == 1), abs=1e-9)
    assert (table["n_cells"] == len(test)).all() and n_b > 0


def test_with_one_channel_only_is_all_and_without_it_every_cell_looks_the_same():
    images, index = signal_and_noise(n=60)
    images = images[:, :1]
    model = build_model(TINY, 16, 2, in_channels=1).eval()
    table = channel_use_table(model, images, index, CLASSES, [SIGNAL]).set_index("condition")
    assert list(table.index) == ["all", "without", "only"]
    assert table.loc["only", "balanced_accuracy"] == table.loc["all", "balanced_accuracy"]
    assert table.loc["without", "balanced_accuracy"] == 0.5  # one answer for every cell: one class right, one wrong
    assert sorted([table.loc["without", "accuracy_a"], table.loc["without", "accuracy_b"]]) == [0.0, 1.0]


def test_conditions_replace_one_channel_or_all_but_one():
    assert conditions(["x", "y", "z"]) == [("all", "all", []), ("without", "x", [0]), ("without", "y", [1]),
                                           ("without", "z", [2]), ("only", "x", [1, 2]), ("only", "y", [0, 2]),
                                           ("only", "z", [0, 1])]


def test_views_read_the_rows_asked_for_without_copying_the_image_set():
    images, _ = signal_and_noise(n=20)
    subset = ChannelSubset(images, [1])
    assert subset.shape == (20, 1, 16, 16) and len(subset) == 20
    np.testing.assert_array_equal(subset[np.array([3, 5])], images[[3, 5]][:, [1]])
    np.testing.assert_array_equal(subset[2:4], images[2:4, [1]])
    fill = np.full(images.shape[1:], 7, np.float32)
    replaced = ReplacedChannels(images, np.array([9, 2, 4]), [0], fill)
    block = replaced[0:2]
    assert (block[:, 0] == 7).all()
    np.testing.assert_array_equal(block[:, 1], images[[9, 2], 1])
    assert images[9, 0].max() < 7  # the image set itself is untouched


def test_a_network_trains_on_a_channel_subset(tmp_path):
    images, index = signal_and_noise(n=80)
    best, history, _ = fit(ChannelSubset(images, [0]), index, CLASSES, TINY, {**TRAIN, "epochs": 1}, 16, 0, "cpu",
                           tmp_path / "ck.pt")
    assert inference_model(best, TINY, 16, 2).features.conv1[0].in_channels == 1
    assert len(history) == 1


FOUR = {"channels": [{"name": "brightfield", "kind": "brightfield"}, {"name": "cytoplasm"}, {"name": "nucleus"},
                     {"name": "darkfield", "kind": "darkfield"}]}


def test_auto_trains_the_label_free_network_only_when_stains_and_label_free_channels_mix():
    four, two = resolve_channels(FOUR), resolve_channels({})
    free_only = resolve_channels({"channels": [FOUR["channels"][0], FOUR["channels"][3]]})
    assert label_free_channels(four) == [0, 3]
    assert label_free_plan("auto", four) == (True, None)
    assert label_free_plan("auto", two) == (False, None)  # the default two stains: no second network
    assert label_free_plan("auto", free_only) == (False, None)
    assert label_free_plan(False, four) == (False, None)
    assert label_free_plan(True, four) == (True, None)
    assert label_free_plan("auto", four, external=True) == (False, None)
    enabled, note = label_free_plan(True, four, external=True)
    assert not enabled and "trained elsewhere" in note
    for channels in (two, free_only):
        with pytest.raises(ChannelError, match="channel_use.label_free"):
            label_free_plan(True, channels)


def test_the_schema_defaults_label_free_to_auto_and_rejects_other_words():
    from support.config import validated_config
    assert validated_config()["channel_use"] == {"label_free": "auto"}
    assert validated_config({"channel_use": {"label_free": False}})["channel_use"]["label_free"] is False
    with pytest.raises(Exception, match="yes"):
        validated_config({"channel_use": {"label_free": "yes"}})
