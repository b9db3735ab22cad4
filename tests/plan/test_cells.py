"""Planning names the setting to change when a class would bring too few cells to the layer
metrics (k-NN accuracy cross-validates: two cells per class at least)."""
import pytest

from cellscape.data.events import Event
from cellscape.plan.build import build
from cellscape.plan.cells import check_selection_size
from cellscape.plan.errors import PlanError
from support.config import validated_config
from support.ifc_export import CLASSES, IMAGE_SIZE, write_export


def events(counts):
    return [Event(str(k), cls, "stack", ()) for cls, n in counts.items() for k in range(n)]


def test_a_class_with_one_expected_test_cell_stops_planning_naming_activations_split():
    config = validated_config({"classes": ["a", "b"]})
    check_selection_size(events({"a": 10, "b": 40}), config)  # 0.2 x 10 = 2 test cells: enough
    with pytest.raises(PlanError, match=r"a \(9 events, about 1\.8 test cells\).*activations\.split: all"):
        check_selection_size(events({"a": 9, "b": 40}), config)
    config = validated_config({"classes": ["a", "b"], "activations": {"split": "all"}})
    check_selection_size(events({"a": 9, "b": 40}), config)  # every cell is embedded
    with pytest.raises(PlanError, match=r"a \(1 events, about 1\.0 test cells\).*add events"):
        check_selection_size(events({"a": 1, "b": 40}), config)


def planned(root, **settings):
    data = {"source": "directory", "directory": str(root), "channel_files": {"cytoplasm": "Ch2", "nucleus": "Ch4"}}
    config = validated_config({"classes": list(CLASSES), "image_size": IMAGE_SIZE, "data": data, **settings})
    config["data"].pop("channel_files")  # resolved into data.channels
    return build(config)


def test_planning_a_directory_counts_its_events_per_class(tmp_path):
    write_export(tmp_path, 6)  # about 1.2 test cells per class
    with pytest.raises(PlanError, match=r"lymphocyte \(6 events.*activations\.split: all"):
        planned(tmp_path)
    assert planned(tmp_path, activations={"split": "all"}).costs.n_images == 18
