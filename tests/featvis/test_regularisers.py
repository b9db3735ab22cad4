"""Regularisers of the feature images: frequency penalties, the data-like start and fill,
magnitude-free and neuron objectives, the saturation stop, the activity floor, and the quality
numbers of docs/featvis.md. Each test runs on a tiny model and fails if its piece does nothing."""

import numpy as np
import pytest
import torch

from cellscape.featvis import objectives as obj
from cellscape.featvis.filtering import channel_maps
from cellscape.featvis.channel_order import channel_order, live_channels
from cellscape.featvis.param import FourierParam, PixelParam
from cellscape.featvis.quality import (best_cell_ratio, high_frequency_energy, high_frequency_share,
                                      saturated_share)
from cellscape.featvis.render import SaturationStop, render
from cellscape.featvis.transforms import CropOrPadTo, Pad, RandomRotate, RandomScale, compose, standard_transforms
from cellscape.model.hooks import INPUT

SIZE = 24  # the input size of the small_model fixture (conftest.py)
torch.set_num_threads(1)


def checkerboard(batch=1, channels=2, size=SIZE):
    yy, xx = np.mgrid[:size, :size]
    board = ((yy + xx) % 2).astype(np.float32)
    return np.broadcast_to(board, (batch, channels, size, size)).copy()


def blob(batch=1, channels=2, size=SIZE, sigma=5.0):
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    g = np.exp(-(xx ** 2 + yy ** 2) / (2 * sigma ** 2)).astype(np.float32)
    return np.broadcast_to(g, (batch, channels, size, size)).copy()


# --- quality numbers ----------------------------------------------------------------------

def test_saturated_share_counts_pixels_in_the_sigmoid_tails():
    images = np.full((2, 2, 4, 5), 0.5, dtype=np.float32)
    images[0, 0, 0, :] = 0.01  # 5 of 40 pixels below 0.02
    images[1, 1, :2, :] = 0.99  # 10 of 40 above 0.98
    np.testing.assert_allclose(saturated_share(images), [5 / 40, 10 / 40])
    torch.testing.assert_close(saturated_share(torch.as_tensor(images)), torch.tensor([5 / 40, 10 / 40]))


def test_high_frequency_share_is_one_for_a_checkerboard_and_near_zero_for_a_blob():
    assert high_frequency_share(checkerboard())[0] == pytest.approx(1.0)
    assert high_frequency_share(blob())[0] < 0.01
    assert high_frequency_share(np.full((1, 2, 8, 8), 0.3))[0] == 0.0
    noise = np.random.default_rng(0).uniform(size=(4, 2, 64, 64))
    assert 0.6 < high_frequency_share(noise).mean() < 0.9


def test_high_frequency_energy_is_the_mean_square_of_the_high_pass_part():
    assert high_frequency_energy(checkerboard())[0] == pytest.approx(0.25)  # +-0.5 around the mean
    assert high_frequency_energy(0.1 * checkerboard())[0] == pytest.approx(0.0025)
    assert high_frequency_energy(blob())[0] < 1e-4
    noise = np.random.default_rng(0).uniform(size=(4, 2, 64, 64))
    assert high_frequency_energy(noise).mean() == pytest.approx(0.8 * (1 / 12), rel=0.1)


def test_best_cell_ratio_divides_and_is_zero_for_a_silent_channel():
    np.testing.assert_allclose(best_cell_ratio([2.0, 1.0, 3.0], [1.0, 4.0, 0.0]), [2.0, 0.25, 0.0])


# --- frequency penalties ------------------------------------------------------------------

def test_total_variation_of_a_checkerboard_and_a_constant_image():
    tv = obj.total_variation()
    images = np.concatenate([checkerboard(), np.full((1, 2, SIZE, SIZE), 0.7, dtype=np.float32)])
    values = tv({INPUT: torch.as_tensor(images)})
    torch.testing.assert_close(values, torch.tensor([2.0, 0.0]))  # dx and dy mean |difference| 1 each
    assert tv.layers == {INPUT}


def test_blur_penalty_is_zero_on_a_constant_image_and_moves_only_the_image():
    blur = obj.blur_penalty()
    flat = torch.full((1, 2, SIZE, SIZE), 0.4)
    assert blur({INPUT: flat}).item() == 0.0
    board = torch.as_tensor(checkerboard(), dtype=torch.float32).requires_grad_(True)
    value = blur({INPUT: board})
    assert value.item() > 0.1
    value.sum().backward()
    # gradient of 0.5 * mean((x - stopgrad(blur(x)))^2) is (x - blur(x)) / n
    blurred = obj.box_blur(board.detach())
    torch.testing.assert_close(board.grad, (board.detach() - blurred) / board[0].numel())


