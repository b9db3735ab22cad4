"""Benchmark: ingestion and filtering of a paper-scale image set (28,325 events).

Not a test. Simulates the events once (4 chunks, as the workflow does), then, each in a fresh
subprocess so peak memory is its own:

- baseline: plain ``tifffile.imread`` of every raw file (both channels), no processing;
- ingest of the first chunk only, and of all chunks (``cellscape.ingest.ingest``, 1 thread).

Reports events per second against the plain reads and peak RSS at both sizes. Ingestion streams
kept cells to disk, so peak RSS should grow by far less per event than the output array does
(2 x 78 x 78 float32 = 48.7 kB per cell); the ``rss_growth`` row compares the two.

``run(mode)``: ``quick`` 3,000 events (~1 min on one core), ``full`` the paper's 28,325
(~10 min), ``smoke`` 48 (the code path only).

    PYTHONPATH=scripts .venv/bin/python bench/bench_ingest.py [--full | --smoke] [--keep DIR]
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
EVENTS = {"smoke": 48, "quick": QUICK_EVENTS, "full": PAPER_EVENTS}
CHUNKS = 4
IMAGE_SIZE = 78

# Run in a child process: prints {"seconds", "events", "kept", "peak_rss_mb"} as JSON. Ingestion
# gets the settings rule ``ingest`` passes (cellscape.data.settings.data_settings) and runs the
# rule's own entry point.
CHILD = r"""
import json, sys, time
sys.path.insert(0, {scripts!r})
mode, roots, out, settings = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
from pathlib import Path
import tifffile
from cellscape.data.ingest import ingest_job
started = time.perf_counter()
if mode == "read":
    files = sorted(f for r in roots for f in Path(r).rglob("*.ome.tif"))
    for f in files:
        tifffile.imread(f)
    events, kept = len(files) // 2, 0
else:
    Path(out).mkdir(parents=True, exist_ok=True)
    index, qc = ingest_job(settings, roots, *(Path(out) / n for n in
                           ("images.npy", "index.csv", "qc.csv", "classes.json", "normalisation.json")), threads=1)
    events, kept = len(qc), len(index)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: a child inherits its parent's high-water mark across fork and exec
rss = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps(dict(seconds=seconds, events=events, kept=kept, peak_rss_mb=rss)))
"""


def rule_settings(overrides=None):
    """``params.settings`` of rule ``ingest`` for the schema's defaults (plus ``overrides``), built
    by the helper the rule uses and passed through JSON as Snakemake passes params."""
    from snakemake.utils import validate
    from cellscape.data.settings import data_settings
    config = json.loads(json.dumps(overrides or {}))
    validate(config, str(ROOT / "schemas" / "config.schema.yaml"), set_default=True)
    return json.loads(json.dumps(data_settings(config), sort_keys=True))


def simulate(raw_dir, n_events, channels, seed=0):
    """The workflow's chunks of the resolved ``channels``: ``raw_dir/000`` ... (skipped when already there)."""
    from cellscape.data.simulate import simulate_chunk
    roots = []
    for k in range(CHUNKS):
        n = n_events // CHUNKS + (1 if k < n_events % CHUNKS else 0)
        root = Path(raw_dir) / f"{k:03d}"
        if not (root / "properties.csv").exists():
            simulate_chunk(root, k, n, seed=seed, progress=True, channels=[c["file"] for c in channels])
        roots.append(str(root))
    return roots


def measure(mode, roots, out_dir, settings):
    code = CHILD.format(scripts=str(ROOT / "scripts"))
    proc = subprocess.run([sys.executable, "-c", code, mode, json.dumps(roots), str(out_dir), json.dumps(settings)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise RuntimeError(f"{mode} child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def simulated_bad_event_fraction():
    from cellscape.data.simulate import DEFAULTS
    return DEFAULTS["bad_event_fraction"]


def run(mode="quick", work_dir=None):
    """Rows {name, value, unit, baseline, baseline_value, ratio} for ingest vs plain reads."""
    n_events = EVENTS[mode]
    settings = rule_settings()
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        base = Path(work_dir) if work_dir else Path(tmp)
        roots = simulate(base / "raw", n_events, settings["data"]["channels"])
        read_all = measure("read", roots, base, settings)
        small = measure("ingest", roots[:1], base / "out_small", settings)
        large = measure("ingest", roots, base / "out_large", settings)
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
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--full", action="store_true", help=f"{PAPER_EVENTS} events (default {QUICK_EVENTS})")
    sizes.add_argument("--smoke", action="store_true", help=f"{EVENTS['smoke']} events: the code path only")
    parser.add_argument("--keep", help="work directory to keep (reuses simulated chunks found there)")
    args = parser.parse_args(argv)
    rows = run(mode="full" if args.full else "smoke" if args.smoke else "quick", work_dir=args.keep)
    print(f"{'name':44s} {'value':>12s} {'unit':8s} {'baseline':36s} {'baseline_value':>14s} {'ratio':>8s}")
    for r in rows:
        print(f"{r['name']:44s} {r['value']:12.3f} {r['unit']:8s} {r['baseline']:36s} "
              f"{r['baseline_value']:14.3f} {r['ratio']:8.3f}")


if __name__ == "__main__":
    main()
