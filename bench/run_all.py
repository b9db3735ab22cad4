"""Run every benchmark under bench/ and write results/bench/summary.{md,csv}.

Each ``bench/bench_*.py`` exposes ``run(mode) -> list of rows`` with keys
``name, value, unit, baseline, baseline_value, ratio``: a figure and its baseline measured in
the same run. Modes:

* ``quick`` (default, ``make bench``): < 10 minutes on 2 cores;
* ``full``: the paper-scale sizes;
* ``smoke``: every benchmark's code path on tiny sizes, seconds each: the numbers mean nothing,
  but a change that breaks a benchmark fails the test suite (``tests/bench``).

A benchmark fails when it raises, returns no rows, or returns a row without a finite value,
baseline value and ratio; run_all then lists it under "Failed" and returns 1.
"""
import argparse
import csv
import importlib.util
import math
import os
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MODES = ("smoke", "quick", "full")
FIELDS = ["benchmark", "name", "value", "unit", "baseline", "baseline_value", "ratio", "seconds"]


def fmt(value):
    return "-" if value is None else (f"{value:.4g}" if isinstance(value, (int, float)) else str(value))


def benchmarks():
    """The benchmark files, ``bench/bench_*.py``, by name."""
    return sorted(BENCH.glob("bench_*.py"))


def load(path):
    """Import a benchmark file as a module of its own (the bench folder is no package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def row_problems(rows):
    """What is wrong with a benchmark's rows: none, or a row without its numbers."""
    if not rows:
        return ["no rows"]
    return [f"{row.get('name')!r}: {key} is {row.get(key)!r}" for row in rows
            for key in ("value", "baseline_value", "ratio") if not finite(row.get(key))]


def run_benchmark(path, mode):
    """(rows, seconds) of one benchmark file; raises when it fails or its rows lack numbers."""
    t0 = time.perf_counter()
    rows = load(path).run(mode=mode)
    problems = row_problems(rows)
    if problems:
        raise ValueError(f"{path.stem}: " + "; ".join(problems))
    return rows, time.perf_counter() - t0


def write_summary(out, mode, rows, failed, seconds):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    load_average = os.getloadavg()
    lines = [f"# Benchmarks ({mode} mode)", "",
             f"{len({r['benchmark'] for r in rows})} benchmarks, {len(rows)} measures, {seconds:.0f} s on "
             f"{os.cpu_count()} CPUs (load average at the end {load_average[0]:.2f} {load_average[1]:.2f} "
             f"{load_average[2]:.2f}). Every baseline is measured in the same run.", "",
             "| benchmark | measure | value | unit | baseline (same run) | baseline value | ratio | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {r['name']} | {fmt(r['value'])} | {r['unit']} | {r['baseline']} | "
                     f"{fmt(r['baseline_value'])} | {fmt(r['ratio'])} | {r['seconds']} |")
    if failed:
        lines += ["", f"Failed: {', '.join(failed)}"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'summary.md'} and {out / 'summary.csv'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=MODES, default="quick")
    parser.add_argument("--only", nargs="*", help="benchmark file stems to run, e.g. bench_training")
    parser.add_argument("--out", default="results/bench")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(BENCH.parent / "scripts"))
    rows, failed = [], []
    started = time.perf_counter()
    for path in benchmarks():
        if args.only and path.stem not in args.only:
            continue
        print(f"== {path.stem} ({args.mode})", flush=True)
        try:
            result, seconds = run_benchmark(path, args.mode)
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)
            continue
        for row in result:
            rows.append({"benchmark": path.stem, **row, "seconds": round(seconds, 1)})
            print(f"   {row['name']}: {fmt(row['value'])} {row['unit']} vs {row['baseline']} "
                  f"{fmt(row['baseline_value'])} -> ratio {fmt(row['ratio'])}", flush=True)
    write_summary(args.out, args.mode, rows, failed, time.perf_counter() - started)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