def render_pixels(model, objective, steps=60, seed=0):
    """A pixel-parameterised render: it has no 1/f prior, so it is the noisiest and shows what a
    frequency penalty does on its own."""
    return render(model, objective, PixelParam(3, 2, SIZE, sd=0.5, seed=seed), standard_transforms(SIZE),
                  steps=steps, lr=0.05, progress=False)


@pytest.mark.parametrize("penalty,weight", [(obj.total_variation, 2.0), (obj.blur_penalty, 40.0)],
                         ids=["total_variation", "blur"])
def test_frequency_penalty_lowers_high_frequency_energy_of_the_result(small_model, penalty, weight):
    channels = obj.channels_batched("conv2", [0, 3, 6])
    plain = render_pixels(small_model, channels)
    smooth = render_pixels(small_model, channels - weight * penalty())
    assert high_frequency_energy(smooth.images).mean() < 0.7 * high_frequency_energy(plain.images).mean()


# --- start and fill -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", [FourierParam, PixelParam])
def test_data_start_is_dark_like_the_cells_and_grey_start_is_grey(kind):
    levels = [0.065, 0.035]
    dark = kind(4, 2, SIZE, seed=0, start=levels)().detach()
    np.testing.assert_allclose(dark.mean(dim=(0, 2, 3)).numpy(), levels, atol=0.005)
    assert dark.max().item() < 0.2  # black with faint noise: no grey canvas
    assert saturated_share(dark).max().item() == 0  # and not in the sigmoid's tail
    grey = kind(4, 2, SIZE, seed=0)().detach()
    assert abs(grey.mean().item() - 0.5) < 0.01


def test_a_dark_start_round_trips_images():
    images = np.random.default_rng(0).uniform(0.05, 0.95, size=(2, 2, SIZE, SIZE)).astype(np.float32)
    param = FourierParam.from_images(images, start=[0.065, 0.035])
    np.testing.assert_allclose(param().detach().numpy(), images, atol=1e-4)
    with pytest.raises(ValueError):
        FourierParam(1, 2, SIZE, start=[0.0, 0.5])


def test_black_fill_pads_and_warps_with_black():
    images = torch.full((2, 2, 12, 12), 0.3)
    padded = Pad(3, value=0.0)(images)
    assert torch.all(padded[..., :3, :] == 0) and torch.all(padded[..., 3:-3, 3:-3] == 0.3)
    zoomed_out = RandomScale([0.5], fill=0.0)(images, torch.Generator().manual_seed(0))
    assert zoomed_out[..., 0, 0].abs().max().item() < 1e-6  # the corner comes from outside: black


def test_uniform_fill_is_one_random_level_per_sample_kept_by_the_later_warps():
    images = torch.full((6, 2, 12, 12), 0.3)
    g = torch.Generator().manual_seed(0)
    padded = Pad(3, value="uniform")(images, g)
    corners = padded[:, :, 0, 0]
    assert torch.all(corners[:, 0] == corners[:, 1])  # one level per sample, all channels
    assert len(set(corners[:, 0].tolist())) == 6 and 0 <= corners.min() and corners.max() <= 1
    assert torch.all(padded[..., 3:-3, 3:-3] == 0.3)
    warped = compose([RandomRotate([30], fill="uniform"), CropOrPadTo(22, value="uniform")])(padded, g)
    torch.testing.assert_close(warped[:, :, 0, 0], corners)  # replicated border, no other level


# --- magnitude-free and neuron objectives -------------------------------------------------

def test_relative_objective_is_magnitude_free_and_one_for_a_lone_channel():
    torch.manual_seed(0)
    act = torch.rand(3, 5, 6, 7)
    relative = obj.channels_relative("conv2", [1, 4, 0])
    value = relative({"conv2": act})
    torch.testing.assert_close(relative({"conv2": 10 * act}), value)
    assert torch.all((0 < value) & (value < 1))
    lone = torch.zeros(3, 5, 6, 7)
    lone[0, 1], lone[1, 4], lone[2, 0] = 2.0, 0.5, 3.0
    torch.testing.assert_close(relative({"conv2": lone}), torch.ones(3), atol=1e-5, rtol=0)
    plain = obj.channels_batched("conv2", [1, 4, 0])
    assert torch.all(plain({"conv2": 10 * act}) > 9 * plain({"conv2": act}))  # the plain one pays for brightness


