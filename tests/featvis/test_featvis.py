"""Feature visualisation core: parameterisations, transforms, objectives, render, filtering."""

import numpy as np
import pytest
import torch


from cellscape.featvis import objectives as obj  # noqa: E402
from cellscape.featvis.filtering import (activation_filter, channel_maps, filter_by_maps,  # noqa: E402
                                         normalise_maps, pearson_rows, upscale_lanczos)
from cellscape.featvis.param import (FourierParam, PixelParam, channel_covariance,  # noqa: E402
                                     decorrelation_matrix, fourier_image, fourier_spectrum,
                                     spectrum_frequencies)
from cellscape.featvis.render import PlateauStop, _RedirectedReLU, render  # noqa: E402
from cellscape.model.hooks import capture_activations, frozen_eval  # noqa: E402
from cellscape.featvis.transforms import (CropOrPadTo, Jitter, Pad, RandomRotate,  # noqa: E402
                                          RandomScale, compose, standard_transforms)

SIZE = 24  # the input size of the small_model fixture (conftest.py)
torch.set_num_threads(1)


def activations(model, layer, images):
    """Activations in eval mode (dropout off), as render and filtering see them."""
    with torch.no_grad(), frozen_eval(model), capture_activations(model, [layer]) as run:
        return run(torch.as_tensor(np.asarray(images), dtype=torch.float32))[layer]


# --- parameterisations -------------------------------------------------------------------

@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("height,width", [(24, 24), (23, 18), (78, 78)])
def test_fourier_param_round_trips_images(channels, height, width):
    rng = np.random.default_rng(channels)
    images = rng.uniform(0.05, 0.95, size=(3, channels, height, width)).astype(np.float32)
    param = FourierParam.from_images(images)
    np.testing.assert_allclose(param().detach().numpy(), images, atol=1e-4)


def test_fourier_param_round_trips_images_with_channel_decorrelation():
    rng = np.random.default_rng(1)
    images = rng.uniform(0.05, 0.95, size=(2, 2, SIZE, SIZE)).astype(np.float32)
    images[:, 1] = 0.5 * images[:, 0] + 0.3  # strongly correlated channels
    color_sqrt = decorrelation_matrix(channel_covariance(images))
    for param in (FourierParam.from_images(images, color_sqrt=color_sqrt),
                  PixelParam.from_images(images, color_sqrt=color_sqrt)):
        np.testing.assert_allclose(param().detach().numpy(), images, atol=1e-4)


def test_fourier_spectrum_inverts_fourier_image():
    torch.manual_seed(0)
    image = torch.randn(2, 3, 17, 20)
    for decay_power in (0.0, 1.0, 1.5):
        back = fourier_image(fourier_spectrum(image, decay_power), 17, 20, decay_power)
        torch.testing.assert_close(back, image, atol=1e-5, rtol=1e-5)


def log_log_spectrum_slope(images):
    """Slope of log mean amplitude against log radial frequency (1/f noise has slope -1)."""
    amplitude = torch.fft.rfft2(images).abs().mean(dim=(0, 1))
    freqs = spectrum_frequencies(*images.shape[-2:])
    keep = freqs > 2.0 / images.shape[-1]
    return np.polyfit(np.log(freqs[keep].numpy()), np.log(amplitude[keep].numpy()), 1)[0]


def test_initial_fourier_images_are_near_grey_with_one_over_f_spectrum():
    param = FourierParam(16, 2, 64, sd=0.01, decay_power=1.0, seed=3)
    pre = param.pre_sigmoid().detach()
    assert abs(pre.mean().item()) < 0.005
    assert 0.002 < pre.std().item() < 0.1  # small: the image starts close to uniform grey
    assert abs(param().detach().mean().item() - 0.5) < 0.01
    assert log_log_spectrum_slope(pre) == pytest.approx(-1.0, abs=0.2)
    flat = FourierParam(16, 2, 64, sd=0.01, decay_power=0.0, seed=3).pre_sigmoid().detach()
    assert log_log_spectrum_slope(flat) == pytest.approx(0.0, abs=0.2)


def test_initial_pixel_images_have_requested_sd():
    pre = PixelParam(8, 2, 32, sd=0.01, seed=0).pre_sigmoid().detach()
    assert pre.std().item() == pytest.approx(0.01, rel=0.05)


