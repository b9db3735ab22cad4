"""The regression target: each built-in measurement on images of known geometry, and a user's
id,value table with every kind of bad input."""
import numpy as np
import pandas as pd
import pytest

from cellscape.mda.target import MEASUREMENTS, TargetError, cell_measurements, measure_targets, user_target


def disc(size, radius, centre):
    yy, xx = np.mgrid[:size, :size]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius ** 2


def two_channel_cell(size=40):
    """Cytoplasm 0.4 over a disc of radius 12, nucleus 0.9 over a disc of radius 5 inside it,
    a 2 px speck of nucleus signal outside the cell (ignored: below min_object_px)."""
    cell, nucleus = disc(size, 12, (20, 20)), disc(size, 5, (18, 21))
    image = np.zeros((2, size, size), np.float32)
    image[0][cell] = 0.4
    image[1][nucleus] = 0.9
    image[1, 1, 1:3] = 0.7
    return image, cell, nucleus


def test_each_measurement_on_a_cell_of_known_geometry():
    image, cell, nucleus = two_channel_cell()
    values = cell_measurements(image, min_object_px=8)
    assert set(values) == set(MEASUREMENTS)
    assert values["cell_area"] == cell.sum()
    assert values["nucleus_area"] == nucleus.sum()
    assert values["nucleus_area_ratio"] == pytest.approx(nucleus.sum() / cell.sum())
    assert values["nucleus_intensity"] == pytest.approx(0.9 * nucleus.sum(), rel=1e-6)
    assert values["cytoplasm_intensity"] == pytest.approx(0.4, rel=1e-6)


def test_measuring_a_set_follows_each_cell():
    small, _, _ = two_channel_cell()
    bright = small.copy()
    bright[1] *= 2
    values = measure_targets(np.stack([small, bright, np.zeros_like(small)]), progress=False)
    assert values["nucleus_intensity"][1] == pytest.approx(2 * values["nucleus_intensity"][0])
    assert values["nucleus_area"][1] == values["nucleus_area"][0]
    assert np.isnan(values["nucleus_area_ratio"][2]) and values["cell_area"][2] == 0


IDS = ["lymphocyte/0", "lymphocyte/1", "neutrophil/0"]


def test_a_users_table_is_joined_on_the_id_in_the_image_sets_order():
    table = pd.DataFrame({"id": ["neutrophil/0", "lymphocyte/0", "lymphocyte/1", "other/9"],
                          "value": [3.0, 1.0, 2.0, 7.0]})
    np.testing.assert_array_equal(user_target(table, IDS, "dna.csv"), [1.0, 2.0, 3.0])


@pytest.mark.parametrize("table,message", [
    (pd.DataFrame({"id": ["lymphocyte/0", "lymphocyte/1"], "value": [1.0, 2.0]}), "lacks 1 of the 3 cells"),
    (pd.DataFrame({"id": IDS, "value": ["1.0", "high", "2.0"]}), "not finite numbers"),
    (pd.DataFrame({"id": IDS + ["lymphocyte/0"], "value": [1.0, 2.0, 3.0, 4.0]}), "more than once"),
    (pd.DataFrame({"id": IDS, "value": [5.0, 5.0, 5.0]}), "constant"),
    (pd.DataFrame({"cell": IDS, "value": [1.0, 2.0, 3.0]}), "expected the columns 'id,value'"),
], ids=["missing id", "non-numeric", "duplicated id", "constant", "wrong header"])
def test_a_bad_users_table_is_an_error_naming_the_file(table, message):
    with pytest.raises(TargetError, match=message) as error:
        user_target(table, IDS, "results/dna.csv")
    assert "results/dna.csv" in str(error.value)


def test_auto_target_is_the_nucleus_ratio_with_a_nucleus_channel_and_the_cell_area_without():
    from cellscape.data.channels import channel_roles, resolve_channels, resolve_mda_target
    stains = resolve_channels({"channels": None, "channel_files": None, "stack_channels": None, "rgb": {}})
    label_free = resolve_channels({"channels": [{"name": "brightfield", "file": "Ch1", "kind": "brightfield"},
                                                {"name": "darkfield", "file": "Ch6", "kind": "darkfield"}]})
    assert resolve_mda_target("auto", channel_roles(stains)) == "nucleus_area_ratio"
    assert resolve_mda_target("auto", channel_roles(label_free)) == "cell_area"
    assert resolve_mda_target("nucleus_intensity", channel_roles(stains)) == "nucleus_intensity"


def test_label_free_channels_plan_the_mda_stage_on_the_cell_area(tmp_path):
    from support.workflow import REPO, planned_rules
    override = tmp_path / "label_free.yaml"
    override.write_text("data:\n  channels:\n    - {name: brightfield, file: Ch1, kind: brightfield}\n"
                        "    - {name: darkfield, file: Ch6, kind: darkfield}\n")
    jobs = planned_rules(tmp_path, REPO / "configs" / "tiny.yaml", override)
    assert jobs.get("mda_train") == 1  # planned, where a nucleus target stopped planning
