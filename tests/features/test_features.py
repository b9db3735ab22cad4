"""Cell features against hand-drawn shapes whose answers are known, and against the simulator's
ground truth."""
import numpy as np
import pytest

from cellscape.data.channels import resolve_channels
from cellscape.data.preprocess import clean_channels, normalise_per_image
from cellscape.data.simulate import simulate_event
from cellscape.features import feature_columns, measure_cell, measure_image_set, truth_agreement, truth_table
from cellscape.features.nucleus import count_lobes
from cellscape.features.texture import high_frequency_share

TWO = [{"name": "cytoplasm", "kind": "fluorescence"}, {"name": "nucleus", "kind": "fluorescence"}]
SIZE = 78


def disc(radius, centre=(39.0, 39.0), size=SIZE):
    yy, xx = np.mgrid[0:size, 0:size]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def cell_image(cell, nucleus, cyto_value=0.5, nuc_value=1.0):
    """Two channels: cytoplasm stain over the whole cell, nucleus stain over the nucleus."""
    return np.stack([cell * cyto_value, nucleus * nuc_value]).astype(np.float32)


def test_a_disc_has_its_pixel_count_a_perimeter_near_2_pi_r_and_circularity_near_1():
    radius = 15
    cell = disc(radius)
    values = measure_cell(cell_image(cell, disc(5)), TWO)
    # pixel count: independent formula, the lattice points of the disc counted row by row
    rows = np.arange(-radius, radius + 1)
    lattice = int(sum(2 * np.floor(np.sqrt(radius ** 2 - y ** 2)) + 1 for y in rows))
    assert values["cell_area"] == lattice
    # a digital outline is a staircase: allow 3% against the continuous circle
    assert values["cell_perimeter"] == pytest.approx(2 * np.pi * radius, rel=0.03)
    assert values["cell_circularity"] == pytest.approx(1.0, abs=0.05)
    assert values["cell_aspect_ratio"] == pytest.approx(1.0, abs=0.02)
    assert values["cell_solidity"] == pytest.approx(1.0, abs=0.01)


def test_a_rectangle_has_its_area_perimeter_and_moment_aspect_ratio():
    cell = np.zeros((SIZE, SIZE), bool)
    cell[20:30, 10:40] = True  # 10 x 30 px
    values = measure_cell(cell_image(cell, np.zeros_like(cell)), TWO)
    assert values["cell_area"] == 300
    # the outline lies between the polygon through the edge pixels' centres (2 (9 + 29)) and the
    # pixels' outer edges (2 (10 + 30)); the estimate may fall 3% short of the inner one
    assert 0.97 * 2 * (9 + 29) <= values["cell_perimeter"] <= 2 * (10 + 30)
    # the variance of n consecutive integers is (n^2 - 1) / 12
    assert values["cell_aspect_ratio"] == pytest.approx(np.sqrt((30 ** 2 - 1) / (10 ** 2 - 1)), rel=1e-9)
    assert values["cell_solidity"] == pytest.approx(1.0)
    assert values["cell_circularity"] < 0.75  # 4 pi 300 / 80^2 = 0.59


def test_a_c_shape_has_low_solidity():
    cell = disc(20) & ~disc(12, centre=(39, 50))
    values = measure_cell(cell_image(cell, np.zeros_like(cell)), TWO)
    assert values["cell_solidity"] < 0.85


def three_lobed_nucleus():
    centres = [(30, 30), (30, 48), (46, 39)]
    nucleus = np.zeros((SIZE, SIZE), bool)
    for c in centres:
        nucleus |= disc(5.5, c)
    for (y0, x0), (y1, x1) in zip(centres[:-1], centres[1:]):  # 1-px chromatin strands joining them
        for t in np.linspace(0, 1, 60):
            nucleus[int(round(y0 + t * (y1 - y0))), int(round(x0 + t * (x1 - x0)))] = True
    return nucleus


def test_a_drawn_three_lobed_nucleus_has_three_lobes_and_a_round_or_kidney_one_one():
    assert count_lobes(three_lobed_nucleus()) == 3
    assert count_lobes(disc(8)) == 1
    kidney = disc(9) & ~disc(6, centre=(39, 50))
    assert count_lobes(kidney) == 1
    assert count_lobes(disc(5, (20, 20)) | disc(5, (50, 50))) == 2
    assert count_lobes(np.zeros((SIZE, SIZE), bool)) == 0
    values = measure_cell(cell_image(disc(25), three_lobed_nucleus()), TWO)
    assert values["nucleus_lobes"] == 3


def test_nucleus_ratio_and_intensities_are_sums_over_the_masks():
    cell, nucleus = disc(16), disc(6, centre=(35, 37))
    ramp = np.linspace(0.1, 1.0, SIZE)[None, :] * np.ones((SIZE, 1))
    image = np.stack([cell * ramp, nucleus * 0.8]).astype(np.float64)
    values = measure_cell(image, TWO)
    assert values["nucleus_area"] == nucleus.sum()
    assert values["nucleus_to_cell_ratio"] == pytest.approx(nucleus.sum() / cell.sum())
    assert values["cytoplasm_integrated_intensity"] == pytest.approx((ramp * cell).sum())
    assert values["cytoplasm_mean_intensity"] == pytest.approx((ramp * cell).sum() / cell.sum())
    assert values["cytoplasm_max_intensity"] == pytest.approx(ramp[cell].max())
    assert values["nucleus_integrated_intensity"] == pytest.approx(0.8 * nucleus.sum())
    assert values["nucleus_max_intensity"] == pytest.approx(0.8)