def test_neurons_batched_reads_the_centre_and_scale_divides():
    torch.manual_seed(1)
    act = torch.rand(2, 5, 6, 7)
    value = obj.neurons_batched("conv2", [3, 1], scale=[2.0, 0.5])({"conv2": act})
    torch.testing.assert_close(value, torch.stack([act[0, 3, 3, 3] / 2.0, act[1, 1, 3, 3] / 0.5]))
    scaled = obj.channels_batched("conv2", [3, 1], scale=[2.0, 0.5])({"conv2": act})
    torch.testing.assert_close(scaled, torch.stack([act[0, 3].mean() / 2.0, act[1, 1].mean() / 0.5]))
    with pytest.raises(ValueError):
        obj.channels_batched("conv2", [3, 1], scale=[1.0, 0.0])


def test_neuron_objective_raises_the_centre_activation_more_than_the_channel_objective(small_model):
    def centre_and_mean(objective):
        result = render(small_model, objective, FourierParam(1, 2, SIZE, seed=0), standard_transforms(SIZE),
                        steps=40, progress=False)
        maps = channel_maps(small_model, "conv2", [5], result.images)[0]
        h, w = maps.shape
        return maps[h // 2, w // 2] / max(maps.mean(), 1e-9)

    assert centre_and_mean(obj.neurons_batched("conv2", [5])) > centre_and_mean(obj.channels_batched("conv2", [5]))


# --- saturation stop ----------------------------------------------------------------------

def saturating_render(model, stop=None, steps=80):
    """Pixel param at a huge learning rate: pixels run into the sigmoid's tails within steps."""
    return render(model, obj.channels_batched("conv2", [0, 3]), PixelParam(2, 2, SIZE, seed=1),
                  standard_transforms(SIZE), steps=steps, lr=1.0, progress=False, stop_saturation=stop)


def test_saturation_stop_ends_a_run_whose_images_saturate_and_keeps_the_last_good_image(small_model):
    free = saturating_render(small_model)
    assert saturated_share(free.images).min() > 0.3  # without the rule the images blow out
    stopped = saturating_render(small_model, SaturationStop(threshold=0.05), steps=80)
    assert stopped.stopped_early and stopped.steps_run < 80
    assert saturated_share(stopped.images).max() <= 0.05
    assert np.all(stopped.item_steps < stopped.steps_run) and np.all(stopped.item_steps >= 1)
    # the kept image is the item's image of that step: rerunning that many steps reproduces it
    for i, n in enumerate(stopped.item_steps):
        again = saturating_render(small_model, steps=int(n))
        np.testing.assert_allclose(stopped.images[i], again.images[i], atol=1e-6)


def test_saturation_stop_leaves_a_run_that_never_saturates_alone(small_model):
    kwargs = dict(steps=20, lr=0.05, progress=False, seed=0)
    plain = render(small_model, obj.channels_batched("conv2", [0, 3]), FourierParam(2, 2, SIZE, seed=0),
                   standard_transforms(SIZE), **kwargs)
    guarded = render(small_model, obj.channels_batched("conv2", [0, 3]), FourierParam(2, 2, SIZE, seed=0),
                     standard_transforms(SIZE), stop_saturation=0.5, **kwargs)
    assert not guarded.stopped_early and guarded.steps_run == 20
    np.testing.assert_array_equal(guarded.images, plain.images)
    assert guarded.item_steps.tolist() == [20, 20]


def test_saturation_stop_fills_later_snapshots_with_the_kept_images(small_model):
    result = render(small_model, obj.channels_batched("conv2", [0, 3]), PixelParam(2, 2, SIZE, seed=1),
                    standard_transforms(SIZE), steps=200, lr=1.0, progress=False, snapshots=(0, 2, 150, 200),
                    stop_saturation=0.05)
    assert sorted(result.snapshots) == [0, 2, 150, 200]
    np.testing.assert_array_equal(result.snapshots[200], result.images)
    assert max(saturated_share(shot).max() for shot in result.snapshots.values()) <= 0.05


# --- channel selection: the activity floor ------------------------------------------------

def test_activity_floor_excludes_a_near_silent_channel_and_orders_it_after_the_live_ones():
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, size=100)
    profiles = np.stack([0.30 * base,  # the most active channel
                         0.05 * (base + 0.5 * rng.gamma(2.0, size=100)),  # live, partly like channel 0
                         0.0004 * rng.gamma(2.0, size=100),  # near-silent, unlike every other
                         0.08 * (base + 0.5 * rng.gamma(2.0, size=100)),  # live, partly like channel 0
                         np.zeros(100)], axis=1)  # dead
    live = live_channels(profiles, floor=0.05)
    assert live.tolist() == [True, True, False, True, False]
    assert live_channels(profiles, floor=0.0).tolist() == [True, True, True, True, False]
    order = channel_order(profiles, floor=0.05).tolist()
    assert set(order[:3]) == {0, 1, 3} and order[3:] == [2, 4]
    # without the floor the faint channel, being unlike the others, is picked early
    assert channel_order(profiles, floor=0.0).tolist()[:2] == [0, 2]


