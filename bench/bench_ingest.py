"""Benchmark: ingestion and filtering of a paper-scale image set (28,325 events).

Not a test. Simulates the events once (4 chunks, as the workflow does), then, each in a fresh
subprocess so peak memory is its own:

- baseline: plain ``tifffile.imread`` of every raw file (both channels), no processing;
- ingest of the first chunk only, and of all chunks (``cellscape.ingest.ingest``, 1 thread).

Reports events per second against the plain reads and peak RSS at both sizes. Ingestion streams
kept cells to disk, so peak RSS should grow by far less per event than the output array does
(2 x 78 x 78 float32 = 48.7 kB per cell); the ``rss_growth`` row compares the two.

``run(quick=True)`` uses 3,000 events (~1 min on one core), ``quick=False`` the paper's 28,325
(~10 min).

    PYTHONPATH=scripts .venv/bin/python bench/bench_ingest.py [--full] [--keep DIR]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

PAPER_EVENTS = 28_325
QUICK_EVENTS = 3_000
CHUNKS = 4
IMAGE_SIZE = 78

# Run in a child process: prints {"seconds", "events", "kept", "peak_rss_mb"} as JSON.
CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {scripts!r})
mode, roots, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
from pathlib import Path
import tifffile
from snakemake.utils import validate
from cellscape.data.ingest import ingest, read_properties
cfg = {{}}
validate(cfg, {schema!r}, set_default=True)
started = time.perf_counter()
if mode == "read":
    files = sorted(f for r in roots for f in Path(r).rglob("*.ome.tif"))
    for f in files:
        tifffile.imread(f)
    events, kept = len(files) // 2, 0
else:
    props = read_properties(Path(r) / "properties.csv" for r in roots)
    index, qc = ingest(roots, cfg["data"], cfg["qc"], cfg["classes"], {size}, 0,
                       *(Path(out) / n for n in ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")),
                       threads=1, properties=props)
    events, kept = len(qc), len(index)
seconds = time.perf_counter() - started
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(seconds=seconds, events=events, kept=kept, peak_rss_mb=rss)))
"""


def simulate(raw_dir, n_events, seed=0):
    """The workflow's chunks: ``raw_dir/000`` ... (skipped when already there)."""
    from cellscape.data.simulate import simulate_chunk
    roots = []
    for k in range(CHUNKS):
        n = n_events // CHUNKS + (1 if k < n_events % CHUNKS else 0)
        root = Path(raw_dir) / f"{k:03d}"
        if not (root / "properties.csv").exists():
            simulate_chunk(root, k, n, seed=seed, progress=True)
        roots.append(str(root))
    return roots


def measure(mode, roots, out_dir):
    code = CHILD.format(scripts=str(ROOT / "scripts"), schema=str(ROOT / "schemas" / "config.schema.yaml"),
                        size=IMAGE_SIZE)
    proc = subprocess.run([sys.executable, "-c", code, mode, json.dumps(roots), str(out_dir)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def simulated_bad_event_fraction():
    from cellscape.data.simulate import DEFAULTS
    return DEFAULTS["bad_event_fraction"]


def run(quick=True, work_dir=None):
    """Rows {name, value, unit, baseline, baseline_value, ratio} for ingest vs plain reads."""
    n_events = QUICK_EVENTS if quick else PAPER_EVENTS
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        base = Path(work_dir) if work_dir else Path(tmp)
        roots = simulate(base / "raw", n_events)
        read_all = measure("read", roots, base)
        small = measure("ingest", roots[:1], base / "out_small")
        large = measure("ingest", roots, base / "out_large")
    label = f"[{large['events']} events]"
    cell_mb = 2 * IMAGE_SIZE * IMAGE_SIZE * 4 / 2**20
    growth = (large["peak_rss_mb"] - small["peak_rss_mb"]) / (large["events"] - small["events"]) * 1000
    rows = [
        dict(name=f"ingest_events_per_second{label}", value=large["events"] / large["seconds"],
             unit="events/s", baseline="tifffile_reads_events_per_second",
             baseline_value=read_all["events"] / read_all["seconds"]),
        dict(name=f"ingest_seconds{label}", value=large["seconds"], unit="s",
             baseline="tifffile_reads_seconds", baseline_value=read_all["seconds"]),
        dict(name=f"ingest_peak_rss{label}", value=large["peak_rss_mb"], unit="MB",
             baseline="tifffile_reads_peak_rss", baseline_value=read_all["peak_rss_mb"]),
        dict(name=f"ingest_peak_rss[{small['events']} events]", value=small["peak_rss_mb"], unit="MB",
             baseline=f"ingest_peak_rss{label}", baseline_value=large["peak_rss_mb"]),
        dict(name="rss_growth_per_1000_events", value=growth, unit="MB",
             baseline="output_array_per_1000_kept_cells",
             baseline_value=cell_mb * 1000 * large["kept"] / large["events"]),
        dict(name=f"kept_fraction{label}", value=large["kept"] / large["events"], unit="share",
             baseline="good_event_share_simulated", baseline_value=1 - simulated_bad_event_fraction()),
    ]
    for row in rows:
        row["ratio"] = row["value"] / row["baseline_value"] if row["baseline_value"] else float("nan")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help=f"{PAPER_EVENTS} events (default {QUICK_EVENTS})")
    parser.add_argument("--keep", help="work directory to keep (reuses simulated chunks found there)")
    args = parser.parse_args(argv)
    rows = run(quick=not args.full, work_dir=args.keep)
    print(f"{'name':44s} {'value':>12s} {'unit':8s} {'baseline':36s} {'baseline_value':>14s} {'ratio':>8s}")
    for r in rows:
        print(f"{r['name']:44s} {r['value']:12.3f} {r['unit']:8s} {r['baseline']:36s} "
              f"{r['baseline_value']:14.3f} {r['ratio']:8.3f}")


if __name__ == "__main__":
    main()
