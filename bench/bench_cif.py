"""Benchmark: native .cif reading (both Amnis codecs) against tifffile reading the same pixels
as plain, uncompressed TIFFs.

Not a test. Reads the example ImageStream file (``../shared/data/cif/example.cif``, 111 objects
of 6 channels, image and mask each) object by object with ``cellscape.data.cif.iter_objects``;
writes every decoded image and mask as an uncompressed TIFF (one file each, as a per-object
export would hold them) to a temporary directory in the same run and times ``tifffile.imread``
of all of them. Both sides are repeated for several passes over the file (the OS cache holds
both, so the figures compare decoding and per-object overhead, not the disk). Reports objects
per second and the ratio to the plain-TIFF baseline, and the bytes of both.

``run(mode="quick")`` makes 10 passes (1,110 objects, a few seconds), ``full`` 100, ``smoke`` 1.

    PYTHONPATH=scripts .venv/bin/python bench/bench_cif.py [--full]
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
EXAMPLE = ROOT.parent / "shared" / "data" / "cif" / "example.cif"


def time_cif(path, passes):
    """(seconds, objects, pixels) of reading every object of ``path`` ``passes`` times."""
    from cellscape.data.cif import iter_objects
    objects = pixels = 0
    started = time.perf_counter()
    for _ in range(passes):
        for obj in iter_objects(path):
            objects += 1
            pixels += obj.image.size + obj.mask.size
    return time.perf_counter() - started, objects, pixels


def write_plain(path, folder):
    """Every object's image and mask as uncompressed TIFFs under ``folder``; the files in object order."""
    import tifffile
    from cellscape.data.cif import iter_objects
    files = []
    for obj in iter_objects(path):
        for kind, array in (("image", obj.image), ("mask", obj.mask)):
            f = Path(folder) / f"{obj.number}_{kind}.tif"
            tifffile.imwrite(f, array, compression=None)
            files.append(f)
    return files


def time_plain(files, passes):
    """(seconds, objects, pixels) of ``tifffile.imread`` of every file ``passes`` times."""
    import tifffile
    pixels = 0
    started = time.perf_counter()
    for _ in range(passes):
        for f in files:
            pixels += tifffile.imread(f).size
    return time.perf_counter() - started, passes * len(files) // 2, pixels


def compressed_bytes(path):
    """Bytes of every object's image and mask strips (the header's acquisition XML left out)."""
    from cellscape.data.cif import CifFile
    with CifFile(path) as cif:
        return sum(sum(d.strip_bytecounts) for d in cif.directories() if d.kind in ("image", "mask"))


def run(mode="quick"):
    """Rows {name, value, unit, baseline, baseline_value, ratio}: .cif objects/s vs plain TIFFs."""
    if not EXAMPLE.exists():
        raise FileNotFoundError(f"{EXAMPLE}: the example .cif (a copy of shared/ beside the repository)")
    passes = {"smoke": 1, "quick": 10, "full": 100}[mode]
    time_cif(EXAMPLE, 1)  # warm: imports, the OS cache
    with tempfile.TemporaryDirectory(prefix="bench_cif_") as tmp:
        files = write_plain(EXAMPLE, tmp)
        plain_bytes = sum(f.stat().st_size for f in files)
        time_plain(files, 1)
        plain_s, plain_n, plain_px = time_plain(files, passes)
        cif_s, cif_n, cif_px = time_cif(EXAMPLE, passes)
    assert (cif_n, cif_px) == (plain_n, plain_px), "both sides must read the same pixels"
    label = f"[{cif_n} objects, 6 channels, image + mask]"
    rows = [
        dict(name=f"cif_objects_per_second{label}", value=cif_n / cif_s, unit="objects/s",
             baseline="tifffile_plain_tiff_objects_per_second", baseline_value=plain_n / plain_s),
        dict(name=f"cif_megapixels_per_second{label}", value=cif_px / cif_s / 1e6, unit="Mpx/s",
             baseline="tifffile_plain_tiff_megapixels_per_second", baseline_value=plain_px / plain_s / 1e6),
        dict(name="cif_compressed_bytes", value=compressed_bytes(EXAMPLE), unit="bytes",
             baseline="plain_tiff_files_bytes", baseline_value=plain_bytes),
    ]
    for row in rows:
        row["ratio"] = row["value"] / row["baseline_value"] if row["baseline_value"] else float("nan")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="100 passes over the file (default 10)")
    args = parser.parse_args(argv)
    rows = run(mode="full" if args.full else "quick")
    print(f"{'name':60s} {'value':>10s} {'unit':10s} {'baseline':44s} {'baseline_value':>14s} {'ratio':>7s}")
    for r in rows:
        print(f"{r['name']:60s} {r['value']:10.1f} {r['unit']:10s} {r['baseline']:44s} "
              f"{r['baseline_value']:14.1f} {r['ratio']:7.2f}")


if __name__ == "__main__":
    main()
