"""Preprocessing of one event: size, background, the 20% rule, quality checks, normalisation, split."""
import numpy as np
import pytest
from scipy import ndimage

from cellscape.data.preprocess import (QC_CHECKS, fit_to_size, keep_central_object, normalise_per_image,
                                  process_event, quality_checks, subtract_background,
                                  threshold_channels)
from cellscape.data.simulate import simulate_event
from cellscape.data.split import stratified_split

SIZE = 78
SATURATION = 65535.0


def disc(centre, radius, size=SIZE, axes=(1.0, 1.0)):
    """Soft-edged (blurred) disc or ellipse mask; ``axes`` stretch it along (y, x)."""
    yy, xx = np.mgrid[:size, :size].astype(float)
    r = np.hypot((yy - centre[0]) / axes[0], (xx - centre[1]) / axes[1])
    return ndimage.gaussian_filter((r <= radius).astype(float), 1.0)


def model_event(cells=(((39, 39), 13),), axes=(1.0, 1.0), nucleus=True, gain=1.0, seed=0):
    """A raw event (2, SIZE, SIZE): cells given as (centre, radius) on a noisy camera background.

    Cytoplasm marker over the whole cell, nucleus marker over a central disc of 0.6 radius.
    """
    rng = np.random.default_rng(seed)
    cyto = sum(disc(c, r, axes=axes) for c, r in cells) * 2000 * gain
    nuc = sum(disc(c, 0.6 * r, axes=axes) for c, r in cells) * 4000 * gain if nucleus else 0 * cyto
    raw = np.stack([cyto + 0.1 * nuc, nuc]) + 100 + rng.normal(0, 5, (2, SIZE, SIZE))
    return np.clip(raw, 0, SATURATION).astype(np.float32)


def run_checks(raw, qc, data_cfg):
    return process_event(raw, SATURATION, data_cfg, qc, SIZE)[1]


# ------------------------------------------------------------------ the 20% rule

def test_threshold_removes_pixels_below_20_percent():
    """Each channel against its own maximum: a dim channel is not cut by the bright one's scale."""
    image = np.zeros((2, 4, 5), np.float32)
    image[0, 0] = [100, 20.5, 19.5, 5, 0]       # bright channel, max 100 -> cut below 20
    image[1, 0] = [10, 2.05, 1.95, 0.5, 0]      # dim channel, max 10 -> cut below 2
    filtered = threshold_channels(image, 0.2)
    np.testing.assert_array_equal(filtered[0, 0], np.float32([100, 20.5, 0, 0, 0]))
    np.testing.assert_array_equal(filtered[1, 0], np.float32([10, 2.05, 0, 0, 0]))
    assert filtered.dtype == np.float32
    # the fraction is a parameter, not a constant
    np.testing.assert_array_equal(threshold_channels(image, 0.5)[0, 0], [100, 0, 0, 0, 0])


def test_background_is_subtracted_before_the_20_percent_rule(default_config):
    """A camera offset above 20% of the peak must not survive as 'cell' (paper: background = 0)."""
    raw = model_event(gain=1.0)
    raw += 3000  # offset larger than 20% of (offset + signal)
    filtered, _ = process_event(raw, SATURATION, default_config["data"], default_config["qc"], SIZE)
    cell = disc((39, 39), 13) > 0.5
    far = disc((39, 39), 22) < 0.01
    assert np.all(filtered[:, far] == 0)
    assert np.all(filtered[0, cell] > 0)


def test_subtract_background_removes_each_channels_border_level():
    raw = model_event()
    raw[1] += 700
    clean = subtract_background(raw)
    for k in range(2):
        assert np.median(clean[k, :5]) < 5 and clean[k].min() >= 0  # within the noise (sd 5)
    np.testing.assert_allclose(clean[1, 39, 39], raw[1, 39, 39] - 800, atol=30)


# ------------------------------------------------------------------ any size to image_size

@pytest.mark.parametrize("shape", [(78, 78), (100, 120), (50, 64), (60, 101), (33, 33)])
@pytest.mark.parametrize("mode", ["pad_crop", "resize"])
def test_any_image_size_is_brought_to_image_size(shape, mode):
    image = np.random.default_rng(0).random((2, *shape)).astype(np.float32)
    out = fit_to_size(image, SIZE, mode)
    assert out.shape == (2, SIZE, SIZE) and out.dtype == np.float32


def test_pad_crop_keeps_pixel_scale_and_centre():
    big = np.zeros((2, 120, 100), np.float32)
    big[:, 60, 50] = 1.0                               # the centre pixel
    big[:, 0, 0] = 5.0                                 # a corner that must be cropped away
    out = fit_to_size(big, SIZE, "pad_crop")
    assert out[0, 39, 39] == 1.0 and out.sum() == 2.0  # one pixel per channel, unscaled

    small = np.full((2, 40, 50), 7.0, np.float32)      # border median 7
    small[:, 20, 25] = 100.0
    out = fit_to_size(small, SIZE, "pad_crop")
    assert out[0, 39, 39] == 100.0
    assert np.all(out[:, :5] == 7.0) and np.all(out[:, :, -5:] == 7.0)  # padded with the border level


def test_resize_scales_a_smear_photo_keeping_the_cell_centred_and_round():
    """360x363 (PBC) -> 78: the cell keeps its place and its share of the frame."""
    h, w = 360, 363
    yy, xx = np.mgrid[:h, :w]
    cell = (np.hypot(yy - h / 2, xx - w / 2) < 90).astype(np.float32)
    out = fit_to_size(np.stack([cell, cell]), SIZE, "resize")[0]
    com = ndimage.center_of_mass(out > 0.5)
    assert np.allclose(com, (SIZE - 1) / 2, atol=1.0)
    share_in, share_out = cell.sum() / (363 * 363), (out > 0.5).sum() / SIZE**2
    assert share_out == pytest.approx(share_in, rel=0.05)


