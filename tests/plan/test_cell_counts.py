"""Planning names the setting to change when a class would bring too few cells to the layer
metrics (k-NN accuracy cross-validates: two cells per class at least)."""
from cellscape.data.events import Event
from cellscape.plan.build import build
from cellscape.plan.cells import selection_size_note
from support.config import validated_config
from support.ifc_export import CLASSES, IMAGE_SIZE, write_export


def events(counts):
    return [Event(str(k), cls, "stack", ()) for cls, n in counts.items() for k in range(n)]


def test_a_class_with_one_expected_test_cell_is_named_with_activations_split():
    config = validated_config({"classes": ["a", "b"]})
    assert selection_size_note(events({"a": 10, "b": 40}), config) is None  # 0.2 x 10 = 2 test cells
    note = selection_size_note(events({"a": 9, "b": 40}), config)
    assert "a (9 events, about 1.8 selected cells)" in note and "b (" not in note
    assert note.endswith("set activations.split: all (every cell is embedded and scored) or add events")
    config = validated_config({"classes": ["a", "b"], "activations": {"split": "all"}})
    assert selection_size_note(events({"a": 9, "b": 40}), config) is None  # every cell is embedded
    assert selection_size_note(events({"a": 1, "b": 40}), config).endswith(": add events")


def planned(root, **settings):
    data = {"source": "directory", "directory": str(root), "channel_files": {"cytoplasm": "Ch2", "nucleus": "Ch4"}}
    config = validated_config({"classes": list(CLASSES), "image_size": IMAGE_SIZE, "data": data, **settings})
    config["data"].pop("channel_files")  # resolved into data.channels
    return build(config)


def test_planning_a_directory_counts_its_events_per_class(tmp_path):
    write_export(tmp_path, 6)  # about 1.2 test cells per class
    notes = [note for note in planned(tmp_path).notes if "too few cells" in note]
    assert len(notes) == 1 and all(f"{cls} (6 events" in notes[0] for cls in CLASSES)
    assert "activations.split: all" in notes[0]
    assert not [note for note in planned(tmp_path, activations={"split": "all"}).notes if "too few cells" in note]
