"""The regression task of the MDA comparison: the measured target, regression training, its figures."""
import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.collections import PathCollection
from sklearn.metrics import mean_absolute_error, r2_score

from cellscape.figures.common import save_figure
from cellscape.figures.mda_figures import classifier_mda_figure, regression_maps_figure, scores_figure
from cellscape.data.preprocess import process_event
from cellscape.mda.target import (cell_and_nucleus_area, ground_truth_agreement, measure_targets,
                                         nucleus_area_ratio, prediction_error)
from cellscape.data.simulate import simulate_event
from cellscape.mda.regression_task import RegressionTask, target_scaling
from cellscape.model.training import fit

from support.config import validated_config

TINY = {"conv_stages": [[4], [8]], "dense": [8], "dropout": 0.0}
TRAIN = {"epochs": 3, "batch_size": 16, "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0,
         "patience": 5, "class_weights": "balanced", "augment": True}


def disk(size, radius, centre):
    yy, xx = np.mgrid[:size, :size]
    return ((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) <= radius ** 2


def cell_image(cell_radius, nucleus_radius, size=78, nucleus_shift=(3, -2)):
    """A filtered image: a disk cell (cytoplasm channel, dimmer where the nucleus is) with a
    smaller disk nucleus inside it; background exactly 0."""
    centre = (size / 2, size / 2)
    cell = disk(size, cell_radius, centre)
    nucleus = disk(size, nucleus_radius, (centre[0] + nucleus_shift[0], centre[1] + nucleus_shift[1]))
    image = np.zeros((2, size, size), np.float32)
    image[0][cell & ~nucleus] = 0.8
    image[0][nucleus] = 0.3  # cytoplasm stain over the nucleus is weaker but present
    image[1][nucleus] = 1.0
    return image


# ------------------------------------------------------------------------------ measured target

@pytest.mark.parametrize("cell_radius, nucleus_radius", [(15, 9), (20, 8), (12, 10)])
def test_disk_cell_with_disk_nucleus_has_ratio_r2_over_R2(cell_radius, nucleus_radius):
    ratio = nucleus_area_ratio(cell_image(cell_radius, nucleus_radius, nucleus_shift=(1, -1)))
    assert ratio == pytest.approx(nucleus_radius ** 2 / cell_radius ** 2, rel=0.04)


def test_cell_area_is_the_union_of_both_channels():
    image = cell_image(15, 9)
    image[0][image[1] > 0] = 0  # no cytoplasm stain over the nucleus: the union still covers it
    cell_area, nucleus_area = cell_and_nucleus_area(image)
    assert cell_area == pytest.approx(np.pi * 15 ** 2, rel=0.03)
    assert nucleus_area == pytest.approx(np.pi * 9 ** 2, rel=0.03)


def test_specks_and_objects_outside_the_cell_are_ignored():
    clean = cell_image(15, 8)
    noisy = clean.copy()
    noisy[1, 2:4, 2:4] = 1.0  # a nucleus-channel speck far from the cell
    noisy[0, 70:75, 70:75] = 1.0  # a small cytoplasm object (not the largest)
    noisy[1, 40, 52] = 0.5  # one stray nucleus pixel inside the cell
    assert nucleus_area_ratio(noisy) == pytest.approx(nucleus_area_ratio(clean), abs=1e-9)


def test_empty_image_has_no_ratio():
    assert np.isnan(nucleus_area_ratio(np.zeros((2, 20, 20), np.float32)))
    with pytest.raises(ValueError, match="2, H, W"):
        nucleus_area_ratio(np.zeros((3, 20, 20)))


def test_measured_ratio_follows_the_simulators_ground_truth():
    cfg = validated_config()
    rng = np.random.default_rng(4)
    filtered, truth = [], []
    for k in range(36):
        raw, properties = simulate_event(rng, ("lymphocyte", "neutrophil")[k % 2])
        image, checks = process_event(raw.astype(np.float32), 65535, cfg["data"], cfg["qc"], cfg["image_size"])
        if all(checks.values()):
            filtered.append(image)
            truth.append(properties["nucleus_area_ratio"])
    assert len(filtered) >= 25
    measured = measure_targets(np.stack(filtered), progress=False)["nucleus_area_ratio"]
    agreement = ground_truth_agreement(measured, truth)
    assert agreement["pearson_r"] > 0.9
    assert abs(agreement["bias"]) < 0.05
    assert agreement["n"] == len(filtered)


def test_ground_truth_agreement_reports_a_constant_offset_as_bias():
    truth = np.linspace(0.3, 0.7, 20)
    agreement = ground_truth_agreement(np.r_[truth + 0.05, np.nan], np.r_[truth, 0.5])
    assert agreement["n"] == 20
    assert agreement["pearson_r"] == pytest.approx(1.0)
    assert agreement["bias"] == pytest.approx(0.05)


def test_prediction_error_agrees_with_sklearn():
    rng = np.random.default_rng(0)
    target = rng.normal(0.5, 0.1, 50)
    predicted = target + rng.normal(0, 0.03, 50)
    error = prediction_error(target, predicted)
    assert error["r2"] == pytest.approx(r2_score(target, predicted))
    assert error["mae"] == pytest.approx(mean_absolute_error(target, predicted))
    assert error["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - target) ** 2)))


# ------------------------------------------------------------------------------ regression training

def toy_regression_set(n=96, size=16, seed=0):
    """Channel 1 holds a disk whose radius is the target (in pixels): learnable by a small CNN."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(1.5, 6.0, n)
    images = rng.random((n, 2, size, size), dtype=np.float32) * 0.1
    for k in range(n):
        images[k, 1][disk(size, radius[k], (size / 2, size / 2))] += 1.0
        images[k, 0][disk(size, 7, (size / 2, size / 2))] += 0.5
    split = np.where(np.arange(n) < n * 0.6, "train", np.where(np.arange(n) < n * 0.8, "val", "test"))
    index = pd.DataFrame({"row": np.arange(n), "id": [f"c{i}" for i in range(n)], "split": split,
                          "target": 10 + radius})  # offset: the z-score must handle it
    return images, index


@pytest.mark.trains
def test_regression_training_decreases_the_error(tmp_path):
    torch.set_num_threads(1)
    images, index = toy_regression_set()
    best, history, n_params = fit(images, index, [], TINY, {**TRAIN, "epochs": 4}, 16, 0, "cpu",
                                  tmp_path / "ck.pt", task=RegressionTask(index))
    assert set(history[0]) == {"epoch", "train_loss", "train_rmse", "train_r2", "val_loss", "val_rmse", "val_r2",
                               "lr", "train_seconds", "seconds"}
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert min(h["val_loss"] for h in history) < history[0]["val_loss"]
    assert best["classifier.dense2.0.weight"].shape[0] == 1  # one output
    # RMSE is reported in the target's units: z-scored MSE x the training split's SD
    mean, std = target_scaling(index)
    assert history[-1]["val_rmse"] == pytest.approx(np.sqrt(history[-1]["val_loss"]) * std, rel=1e-4)


def test_regression_task_standardises_with_the_training_split_only():
    images, index = toy_regression_set()
    task = RegressionTask(index)
    train_values = index.loc[index["split"] == "train", "target"]
    assert task.mean == pytest.approx(train_values.mean()) and task.std == pytest.approx(train_values.std(ddof=0))
    y_train = task.targets(index, "train").numpy().ravel()
    assert y_train.mean() == pytest.approx(0, abs=1e-5) and y_train.std() == pytest.approx(1, abs=1e-4)
    y_val = task.targets(index, "val").numpy().ravel()
    assert task.to_original_units(y_val) == pytest.approx(index.loc[index["split"] == "val", "target"].to_numpy(),
                                                          rel=1e-5)
    broken = index.copy()
    broken.loc[0, "target"] = np.nan
    with pytest.raises(ValueError, match="missing"):
        RegressionTask(broken)


def test_regression_net_starts_from_predicting_the_training_mean():
    from cellscape.model.network import build_model
    images, index = toy_regression_set(n=20)
    model = build_model(TINY, 16, 1)
    task = RegressionTask(index)
    task.prepare(model)
    outputs = model(torch.from_numpy(images)).detach().numpy()
    assert task.to_original_units(outputs) == pytest.approx(np.full(len(images), task.mean))


def test_checkpoint_of_a_classifier_is_not_resumed_as_a_regression(tmp_path):
    torch.set_num_threads(1)
    images, index = toy_regression_set(n=48)
    index["label"] = (index["target"] > index["target"].median()).astype(int)
    index["class"] = np.array(["a", "b"])[index["label"]]
    cfg = {**TRAIN, "epochs": 1}
    fit(images, index, ["a", "b"], TINY, cfg, 16, 0, "cpu", tmp_path / "ck.pt")
    _, history, _ = fit(images, index, [], TINY, cfg, 16, 0, "cpu", tmp_path / "ck.pt", task=RegressionTask(index))
    assert len(history) == 1 and "val_rmse" in history[0]  # trained afresh, not resumed


# ------------------------------------------------------------------------------ figures

def map_axes(figure):
    """Axes holding a scatter plot (colour bars hold other collections)."""
    return [ax for ax in figure.axes if any(isinstance(c, PathCollection) for c in ax.collections)]


def fake_maps(layers, methods, n=60, seed=0):
    rng = np.random.default_rng(seed)
    target = rng.uniform(0.3, 0.7, n)
    maps = {}
    for layer in layers:
        for method in methods:
            xy = rng.normal(size=(n, 2)) + target[:, None] * 3
            maps[(layer, method)] = pd.DataFrame({"id": np.arange(n).astype(str), "x": xy[:, 0], "y": xy[:, 1],
                                                  "target": target, "error": rng.normal(0, 0.05, n),
                                                  "class": np.where(target > 0.5, "a", "b")})
    return maps


def test_regression_maps_figure_has_one_panel_per_layer_and_method_and_a_colour_bar(tmp_path):
    layers, methods = ["conv1", "conv2", "dense1"], ["mda", "umap"]
    maps = fake_maps(layers, methods)
    figure = regression_maps_figure(maps, layers, methods, column="error", diverging=True, colour_label="error")
    scatter_axes = map_axes(figure)
    assert len(scatter_axes) == len(layers) * len(methods)
    colour_bars = [ax for ax in figure.axes if ax.get_ylabel() == "error"]
    assert len(colour_bars) == 1
    norm = scatter_axes[0].collections[0].norm
    assert norm(0.0) == pytest.approx(0.5) and norm.vmin == pytest.approx(-norm.vmax)  # centred on 0
    save_figure(figure, tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 1000 and (tmp_path / "f.pdf").exists()


def test_scores_figure_draws_a_line_per_method(tmp_path):
    layers, methods = ["conv1", "conv2", "dense1"], ["mda", "umap", "pca"]
    rng = np.random.default_rng(1)
    metrics = pd.DataFrame([{"layer": layer, "method": method, "geodesic_correlation": rng.uniform(),
                             "geodesic_correlation_knn": rng.uniform(), "knn_rmse": rng.uniform(), "knn_r2": rng.uniform(), "trustworthiness": rng.uniform(),
                             "seconds": rng.uniform(0.1, 5)} for layer in layers for method in methods])
    figure = scores_figure(metrics, layers, {"rmse": 0.05, "target_std": 0.1})
    geodesic_axis = figure.axes[0]
    assert len(geodesic_axis.lines) == len(methods)
    assert list(geodesic_axis.lines[0].get_ydata()) == pytest.approx(
        metrics[metrics["method"] == "mda"].set_index("layer").loc[layers, "geodesic_correlation"].to_list())
    knn_axis = figure.axes[1]
    assert list(knn_axis.lines[0].get_ydata()) == pytest.approx(
        metrics[metrics["method"] == "mda"].set_index("layer").loc[layers, "geodesic_correlation_knn"].to_list())
    save_figure(figure, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_classifier_mda_figure_has_mda_and_umap_rows(tmp_path):
    layers = ["conv1", "dense2"]
    maps = fake_maps(layers, ["mda", "umap"])
    figure = classifier_mda_figure({layer: maps[(layer, "mda")] for layer in layers},
                                   {layer: maps[(layer, "umap")] for layer in layers}, layers, ["a", "b"])
    assert len(map_axes(figure)) == 2 * len(layers)
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["a", "b"]
    save_figure(figure, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
