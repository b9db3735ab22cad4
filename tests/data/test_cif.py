"""Native .cif/.rif reading: the two Amnis codecs on hand-made bytes, the real example file
against what Bio-Formats reads from it, streaming in chunks, and bad files named with the object."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cellscape.data.cif import (CifError, CifFile, CodecError, decode_greyscale, decode_mask, iter_objects,
                                locate_objects, object_count, object_ranges)

REPO = Path(__file__).resolve().parents[2]
CIF_DIR = REPO.parent / "shared" / "data" / "cif"
EXAMPLE = CIF_DIR / "example.cif"
REFERENCE = CIF_DIR / "example_bioformats_reference.npz"
needs_example = pytest.mark.skipif(not EXAMPLE.exists(), reason=f"the example .cif is not there ({CIF_DIR}: "
                                   "a copy of shared/ beside the repository holds it)")


# ------------------------------------------------------------------ codecs on hand-made bytes

def test_greyscale_codec_decodes_nibble_differences_then_predicts_from_left_and_above():
    # differences, row by row: 29, 2, -1 / 3, -20, 0
    #   29  = 011 101 -> nibbles 0xD (continue, 101), 0x3 (end, 011)
    #   2   = 010     -> 0x2;   -1 = 111 -> 0x7;   3 = 011 -> 0x3
    #   -20 = 101 100 (6-bit two's complement of 44) -> 0xC (continue, 100), 0x5 (end, 101)
    #   0   -> 0x0
    # nibbles D 3 2 7 3 C 5 0, low nibble of each byte first -> bytes 3D 72 C3 05
    data = bytes([0x3D, 0x72, 0xC3, 0x05])
    # row 0: 29, 29+2 = 31, 31-1 = 30
    # row 1: pixel = difference + left + above - above-left:
    #   3 + 0 + 29 - 0 = 32;  -20 + 32 + 31 - 29 = 14;  0 + 14 + 30 - 31 = 13
    expected = np.array([[29, 31, 30], [32, 14, 13]], dtype=np.uint16)
    decoded = decode_greyscale(data, 2, 3)
    assert decoded.dtype == np.uint16
    np.testing.assert_array_equal(decoded, expected)


def test_greyscale_codec_ignores_padding_nibbles_after_the_last_pixel():
    # differences 5 (two nibbles: 0xD, 0x0), 1 (0x1); a last padding nibble 0 -> bytes 0D 01
    np.testing.assert_array_equal(decode_greyscale(bytes([0x0D, 0x01]), 1, 2), [[5, 6]])


def test_greyscale_codec_names_how_far_truncated_data_got():
    # the bytes above without their last: numbers 29, 2, -1, 3 complete, -20 cut after one nibble
    with pytest.raises(CodecError, match="ends after 4 of 6 pixels"):
        decode_greyscale(bytes([0x3D, 0x72, 0xC3]), 2, 3)


def test_greyscale_codec_rejects_a_run_of_continuation_nibbles():
    with pytest.raises(CodecError, match="nibbles"):
        decode_greyscale(bytes([0xFF] * 8 + [0x00]), 1, 2)


def test_mask_codec_expands_value_and_run_length_minus_one_pairs():
    # (0, 2): three 0s; (1, 3): four 1s; (2, 0): one 2 -> 8 pixels, row by row
    data = bytes([0x00, 0x02, 0x01, 0x03, 0x02, 0x00])
    decoded = decode_mask(data, 2, 4)
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, [[0, 0, 0, 1], [1, 1, 1, 2]])


def test_mask_codec_rejects_runs_that_do_not_fill_the_image():
    with pytest.raises(CodecError, match="ends after 7 of 8 pixels"):
        decode_mask(bytes([0x00, 0x02, 0x01, 0x03]), 2, 4)
    with pytest.raises(CodecError, match="holds 9 pixels"):
        decode_mask(bytes([0x00, 0x08]), 2, 4)


# ------------------------------------------------------------------ the real file

@needs_example
def test_every_object_equals_what_bioformats_reads():
    reference = np.load(REFERENCE)
    objects = list(iter_objects(EXAMPLE))
    assert len(objects) == 111
    for k, obj in enumerate(objects):
        image, mask = reference[f"image_{k:03d}"], reference[f"mask_{k:03d}"]
        assert obj.image.dtype == np.uint16 and obj.mask.dtype == np.uint8
        np.testing.assert_array_equal(obj.image, image, err_msg=f"image of object {k}")
        np.testing.assert_array_equal(obj.mask, mask, err_msg=f"mask of object {k}")
    assert [obj.number for obj in objects] == list(range(111))


@needs_example
def test_header_metadata_names_six_channels_in_use_and_111_objects():
    with CifFile(EXAMPLE) as cif:
        meta = cif.metadata
    assert meta.object_count == 111 and object_count(EXAMPLE) == 111
    assert meta.channels_in_use == (0, 1, 2, 3, 4, 5)
    assert meta.channel_names == ("Ch1", "Ch2", "Ch3", "Ch4", "Ch5", "Ch6")
    assert meta.brightfield_channels == (4,)
    assert meta.magnification == 40


@needs_example
def test_reading_in_chunks_gives_what_one_pass_gives():
    whole = list(iter_objects(EXAMPLE))
    chunks = [obj for start, stop in object_ranges(111, 4) for obj in iter_objects(EXAMPLE, start, stop)]
    assert [o.number for o in chunks] == [o.number for o in whole]
    for a, b in zip(whole, chunks):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.mask, b.mask)
    assert object_ranges(111, 4) == [(0, 28), (28, 56), (56, 83), (83, 111)]


def _location(path, number):
    with CifFile(path) as cif:
        location = next(loc for loc in locate_objects(cif) if loc.number == number)
        return cif.read_directory(location.image_offset)


@needs_example
def test_truncated_file_error_names_the_file_and_the_object(tmp_path):
    image = _location(EXAMPLE, 50)
    cut = tmp_path / "cut.cif"
    cut.write_bytes(EXAMPLE.read_bytes()[:image.strip_offsets[0] + image.strip_bytecounts[0] // 2])
    read = iter_objects(cut)
    for _ in range(50):
        next(read)
    with pytest.raises(CifError, match=rf"{cut}: object 50 .*past the end of the file"):
        next(read)


@needs_example
def test_corrupt_object_error_names_the_file_and_the_object(tmp_path):
    image = _location(EXAMPLE, 10)
    bad = tmp_path / "bad.cif"
    shutil.copy(EXAMPLE, bad)
    data = bytearray(bad.read_bytes())
    data[image.strip_offsets[0]:image.strip_offsets[0] + image.strip_bytecounts[0]] = b"\xff" * image.strip_bytecounts[0]
    bad.write_bytes(bytes(data))
    with pytest.raises(CifError, match=rf"{bad}: object 10 \(object 11 in the file\): image: "):
        list(iter_objects(bad))


def test_a_plain_tiff_is_named_as_no_cif(tmp_path):
    plain = tmp_path / "plain.cif"
    tifffile.imwrite(plain, np.zeros((8, 8), np.uint16))
    with pytest.raises(CifError, match=rf"{plain}: not an ImageStream"):
        CifFile(plain)


# ------------------------------------------------------------------ data.source: cif

def cif_config(tmp_path, **data):
    from support.config import validated_config
    channels = [{"name": "brightfield", "file": "Ch5", "kind": "brightfield"},
                {"name": "scatter", "file": "Ch1", "kind": "darkfield"}]
    cfg = {"classes": ["small", "large"], "image_size": 48,
           "data": {"source": "cif", "channels": channels, **data}}
    return validated_config(cfg)


def label_table(tmp_path, labels):
    path = tmp_path / "labels.csv"
    path.write_text("object,class\n" + "".join(f"{k},{cls}\n" for k, cls in labels.items()))
    return str(path)


@needs_example
def test_cif_source_reads_the_configured_instrument_channels_in_config_order(tmp_path):
    from cellscape.data.readers import discover_all, read_event
    cfg = cif_config(tmp_path, files={"small": str(EXAMPLE)})
    events = discover_all([], cfg["data"], cfg["classes"])
    assert len(events) == 111 and {e.cls for e in events} == {"small"}
    assert events[7].id == "small/7" and events[7].source == f"{EXAMPLE}#7"
    image, saturation = read_event(events[7], cfg["data"])
    obj = next(iter_objects(EXAMPLE, 7, 8))
    np.testing.assert_array_equal(image, obj.image[[4, 0]].astype(np.float32))  # Ch5, Ch1
    assert image.dtype == np.float32 and saturation == 4095


@needs_example
def test_cif_source_records_objects_the_label_table_leaves_out_as_unlabelled(tmp_path):
    from cellscape.data.ingest import ingest
    labels = {k: "small" if k < 20 else "large" for k in range(40)}
    cfg = cif_config(tmp_path, files=[str(EXAMPLE)], labels={"table": label_table(tmp_path, labels)},
                     mask="instrument", on_bad_event="error")  # unlabelled objects are no bad input
    out = {name: tmp_path / name for name in ("images.npy", "index.csv", "qc.csv", "classes.json", "norm.json")}
    index, qc = ingest([], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"], *out.values())
    assert len(qc) == 111
    unlabelled = qc[qc["problem"] == "no label"]
    assert sorted(unlabelled["object"].astype(int)) == list(range(40, 111))
    assert unlabelled["class"].isna().all() and not unlabelled["kept"].any()
    assert unlabelled["id"].str.startswith("(unlabelled)/").all()
    assert set(index["object"].astype(int)) <= set(range(40))
    assert (index["class"] == index["object"].astype(int).map(labels)).all()


@needs_example
def test_instrument_mask_sets_pixels_outside_it_to_the_background_level(tmp_path):
    from cellscape.data.readers import discover_all, read_event
    cfg = cif_config(tmp_path, files={"small": str(EXAMPLE)}, mask="instrument")
    assert [c.get("mask") for c in cfg["data"]["channels"]] == ["instrument", "instrument"]
    assert cfg["data"]["channels"][1]["threshold"] == 0  # the mask, not the 20% rule, decides
    event = discover_all([], cfg["data"], cfg["classes"])[0]
    image, _ = read_event(event, cfg["data"])
    obj = next(iter_objects(EXAMPLE, 0, 1))
    for k, ch in enumerate([4, 0]):
        inside = obj.mask[ch] > 0
        assert inside.any()
        np.testing.assert_array_equal(image[k][inside], obj.image[ch][inside])
        assert np.unique(image[k][~inside]).tolist() == [np.median(obj.image[ch][~inside])]


@needs_example
def test_a_channel_the_file_did_not_record_is_named_with_the_channels_in_use(tmp_path):
    from cellscape.data.cif.source import check_config
    from cellscape.data.readers import InputError
    cfg = cif_config(tmp_path, files={"small": str(EXAMPLE), "large": str(EXAMPLE)})
    cfg["data"]["channels"][1]["file"] = "Ch9"
    with pytest.raises(InputError, match=r"did not record Ch9 \(channels in use: Ch1, Ch2, Ch3, Ch4, Ch5, Ch6\)"):
        check_config(cfg["data"], cfg["classes"])


def test_instrument_mask_needs_a_cif_source():
    from cellscape.data.channels import ChannelError, resolve_channels
    with pytest.raises(ChannelError, match="only ImageStream .cif/.rif files"):
        resolve_channels({"source": "directory", "mask": "instrument", "channels": [{"name": "a", "file": "Ch1"}]})


def test_a_list_of_files_needs_a_label_table(tmp_path):
    from cellscape.data.cif.source import check_config
    from cellscape.data.readers import InputError
    with pytest.raises(InputError, match="needs data.labels.table"):
        check_config({"files": ["a.cif"], "labels": {"table": None}, "channels": []}, ["small", "large"])


@needs_example
def test_planning_counts_the_objects_in_the_file_headers(tmp_path):
    from cellscape.model.architecture import layer_shapes
    from cellscape.plan.costs import CostModel
    cfg = cif_config(tmp_path, files={"small": str(EXAMPLE), "large": [str(EXAMPLE), str(EXAMPLE)]})
    cfg["data"]["channels"] = None  # the raw config, as planning sees it
    cfg["data"]["channel_files"] = {"cytoplasm": "Ch3", "nucleus": "Ch4"}
    model = CostModel(cfg, layer_shapes(cfg["model"], cfg["image_size"], 2))
    assert model.n_images == 3 * 111


def test_readme_cif_example_is_a_valid_config():
    import re
    import yaml
    from support.config import validated_config
    block = re.search(r"```yaml\n(# configs/mycif\.yaml\n.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    cfg = validated_config(yaml.safe_load(block))
    assert cfg["data"]["source"] == "cif" and [c["file"] for c in cfg["data"]["channels"]] == ["Ch1", "Ch7", "Ch6"]
    assert all(c["mask"] == "instrument" for c in cfg["data"]["channels"])


# ------------------------------------------------------------------ files written here

@needs_example
def test_a_written_file_of_the_example_strips_reads_as_the_example(tmp_path):
    from support.cif import example_strips, write_cif
    strips, xml = example_strips(EXAMPLE)
    path = write_cif(tmp_path / "copy.cif", xml, strips[:5])
    for a, b in zip(iter_objects(path), iter_objects(EXAMPLE, 0, 5)):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.mask, b.mask)


@needs_example
def test_a_file_without_masks_reads_its_images_with_no_mask(tmp_path):
    from support.cif import example_strips, write_cif
    strips, xml = example_strips(EXAMPLE)
    path = write_cif(tmp_path / "images_only.rif", xml, strips[:3], masks=False)
    objects = list(iter_objects(path))
    assert [o.number for o in objects] == [0, 1, 2] and all(o.mask is None for o in objects)
    np.testing.assert_array_equal(objects[2].image, next(iter_objects(EXAMPLE, 2, 3)).image)


@needs_example
def test_streaming_memory_does_not_grow_with_the_number_of_objects(tmp_path):
    import gc
    import tracemalloc
    from support.cif import example_strips, write_cif
    strips, xml = example_strips(EXAMPLE)
    small = write_cif(tmp_path / "small.cif", xml, strips)
    large = write_cif(tmp_path / "large.cif", xml, [(k, *strips[k % len(strips)][1:]) for k in range(8 * len(strips))])

    def peak(path):
        gc.collect()
        tracemalloc.start()
        n = sum(1 for _ in iter_objects(path))
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return n, top

    (n_small, peak_small), (n_large, peak_large) = peak(small), peak(large)
    assert (n_small, n_large) == (111, 888)
    assert peak_large < 1.5 * peak_small + 100_000, (peak_small, peak_large)
    assert peak_large < 4_000_000  # one object's arrays and their decoding, not the file


@needs_example
def test_ingesting_in_worker_processes_gives_what_one_process_gives(tmp_path):
    from cellscape.data.ingest import ingest
    cfg = cif_config(tmp_path, files={"small": str(EXAMPLE), "large": str(EXAMPLE)}, mask="instrument")
    results = []
    for threads in (1, 2):
        out = [tmp_path / f"{threads}_{name}" for name in ("images.npy", "index.csv", "qc.csv", "classes.json", "n.json")]
        index, qc = ingest([], cfg["data"], cfg["qc"], cfg["classes"], cfg["image_size"], cfg["seed"], *out,
                           threads=threads)
        results.append((np.load(out[0]), index))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1].equals(results[1][1]) and len(results[0][1]) == 220