# ------------------------------------------------------------------ quality checks

CRAFTED_BAD = {  # check -> (event that must fail it, config change that disables it)
    "qc_one_object": (lambda: model_event(cells=(((39, 18), 9), ((39, 60), 9))), {"one_object": False}),
    "qc_area": (lambda: model_event(cells=(((39, 39), 6),)), {"area": False}),
    "qc_compact": (lambda: model_event(cells=(((39, 39), 11),), axes=(1.0, 2.0)), {"compact": False}),
    "qc_not_touching_border": (lambda: model_event(cells=(((39, 6), 13),)), {"not_touching_border": False}),
    "qc_signal_both": (lambda: model_event(nucleus=False), {"signal_both": False}),
    "qc_not_saturated": (lambda: model_event(gain=60.0), {"not_saturated": False}),
}


def test_good_model_cell_passes_every_check(default_config):
    checks = run_checks(model_event(), default_config["qc"], default_config["data"])
    assert set(checks) == set(QC_CHECKS)
    assert all(checks.values()), checks


def test_simulated_good_cells_pass_every_check(default_config):
    rng = np.random.default_rng(3)
    for cls in ("lymphocyte", "neutrophil") * 5:
        raw = simulate_event(rng, cls)[0].astype(np.float32)
        checks = run_checks(raw, default_config["qc"], default_config["data"])
        assert all(checks.values()), (cls, checks)


@pytest.mark.parametrize("check", sorted(CRAFTED_BAD))
def test_crafted_bad_event_fails_its_check_and_passes_when_disabled(default_config, check):
    make, disable = CRAFTED_BAD[check]
    qc, data = default_config["qc"], default_config["data"]
    assert run_checks(make(), qc, data)[check] is False
    assert run_checks(make(), {**qc, **disable}, data)[check] is True


def test_area_check_rejects_too_large_cells(default_config):
    qc, data = default_config["qc"], default_config["data"]
    huge = model_event(cells=(((39, 39), 26),))
    assert run_checks(huge, qc, data)["qc_area"] is False
    assert run_checks(huge, {**qc, "max_area": 4000}, data)["qc_area"] is True


def test_empty_frame_fails_object_and_signal_checks(default_config):
    empty = np.random.default_rng(0).normal(100, 5, (2, SIZE, SIZE)).astype(np.float32)
    checks = run_checks(empty, default_config["qc"], default_config["data"])
    assert not checks["qc_signal_both"] and not checks["qc_one_object"]


def test_saturation_is_not_judged_without_a_detector_limit(default_config):
    """RGB photos and float stacks have no saturation level: the check cannot fail them."""
    qc = default_config["qc"]
    sized = model_event(gain=60.0)
    filtered = threshold_channels(subtract_background(sized), 0.2)
    assert quality_checks(sized, filtered, SATURATION, qc, default_config["data"]["channels"])["qc_not_saturated"] is False
    assert quality_checks(sized, filtered, np.inf, qc, default_config["data"]["channels"])["qc_not_saturated"] is True


def test_every_check_disabled_passes_even_an_empty_frame(default_config):
    qc = {**default_config["qc"], "one_object": False, "area": False, "compact": False,
          "not_touching_border": False, "signal_both": False, "not_saturated": False}
    empty = np.zeros((2, SIZE, SIZE), np.float32)
    assert all(quality_checks(empty, empty, SATURATION, qc, default_config["data"]["channels"]).values())


def test_keep_central_object_drops_neighbouring_cells():
    """Smears: red cells around the white cell must not count as a second object."""
    raw = model_event(cells=(((39, 39), 12), ((39, 8), 6), ((70, 70), 5)))
    raw[1] = model_event(cells=(((39, 39), 12),))[1]          # only the central cell has a nucleus
    filtered = threshold_channels(subtract_background(raw), 0.2)
    central = keep_central_object(filtered, 8)
    assert central[:, 35:44, 35:44].min() > 0                 # the central cell is untouched
    assert central[:, :, :18].max() == 0 and central[:, 62:, 62:].max() == 0


def test_normalise_per_image_brings_each_channel_to_unit_maximum():
    image = model_event()
    normalised = normalise_per_image(image)
    np.testing.assert_allclose(normalised.reshape(2, -1).max(axis=1), 1.0)
    np.testing.assert_allclose(normalised[0] * image[0].max(), image[0], rtol=1e-6)
    assert not np.isnan(normalise_per_image(np.zeros((2, 4, 4), np.float32))).any()


# ------------------------------------------------------------------ stratified split

SPLIT = {"train": 0.6, "val": 0.2, "test": 0.2}


def test_stratified_split_keeps_proportions_within_each_class():
    labels = np.repeat([0, 1, 2], [500, 130, 41])
    split = stratified_split(labels, SPLIT, seed=0)
    for lab, n in zip((0, 1, 2), (500, 130, 41)):
        for name, share in SPLIT.items():
            assert abs((split[labels == lab] == name).sum() - share * n) <= 1


def test_stratified_split_is_deterministic_for_a_seed():
    labels = np.repeat([0, 1], [200, 100])
    first, again = stratified_split(labels, SPLIT, 7), stratified_split(labels, SPLIT, 7)
    np.testing.assert_array_equal(first, again)
    assert (stratified_split(labels, SPLIT, 8) != first).any()


def test_stratified_split_normalises_fractions():
    labels = np.zeros(100, int)
    split = stratified_split(labels, {"train": 3, "val": 1, "test": 1}, 0)
    assert [(split == n).sum() for n in ("train", "val", "test")] == [60, 20, 20]