def test_params_with_same_seed_are_identical_and_different_seeds_differ():
    a, b, c = (FourierParam(2, 2, SIZE, seed=s)().detach() for s in (5, 5, 6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("kind", [FourierParam, PixelParam])
def test_per_item_seeds_make_an_items_start_independent_of_its_batch(kind):
    batch = kind(3, 2, SIZE, seed=[7, 8, 9])().detach()
    alone = kind(1, 2, SIZE, seed=[8])().detach()
    assert torch.equal(batch[1], alone[0])
    assert not torch.equal(batch[0], batch[1])


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("kind", [FourierParam, PixelParam])
def test_param_output_in_unit_interval_with_batch_channel_shape(kind, channels):
    param = kind(5, channels, 20, 22, seed=0)
    with torch.no_grad():
        for p in param.parameters():
            p.mul_(1e4)  # far outside any sensible range: the sigmoid must still bound it
    images = param()
    assert images.shape == (5, channels, 20, 22)
    assert images.min().item() >= 0.0 and images.max().item() <= 1.0
    assert len(list(param.parameters())) == 1


def test_channel_decorrelation_gives_images_the_data_sets_channel_correlation():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(200, 1, 8, 8))
    data = np.concatenate([base, 0.8 * base + 0.6 * rng.normal(size=base.shape)], axis=1)
    cov = channel_covariance(data)
    np.testing.assert_allclose(cov, np.cov(data.transpose(1, 0, 2, 3).reshape(2, -1)), rtol=1e-6)
    color_sqrt = decorrelation_matrix(cov)
    np.testing.assert_allclose(color_sqrt @ color_sqrt.T, cov, rtol=1e-4, atol=1e-6)
    pre = PixelParam(64, 2, 32, color_sqrt=color_sqrt, seed=1).pre_sigmoid().detach()
    flat = pre.transpose(0, 1).reshape(2, -1).numpy()
    data_corr = np.corrcoef(data.transpose(1, 0, 2, 3).reshape(2, -1))[0, 1]
    assert np.corrcoef(flat)[0, 1] == pytest.approx(data_corr, abs=0.03)


# --- transforms ---------------------------------------------------------------------------

def test_standard_transforms_keep_shape_and_are_seeded():
    images = torch.rand(6, 2, SIZE, SIZE)
    transform = compose(standard_transforms(SIZE))
    first = transform(images, torch.Generator().manual_seed(4))
    again = transform(images, torch.Generator().manual_seed(4))
    other = transform(images, torch.Generator().manual_seed(5))
    assert first.shape == images.shape
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("transform", [Jitter(3), RandomScale([0.9, 1.0, 1.1]),
                                       RandomRotate(range(-10, 11)),
                                       compose(standard_transforms(SIZE))],
                         ids=["jitter", "scale", "rotate", "standard"])
def test_transforms_differ_per_sample(transform):
    one = torch.rand(1, 2, SIZE, SIZE)
    out = transform(one.repeat(8, 1, 1, 1), torch.Generator().manual_seed(0))
    distinct = {tuple(out[i].flatten().numpy().round(5)) for i in range(8)}
    assert len(distinct) >= 3


def test_jitter_returns_shifted_crops_of_each_sample():
    images = torch.rand(4, 2, 10, 10)
    out = Jitter(3)(images, torch.Generator().manual_seed(0))
    assert out.shape == (4, 2, 7, 7)
    for i in range(4):
        crops = [images[i, :, y:y + 7, x:x + 7] for y in range(4) for x in range(4)]
        assert any(torch.equal(out[i], c) for c in crops)


def test_pad_crop_and_identity_warps_preserve_content():
    images = torch.rand(3, 2, 12, 12)
    padded = Pad(4, value=0.5)(images)
    assert padded.shape == (3, 2, 20, 20) and torch.all(padded[..., :4, :] == 0.5)
    assert torch.equal(CropOrPadTo(12)(padded), images)
    g = torch.Generator().manual_seed(0)
    torch.testing.assert_close(RandomScale([1.0])(images, g), images, atol=1e-5, rtol=0)
    torch.testing.assert_close(RandomRotate([0])(images, g), images, atol=1e-5, rtol=0)


def test_rotation_by_90_degrees_matches_rot90():
    images = torch.rand(2, 1, 9, 9)
    rotated = RandomRotate([90], fill=0.0)(images, torch.Generator().manual_seed(0))
    candidates = [torch.rot90(images, k, dims=(-2, -1)) for k in (1, 3)]
    assert min((rotated - c).abs().max().item() for c in candidates) < 1e-4


# --- objectives ---------------------------------------------------------------------------

def fake_activations(batch=3):
    torch.manual_seed(1)
    return {"conv2": torch.rand(batch, 5, 6, 7), "dense1": torch.rand(batch, 4)}


def test_objective_algebra_matches_separately_computed_values():
    acts = fake_activations()
    a, b = obj.channel("conv2", 1), obj.neuron("dense1", 2, batch=1)
    va, vb = a(acts), b(acts)
    torch.testing.assert_close((a + 2 * b)(acts), va + 2 * vb)
    torch.testing.assert_close((a - b)(acts), va - vb)
    torch.testing.assert_close((-a)(acts), -va)
    torch.testing.assert_close((a / 4 + b * 0.5)(acts), va / 4 + 0.5 * vb)
    torch.testing.assert_close(sum([a, b, a])(acts), 2 * va + vb)
    assert (a + 2 * b).layers == {"conv2", "dense1"}


def test_whole_batch_scalar_is_spread_over_items_preserving_the_sum():
    acts = fake_activations()
    per_item = obj.channel("conv2", 0)
    scalar = obj.Objective(lambda a: a["dense1"].sum(), ["dense1"])
    combined = (per_item + scalar)(acts)
    assert combined.shape == (3,)
    torch.testing.assert_close(combined.sum(), per_item(acts).sum() + scalar(acts))


def test_channel_objective_targets_one_batch_item():
    acts = fake_activations()
    value = obj.channel("conv2", 3, batch=1)(acts)
    assert value[0] == 0 and value[2] == 0
    torch.testing.assert_close(value[1], acts["conv2"][1, 3].mean())
    summed = obj.channel("conv2", 3, reduce="sum")(acts)
    torch.testing.assert_close(summed, acts["conv2"][:, 3].sum(dim=(1, 2)))


def test_channels_batched_equals_sum_of_single_item_channel_objectives():
    acts = fake_activations(batch=4)
    channels = [4, 0, 0, 2]
    explicit = sum(obj.channel("conv2", c, batch=i) for i, c in enumerate(channels))
    torch.testing.assert_close(obj.channels_batched("conv2", channels)(acts), explicit(acts))
    dense_explicit = sum(obj.channel("dense1", c, batch=i) for i, c in enumerate([3, 1, 0, 2]))
    torch.testing.assert_close(obj.channels_batched("dense1", [3, 1, 0, 2])(acts), dense_explicit(acts))


def test_objectives_work_on_dense_layers():
    acts = fake_activations()
    dense = acts["dense1"]
    torch.testing.assert_close(obj.channel("dense1", 2)(acts), dense[:, 2])
    torch.testing.assert_close(obj.neuron("dense1", 1)(acts), dense[:, 1])
    weights = torch.tensor([1.0, -2.0, 0.5, 0.0])
    torch.testing.assert_close(obj.direction("dense1", weights)(acts), dense @ weights)
    with pytest.raises(ValueError):
        obj.neuron("dense1", 1, x=0)(acts)


def test_neuron_defaults_to_centre_position():
    acts = fake_activations()
    torch.testing.assert_close(obj.neuron("conv2", 2)(acts), acts["conv2"][:, 2, 3, 3])
    torch.testing.assert_close(obj.neuron("conv2", 2, x=1, y=4)(acts), acts["conv2"][:, 2, 4, 1])


def test_direction_dot_and_cosine_variants():
    acts = fake_activations()
    weights = torch.tensor([0.0, 1.0, 0.0, 2.0, 0.0])
    conv = acts["conv2"]
    dot = (conv[:, 1] + 2 * conv[:, 3]).mean(dim=(1, 2))
    torch.testing.assert_close(obj.direction("conv2", weights)(acts), dot)
    cosine = obj.direction("conv2", weights, cosine=True, cosine_power=2.0)(acts)
    assert torch.all(cosine < dot)  # activations are not parallel to the direction
    aligned = {"conv2": weights.view(1, 5, 1, 1).expand(3, 5, 6, 7) * 3.0}
    torch.testing.assert_close(obj.direction("conv2", weights, cosine=True)(aligned),
                               obj.direction("conv2", weights)(aligned))


def test_diversity_prefers_different_items():
    same = {"conv2": torch.rand(1, 5, 6, 7).repeat(3, 1, 1, 1)}
    torch.manual_seed(2)
    different = {"conv2": torch.rand(3, 5, 6, 7) ** 6}
    diversity = obj.diversity("conv2")
    assert diversity(same).sum() < diversity(different).sum()
    torch.testing.assert_close(diversity(same).sum(), torch.tensor(-2.0))  # B-1 cos of 1


# --- render -------------------------------------------------------------------------------

def test_channel_gradient_steps_raise_that_channels_activation(small_model):
    param = FourierParam(1, 2, SIZE, seed=0)
    before = activations(small_model, "conv2", param().detach())[0, 5].mean().item()
    result = render(small_model, obj.channel("conv2", 5), param, standard_transforms(SIZE),
                    steps=15, progress=False)
    after = activations(small_model, "conv2", result.images)[0, 5].mean().item()
    assert after > before * 1.2
    assert result.final_objective[0] == pytest.approx(after, rel=1e-4)
    assert result.images.dtype == np.float32 and result.images.shape == (1, 2, SIZE, SIZE)


def test_batched_render_gives_each_item_its_own_channel(small_model):
    channels = list(range(8))
    param = FourierParam(8, 2, SIZE, seed=1)
    result = render(small_model, obj.channels_batched("conv2", channels), param,
                    standard_transforms(SIZE), steps=40, progress=False)
    means = activations(small_model, "conv2", result.images).mean(dim=(2, 3)).numpy()  # item x channel
    own = np.diag(means)
    others = (means.sum(axis=0) - own) / (len(channels) - 1)
    assert np.mean(own - others) > 0
    assert np.mean(own > others) >= 0.75


def test_render_records_history_snapshots_and_restores_model(small_model):
    small_model.train()
    param = FourierParam(2, 2, SIZE, seed=0)
    initial = param().detach().numpy()
    result = render(small_model, obj.channel("dense1", 0), param, standard_transforms(SIZE),
                    steps=6, snapshots=(0, 3, 6), progress=False)
    assert sorted(result.snapshots) == [0, 3, 6]
    np.testing.assert_array_equal(result.snapshots[0], initial)
    np.testing.assert_array_equal(result.snapshots[6], result.images)
    assert result.history.shape == (6,) and result.item_history.shape == (6, 2)
    assert small_model.training
    assert all(p.requires_grad for p in small_model.parameters())
    assert all(not m._forward_hooks for m in small_model.modules())


def test_render_is_reproducible_for_a_seed(small_model):
    def run(seed):
        return render(small_model, obj.channel("conv1", 2), FourierParam(1, 2, SIZE, seed=0),
                      standard_transforms(SIZE), steps=5, seed=seed, progress=False).images

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_truncated_forward_skips_later_layers_and_gives_the_same_objective(small_model):
    calls = []
    handle = small_model.layer("dense1").register_forward_hook(lambda *a: calls.append(1))
    try:
        kwargs = dict(steps=4, progress=False, seed=0)
        full = render(small_model, obj.channel("conv1", 1), FourierParam(2, 2, SIZE, seed=0),
                      standard_transforms(SIZE), truncate=False, **kwargs)
        n_full = len(calls)
        cut = render(small_model, obj.channel("conv1", 1), FourierParam(2, 2, SIZE, seed=0),
                     standard_transforms(SIZE), truncate=True, **kwargs)
    finally:
        handle.remove()
    assert n_full >= 4 and len(calls) == n_full  # the truncated run never reached dense1
    np.testing.assert_allclose(cut.history, full.history, rtol=1e-5)
    np.testing.assert_allclose(cut.images, full.images, atol=1e-6)


def test_redirected_relu_passes_upward_gradient_only_for_fully_blocked_items():
    x = torch.tensor([[-1.0, -2.0], [-1.0, 3.0]], requires_grad=True)
    out = _RedirectedReLU.apply(x)
    torch.testing.assert_close(out, torch.relu(x))
    out.backward(torch.tensor([[-1.0, 1.0], [-1.0, -1.0]]))
    # item 0 is fully blocked: pass the gradient that raises the input, drop the one lowering it
    # item 1 has a live unit: the ordinary ReLU gradient
    torch.testing.assert_close(x.grad, torch.tensor([[-1.0, 0.0], [0.0, -1.0]]))


def test_redirected_relu_wakes_a_channel_silent_on_the_initial_image(small_model):
    conv = small_model.layer("conv2")[0]
    param = FourierParam(1, 2, SIZE, seed=0)
    with torch.no_grad(), frozen_eval(small_model):
        pre = conv(small_model.features[:3](param()))
        conv.bias[2] -= pre[0, 2].max() + 0.02  # channel 2 just below zero everywhere
    assert activations(small_model, "conv2", param().detach())[0, 2].max() == 0

    def drawn(redirect_steps):
        return render(small_model, obj.channel("conv2", 2), FourierParam(1, 2, SIZE, seed=0),
                      standard_transforms(SIZE), steps=30, progress=False,
                      redirect_relu_steps=redirect_steps).final_objective[0]

    assert drawn(0) == 0
    assert drawn(16) > 0


def test_plateau_rule_stops_on_flat_history_not_on_rising_history():
    rule = PlateauStop(window=10, rel_tol=0.01, min_steps=20)
    rising = np.linspace(1, 3, 40)[:, None]
    flat = np.concatenate([np.linspace(1, 3, 20), np.full(20, 3.0)])[:, None]
    assert not rule(rising)
    assert rule(flat)
    assert not rule(flat[:15])  # before min_steps
    two_items = np.concatenate([flat, rising], axis=1)
    assert not rule(two_items)  # every item must have converged


def test_plateau_stopping_stops_early_and_reaches_the_objective(small_model):
    objective = obj.channels_batched("conv2", [0, 3, 6])
    kwargs = dict(steps=300, progress=False, seed=0)
    full = render(small_model, objective, FourierParam(3, 2, SIZE, seed=2),
                  standard_transforms(SIZE), **kwargs)
    early = render(small_model, objective, FourierParam(3, 2, SIZE, seed=2),
                   standard_transforms(SIZE), stop_plateau=PlateauStop(window=20, rel_tol=0.02),
                   **kwargs)
    assert early.stopped_early and early.steps_run < full.steps_run
    assert early.final_objective.sum() >= 0.95 * full.final_objective.sum()


# --- activation filtering -----------------------------------------------------------------

def test_filtering_by_all_ones_map_leaves_image_unchanged():
    images = np.random.default_rng(0).uniform(size=(3, 2, 10, 10)).astype(np.float32)
    np.testing.assert_array_equal(filter_by_maps(images, np.ones((3, 10, 10))), images)
    constant = normalise_maps(upscale_lanczos(np.full((3, 4, 4), 2.5), 10, 10))
    np.testing.assert_array_equal(filter_by_maps(images, constant), images)


def test_lanczos_upscaling_and_normalisation():
    maps = np.zeros((2, 4, 4), dtype=np.float32)
    maps[0, 1, 1] = 1.0
    maps[1, 2:, 2:] = 3.0
    up = upscale_lanczos(maps, 12, 12)
    assert up.shape == (2, 12, 12)
    assert np.unravel_index(up[0].argmax(), (12, 12)) in {(3, 3), (3, 4), (4, 3), (4, 4)}
    norm = normalise_maps(up)
    assert norm.min() == 0.0 and norm.max() == 1.0
    assert pearson_rows(up.reshape(2, -1), up.reshape(2, -1)) == pytest.approx(1.0)


def test_activation_filter_shapes_ranges_and_feedback(small_model):
    images = np.random.default_rng(0).uniform(size=(3, 2, SIZE, SIZE)).astype(np.float32)
    channels = [0, 5, 7]
    filtered, feedback = activation_filter(small_model, "conv2", channels, images)
    assert filtered.shape == images.shape and filtered.dtype == np.float32
    assert filtered.min() >= 0.0 and filtered.max() <= 1.0
    assert np.all(filtered <= images + 1e-6)  # filtering only dims
    assert feedback.shape == (3,) and np.all(np.abs(feedback) <= 1.0)
    assert not np.array_equal(filtered, images)
    maps = channel_maps(small_model, "conv2", channels, images)
    assert maps.shape == (3, 12, 12)


def test_activation_filter_rejects_dense_layers(small_model):
    images = np.random.default_rng(0).uniform(size=(2, 2, SIZE, SIZE)).astype(np.float32)
    with pytest.raises(ValueError):
        activation_filter(small_model, "dense1", [0, 1], images)


@pytest.mark.parametrize("native", [True, False])
def test_featvis_bf16_setting_follows_the_hardware_only_when_auto(monkeypatch, native):
    from cellscape.featvis.tasks import use_bf16
    from cellscape.model import precision
    monkeypatch.setattr(precision, "native_bfloat16", lambda device: native)
    assert use_bf16("auto", "cpu") is native
    assert use_bf16(True, "cpu") is True and use_bf16(False, "cpu") is False