# --- range penalty, cap, brightness prior -------------------------------------------------

def test_range_penalty_is_zero_inside_the_range_and_counts_logits_beyond_it():
    penalty = obj.range_penalty(0.02, 0.98)
    inside = torch.full((1, 2, 4, 4), 0.5)
    assert penalty({obj.IMAGE: inside}).item() == 0.0
    tail = inside.clone()
    tail[0, 0, 0, 0] = torch.sigmoid(torch.logit(torch.tensor(0.02)) - 2.0)  # 2 logits below the range
    assert penalty({obj.IMAGE: tail}).item() == pytest.approx(2.0 / 32, rel=1e-3)
    assert penalty.layers == {obj.IMAGE}


def test_range_penalty_keeps_a_saturating_render_out_of_the_tails(small_model):
    channels = obj.channels_batched("conv2", [0, 3])
    kwargs = dict(steps=80, lr=0.2, progress=False)
    free = render(small_model, channels, FourierParam(2, 2, SIZE, seed=1), standard_transforms(SIZE), **kwargs)
    kept = render(small_model, channels - 3.0 * obj.range_penalty(), FourierParam(2, 2, SIZE, seed=1),
                  standard_transforms(SIZE), **kwargs)
    assert saturated_share(free.images).mean() > 0.2
    assert saturated_share(kept.images).mean() < 0.5 * saturated_share(free.images).mean()


def test_capped_objective_gives_no_reward_beyond_the_cap():
    acts = {"conv2": torch.tensor([0.5, 3.0]).view(2, 1, 1, 1).expand(2, 1, 2, 2)}
    capped = obj.capped(obj.channels_batched("conv2", [0, 0]), 2.0)
    torch.testing.assert_close(capped(acts), torch.tensor([0.5, 2.0]))
    x = torch.tensor([3.0], requires_grad=True)
    obj.capped(obj.Objective(lambda a: a["x"], ["x"]), 2.0)({"x": x}).sum().backward()
    assert x.grad.item() == 0.0  # beyond the cap only the penalties move the image


def test_cap_stops_the_brightness_race_and_lets_the_penalty_work(small_model):
    """With the cap, the image that reaches it is dimmer and smoother than the uncapped one."""
    plain = obj.channels_batched("conv2", [6])
    kwargs = dict(steps=60, lr=0.1, progress=False)

    def run(objective):
        return render(small_model, objective - 0.3 * obj.total_variation(), FourierParam(1, 2, SIZE, seed=0,
                      start=[0.065, 0.035]), standard_transforms(SIZE, fill=0.0), **kwargs)

    free, capped = run(plain), run(obj.capped(plain, 0.5 * run(plain).final_objective[0]))
    assert capped.images.mean() < free.images.mean()
    assert high_frequency_energy(capped.images)[0] < high_frequency_energy(free.images)[0]


def test_brightness_penalty_darkens_the_image(small_model):
    channels = obj.channels_batched("conv2", [0, 3])
    kwargs = dict(steps=40, lr=0.05, progress=False)
    plain = render(small_model, channels, FourierParam(2, 2, SIZE, seed=1), standard_transforms(SIZE), **kwargs)
    dark = render(small_model, channels - 2.0 * obj.L1(obj.IMAGE), FourierParam(2, 2, SIZE, seed=1),
                  standard_transforms(SIZE), **kwargs)
    assert dark.images.mean() < plain.images.mean() - 0.05


# --- the workflow's recipe ----------------------------------------------------------------