def test_glcm_contrast_of_a_flat_and_a_checkerboard_channel():
    cell = np.zeros((SIZE, SIZE), bool)
    n = 20
    cell[10:10 + n, 10:10 + n] = True
    flat = measure_cell(cell_image(cell, np.zeros_like(cell), cyto_value=0.7), TWO)
    assert flat["cytoplasm_glcm_contrast"] == 0 and flat["cytoplasm_glcm_entropy"] == 0
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    board = np.where((yy + xx) % 2 == 0, 1.0, 0.5) * cell
    values = measure_cell(np.stack([board, np.zeros_like(board)]), TWO)
    # 16 levels over [0, 1]: 1.0 -> level 16, 0.5 -> level 9. Horizontal and vertical neighbours
    # differ by 7 (n (n - 1) pairs each), diagonal ones are equal ((n - 1)^2 pairs each)
    pairs_hv, pairs_diagonal = 2 * n * (n - 1), 2 * (n - 1) ** 2
    assert values["cytoplasm_glcm_contrast"] == pytest.approx(49 * pairs_hv / (pairs_hv + pairs_diagonal))
    share = pairs_hv / (pairs_hv + pairs_diagonal)  # each unequal pair is (9,16) or (16,9), half each
    p = np.array([share / 2, share / 2, (1 - share) / 2, (1 - share) / 2])
    assert values["cytoplasm_glcm_entropy"] == pytest.approx(-(p * np.log2(p)).sum())


def test_granularity_is_high_for_speckle_low_for_a_smooth_dome_and_free_of_brightness():
    cell = disc(15)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    dome = np.sqrt(np.clip(1 - ((yy - 39) ** 2 + (xx - 39) ** 2) / 15 ** 2, 0, 1)) * cell
    speckle = np.random.default_rng(0).random((SIZE, SIZE)) * cell
    assert high_frequency_share(dome, cell) < 0.02
    assert high_frequency_share(speckle, cell) > 10 * high_frequency_share(dome, cell)
    assert high_frequency_share(3 * speckle, cell) == pytest.approx(high_frequency_share(speckle, cell))
    four = [{"name": "brightfield", "kind": "brightfield"}, *TWO, {"name": "darkfield", "kind": "darkfield"}]
    names = [c.name for c in feature_columns(four)]
    assert "darkfield_granularity" in names and "nucleus_granularity" not in names
    assert "darkfield_area" not in names and "brightfield_area" in names  # darkfield does not outline


def test_a_channel_named_cell_is_an_error_naming_it():
    with pytest.raises(ValueError, match="cell"):
        feature_columns([{"name": "cell", "kind": "fluorescence"}])


def test_the_streamed_table_follows_the_rows_in_any_order_and_any_chunk():
    images = np.stack([cell_image(disc(r), disc(r / 3)) for r in (8, 12, 16, 20, 10)])
    rows = np.array([3, 0, 4, 1])
    table = measure_image_set(images, rows, TWO, chunk=3, progress=False)
    alone = [measure_cell(images[r], TWO)["cell_area"] for r in rows]
    assert table["cell_area"].tolist() == alone
    assert list(table.columns) == [c.name for c in feature_columns(TWO)]


def test_measured_features_follow_the_simulators_truth():
    channels = resolve_channels({"channels": [{"name": "brightfield", "file": "Ch1", "kind": "brightfield"},
                                              {"name": "cytoplasm", "file": "Ch2"}, {"name": "nucleus", "file": "Ch4"},
                                              {"name": "darkfield", "file": "Ch6", "kind": "darkfield"}]})
    rng, extra = np.random.default_rng(5), np.random.default_rng(6)
    images, truth = [], []
    for k in range(48):
        raw, properties = simulate_event(rng, ("lymphocyte", "neutrophil")[k % 2], None, "cell",
                                         ("Ch1", "Ch2", "Ch4", "Ch6"), extra)
        images.append(normalise_per_image(clean_channels(raw.astype(np.float32), channels)))
        truth.append(properties)
    import pandas as pd
    table = measure_image_set(np.stack(images), np.arange(len(images)), channels, progress=False)
    table = pd.concat([table, truth_table(pd.DataFrame(truth))], axis=1)
    r = {row["truth"]: row["pearson_r"] for row in truth_agreement(table)}
    assert r["truth_cell_area"] > 0.9
    assert r["truth_nucleus_area"] > 0.9
    assert r["truth_nucleus_to_cell_ratio"] > 0.8
    assert r["truth_nucleus_lobes"] > 0.6
    assert r["truth_granularity"] > 0.5
