"""The synthetic cytometer: reproducible chunks, plausible classes, catchable bad events."""
import csv
from pathlib import Path

import numpy as np
import pytest
import tifffile
from scipy import ndimage


from cellscape.data import simulate  # noqa: E402
from cellscape.data.simulate import (BAD_EVENT_TYPES, CSV_COLUMNS, DEFAULTS, apply_optics,  # noqa: E402
                                draw_event_plan, resolve_params, simulate_chunk,
                                simulate_event)
from cellscape.data.simulate_cells import CellGeometry, Lobe, render_cell  # noqa: E402

DOCUMENTED_COLUMNS = ("event_id", "class", "event_type", "cell_diameter_px",
                      "nucleus_area_ratio", "lobes", "brightness_cyto", "brightness_nuc",
                      "offset_x", "offset_y", "rotation_deg", "cell_area_px", "nucleus_area_px", "granularity")


def read_rows(chunk_dir):
    with open(Path(chunk_dir) / "properties.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_event(chunk_dir, row):
    folder = Path(chunk_dir) / row["class"]
    return np.stack([tifffile.imread(folder / f"{row['event_id']}_{ch}.ome.tif")
                     for ch in ("Ch2", "Ch4")])


@pytest.fixture(scope="module")
def good_cells():
    """Good cells of both classes, simulated without writing."""
    params = resolve_params()
    rng = np.random.default_rng(11)
    return {cls: [simulate_event(rng, cls, params)[1] for _ in range(150)]
            for cls in ("lymphocyte", "neutrophil")}


def test_same_seed_and_chunk_write_identical_files(tmp_path):
    simulate_chunk(tmp_path / "a" / "0", 0, 12, seed=5, progress=False)
    simulate_chunk(tmp_path / "b" / "0", 0, 12, seed=5, progress=False)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_different_chunks_differ(tmp_path):
    zero = simulate_chunk(tmp_path / "0", 0, 6, seed=5, progress=False)
    one = simulate_chunk(tmp_path / "1", 1, 6, seed=5, progress=False)
    assert [r["event_id"] for r in one] == [1_000_000 + i for i in range(6)]
    images_zero = [read_event(tmp_path / "0", r) for r in read_rows(tmp_path / "0")]
    images_one = [read_event(tmp_path / "1", r) for r in read_rows(tmp_path / "1")]
    assert not any(np.array_equal(a, b) for a, b in zip(images_zero, images_one))
    assert [r["cell_diameter_px"] for r in zero] != [r["cell_diameter_px"] for r in one]


def test_chunk_writes_documented_layout_as_uint16(tmp_path):
    params = {"frame_size": 64, "bad_event_fraction": 0.3}
    simulate_chunk(tmp_path / "3", 3, 10, seed=1, params=params, progress=False)
    rows = read_rows(tmp_path / "3")
    assert len(rows) == 10
    assert set(DOCUMENTED_COLUMNS) <= set(rows[0]) and tuple(rows[0]) == CSV_COLUMNS
    assert [int(r["event_id"]) for r in rows] == [3_000_000 + i for i in range(10)]
    for row in rows:
        assert row["event_type"] in ("cell",) + BAD_EVENT_TYPES
        for channel in ("Ch2", "Ch4"):
            plane = tifffile.imread(tmp_path / "3" / row["class"] / f"{row['event_id']}_{channel}.ome.tif")
            assert plane.dtype == np.uint16 and plane.shape == (64, 64)
    n_tiffs = len(list((tmp_path / "3").rglob("*.ome.tif")))
    assert n_tiffs == 2 * len(rows)


def test_neutrophils_have_more_lobes_and_larger_diameter(good_cells):
    def mean(cls, key):
        return np.mean([p[key] for p in good_cells[cls]])
    assert mean("neutrophil", "lobes") > mean("lymphocyte", "lobes") + 1.5
    assert mean("neutrophil", "cell_diameter_px") > mean("lymphocyte", "cell_diameter_px") + 4
    assert 2 <= np.median([p["lobes"] for p in good_cells["neutrophil"]]) <= 4


def test_measured_nucleus_ratio_larger_for_lymphocytes(good_cells):
    lymph = [p["nucleus_area_ratio"] for p in good_cells["lymphocyte"]]
    neutro = [p["nucleus_area_ratio"] for p in good_cells["neutrophil"]]
    assert np.mean(lymph) > np.mean(neutro) + 0.1
    assert all(0 < r < 1 for r in lymph + neutro)


def test_classes_overlap_but_mostly_separate(good_cells):
    """A few cells must look like the other class (the CNN should not reach 100 %)."""
    lymph_lobed = np.mean([p["lobes"] >= 2 for p in good_cells["lymphocyte"]])
    neutro_big = np.mean([p["lobes"] >= 2 for p in good_cells["neutrophil"]])
    assert 0 < lymph_lobed < 0.15 and neutro_big > 0.85
    lymph_d = [p["cell_diameter_px"] for p in good_cells["lymphocyte"]]
    neutro_d = [p["cell_diameter_px"] for p in good_cells["neutrophil"]]
    assert max(lymph_d) > min(neutro_d)


def test_render_cell_ratio_is_measured_on_masks():
    geometry = CellGeometry(offset_x=2.0, offset_y=-3.0, rotation_deg=30.0, diameter_px=30.0,
                            lobes=(Lobe(0.0, 0.0, 9.0, 7.0, 0.5),))
    rendering = render_cell(geometry, 78)
    assert abs(rendering.cell_mask.sum() - np.pi * 15 ** 2) < 0.03 * np.pi * 15 ** 2
    assert abs(rendering.nucleus_mask.sum() - np.pi * 9 * 7) < 0.05 * np.pi * 9 * 7
    assert not (rendering.nucleus_mask & ~rendering.cell_mask).any()
    assert rendering.nucleus_area_ratio == pytest.approx(
        rendering.nucleus_mask.sum() / rendering.cell_mask.sum())
    cy, cx = ndimage.center_of_mass(rendering.cell_mask)
    assert (cx - 38.5, cy - 38.5) == pytest.approx((2.0, -3.0), abs=0.2)


def test_nucleus_is_clipped_to_the_cell():
    geometry = CellGeometry(offset_x=0.0, offset_y=0.0, rotation_deg=0.0, diameter_px=20.0,
                            lobes=(Lobe(8.0, 0.0, 6.0, 6.0, 0.0),))
    rendering = render_cell(geometry, 40)
    assert not (rendering.nucleus_mask & ~rendering.cell_mask).any()
    assert rendering.nucleus_mask.sum() < np.pi * 36 * 0.8


def test_bad_event_types_occur_at_configured_fractions():
    params = resolve_params({"bad_event_fraction": 0.1,
                             "bad_event_types": {"debris": 4, "doublet": 3, "empty": 1,
                                                 "saturated": 1, "border": 1},
                             "class_fractions": {"lymphocyte": 0.7, "neutrophil": 0.3}})
    n = 20000
    classes, types = draw_event_plan(np.random.default_rng(0), n, params)
    expected = {"cell": 0.9, "debris": 0.04, "doublet": 0.03, "empty": 0.01,
                "saturated": 0.01, "border": 0.01}
    for event_type, share in expected.items():
        count = types.count(event_type)
        assert abs(count - n * share) < 4 * np.sqrt(n * share * (1 - share)), event_type
    assert abs(classes.count("lymphocyte") / n - 0.7) < 0.02


def _object_stats(image):
    """Background-subtracted cytoplasm-channel objects: the kind of test QC will run."""
    signal = image.astype(float) - np.median(image, axis=(1, 2))[:, None, None]
    noise = 1.4826 * np.median(np.abs(signal[0] - np.median(signal[0])))
    mask = signal[0] > 0.2 * signal[0].max()
    labels, n = ndimage.label(mask)
    sizes = np.bincount(labels.ravel())[1:]
    largest = labels == (np.argmax(sizes) + 1)
    yy, xx = np.nonzero(largest)
    eig = np.linalg.eigvalsh(np.cov(np.stack([xx, yy]))) if len(xx) > 2 else np.ones(2)
    return {
        "snr": signal[0].max() / noise,
        "objects": int((sizes >= 10).sum()),
        "area": int(sizes.max()),
        "aspect": float(np.sqrt(eig[-1] / max(eig[0], 1e-9))),
        "border": bool(mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any()),
        "saturated_px": int((image == 65535).sum()),
        "nucleus_peak": signal[1].max(),
    }


def test_bad_events_are_distinguishable_from_good_cells():
    params = resolve_params()
    rng = np.random.default_rng(2)
    good = [_object_stats(simulate_event(rng, cls, params)[0])
            for cls in ("lymphocyte", "neutrophil") for _ in range(15)]
    bad = {t: [_object_stats(simulate_event(rng, "neutrophil", params, t)[0]) for _ in range(6)]
           for t in BAD_EVENT_TYPES}
    assert all(g["snr"] > 20 and g["objects"] == 1 and not g["border"]
               and g["saturated_px"] == 0 and g["aspect"] < 1.3 for g in good)
    min_good_area = min(g["area"] for g in good)
    min_good_nucleus = min(g["nucleus_peak"] for g in good)
    assert all(e["snr"] < 8 for e in bad["empty"])
    assert all(e["area"] < min_good_area / 3 and e["nucleus_peak"] < min_good_nucleus / 5
               for e in bad["debris"])
    assert all(e["saturated_px"] >= 20 for e in bad["saturated"])
    assert all(e["border"] for e in bad["border"])
    assert all(e["objects"] > 1 or e["aspect"] > 1.3 or e["area"] > 1.3 * np.pi * 20 ** 2
               for e in bad["doublet"])


def test_motion_blur_spreads_along_flow_axis_only():
    point = np.zeros((2, 21, 21))
    point[:, 10, 10] = 1.0
    blurred = apply_optics(point, defocus_sigma=0.0, motion_px=5.0)
    assert blurred.sum() == pytest.approx(2.0)
    assert np.count_nonzero(blurred[0, 10]) == 5
    assert np.count_nonzero(blurred[0, :, 10]) == 1


def test_failed_chunk_leaves_no_partial_directory(tmp_path, monkeypatch):
    calls = {"n": 0}
    original = simulate.write_event_tiffs

    def failing_writer(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(simulate, "write_event_tiffs", failing_writer)
    with pytest.raises(OSError, match="disk full"):
        simulate_chunk(tmp_path / "raw" / "0", 0, 5, seed=1, progress=False)
    assert list((tmp_path / "raw").iterdir()) == []


def test_rerun_replaces_an_existing_chunk(tmp_path):
    out = tmp_path / "0"
    simulate_chunk(out, 0, 4, seed=1, progress=False)
    (out / "stale.txt").write_text("old run")
    simulate_chunk(out, 0, 3, seed=1, progress=False)
    assert not (out / "stale.txt").exists() and len(read_rows(out)) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["0"]


def test_every_parameter_is_documented_and_typos_are_rejected():
    for key in DEFAULTS:
        assert f"- {key}" in simulate.__doc__ or f", {key}:" in simulate.__doc__, key
    with pytest.raises(ValueError, match="unknown simulator parameter"):
        resolve_params({"bad_event_fractoin": 0.1})
    with pytest.raises(ValueError, match="class_fractions"):
        resolve_params({"class_fractions": {"monocyte": 1.0}})


def test_command_line_writes_a_chunk(tmp_path):
    simulate.main(["--out", str(tmp_path / "2"), "--chunk", "2", "--n-events", "3",
                   "--seed", "9", "--params", '{"frame_size": 48}'])
    rows = read_rows(tmp_path / "2")
    assert [int(r["event_id"]) for r in rows] == [2_000_000, 2_000_001, 2_000_002]
    assert read_event(tmp_path / "2", rows[0]).shape == (2, 48, 48)


def test_truth_areas_are_the_noiseless_masks_pixel_counts():
    """The recorded areas and ratio agree with each other and with the drawn diameter (a disc of
    that diameter, within the body's elongation and ruffles); granularity grows with the class."""
    rng = np.random.default_rng(2)
    rows = [simulate_event(rng, cls, None, "cell")[1] for cls in ("lymphocyte", "neutrophil") * 10]
    for row in rows:
        assert row["nucleus_area_px"] / row["cell_area_px"] == pytest.approx(row["nucleus_area_ratio"], rel=1e-9)
        assert row["cell_area_px"] == pytest.approx(np.pi * row["cell_diameter_px"] ** 2 / 4, rel=0.15)
    lymphocytes, neutrophils = rows[0::2], rows[1::2]
    assert np.mean([r["granularity"] for r in neutrophils]) > 3 * np.mean([r["granularity"] for r in lymphocytes])