def test_default_recipe_renders_dark_unsaturated_images_that_beat_the_best_cell(small_model, default_config):
    from cellscape.featvis.tasks import channel_activation, data_prior, render_channels
    rng = np.random.default_rng(0)
    cells = np.zeros((40, 2, SIZE, SIZE), dtype=np.float32)  # black background, a bright disc each
    yy, xx = np.mgrid[:SIZE, :SIZE]
    for i in range(len(cells)):
        r = rng.uniform(3, 7)
        cells[i][:, (yy - SIZE / 2) ** 2 + (xx - SIZE / 2) ** 2 < r * r] = rng.uniform(0.3, 1.0, size=(2, 1))
    cfg = {**default_config["featvis"], "steps": 128, "channels_last": False}  # config.yaml's steps
    prior = data_prior(cfg, cells)
    assert np.all(prior["start"] < 0.2)  # the data start: dark
    channels = [0, 3, 6]
    best = np.array([channel_activation(small_model, "conv2", [c] * len(cells), cells, "cpu").max() for c in channels])
    out = render_channels(small_model, "conv2", channels, cfg, SIZE, seed=0, device="cpu", prior=prior,
                          best_cell=best)
    assert np.all(out["saturated"] <= 0.2)
    assert np.all(out["best_cell_ratio"] >= 1.0)
    np.testing.assert_allclose(out["saturated"], saturated_share(out["images"]), rtol=1e-5)
    assert out["steps_run"].shape == (3,)


def test_evolution_and_layer_figures_show_saturation_and_best_cell_ratio():
    import matplotlib
    matplotlib.use("Agg")
    from cellscape.data.channels import display, resolve_channels
    from cellscape.figures.featvis_figures import feature_evolution_figure, feature_layers_figure
    two = display(resolve_channels({}))
    rng = np.random.default_rng(0)
    snapshots = rng.uniform(size=(3, 2, 2, 8, 8)).astype(np.float32)
    saturated = np.array([[0.0, 0.1], [0.02, 0.3], [0.05, 0.5]])
    fig = feature_evolution_figure([4, 7], [0, 8, 16], snapshots, rng.uniform(size=(3, 2)), "conv4", two, saturated)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("sat 30%" in t for t in titles) and any("step 16" in t for t in titles)
    features = {"conv1": {"channels": np.array([3, 1]), "images": snapshots[0], "filtered": snapshots[1],
                          "best_cell_ratio": np.array([2.5, 1.25])}}
    fig = feature_layers_figure(features, 2, two)
    assert any("(2.5x)" in ax.get_title() for ax in fig.axes)


# --- the activation filter as a render view (float32 feedback, docs/featvis.md) -----------

@pytest.mark.parametrize("image_channels", [1, 3])
def test_filtered_view_multiplies_each_item_by_its_own_channel_map_scaled_to_unit_range(image_channels):
    from cellscape.featvis.filtering import FilteredView
    rng = np.random.default_rng(0)
    view = torch.as_tensor(rng.uniform(size=(2, image_channels, 6, 6)), dtype=torch.float32)
    layer = torch.as_tensor(rng.uniform(-1, 3, size=(2, 4, 6, 6)), dtype=torch.float32)  # the view's size: no resampling
    layer[0, 2] = 0.7  # item 0's channel is flat: the filter keeps the whole view
    filtered = FilteredView("conv2", [2, 1])(view, {"conv2": layer})
    m = layer[1, 1].numpy()
    expected = view[1].numpy() * (m - m.min()) / (m.max() - m.min())
    np.testing.assert_allclose(filtered[1].numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(filtered[0].numpy(), view[0].numpy())


def test_filtered_view_costs_one_extra_pass_on_its_steps_and_leaves_the_history_plain(small_model):
    from cellscape.featvis.filtering import FilteredView
    calls = []
    handle = small_model.layer("conv2")[0].register_forward_hook(lambda *args: calls.append(1))
    kwargs = dict(steps=12, lr=0.05, progress=False, seed=0)
    try:
        plain = render(small_model, obj.channels_batched("conv2", [0, 3]), FourierParam(2, 2, SIZE, seed=0),
                       standard_transforms(SIZE), **kwargs)
        n_plain = len(calls)
        viewed = render(small_model, obj.channels_batched("conv2", [0, 3]), FourierParam(2, 2, SIZE, seed=0),
                        standard_transforms(SIZE), filtered_view=FilteredView("conv2", [0, 3], every=4), **kwargs)
    finally:
        handle.remove()
    assert len(calls) - n_plain == n_plain + 3  # steps 0, 4 and 8 see the filtered view too
    assert plain.item_history[0].tolist() == viewed.item_history[0].tolist()  # same first view, plain objective
    assert not np.allclose(plain.images, viewed.images)
