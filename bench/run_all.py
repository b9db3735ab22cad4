"""Run every benchmark under bench/ and write results/bench/summary.{md,csv}.

Each ``bench/bench_*.py`` exposes ``run(quick=True) -> list of rows`` with keys
``name, value, unit, baseline, baseline_value, ratio``: a figure and its baseline measured in
the same run. ``--mode quick`` (default, < 10 minutes on 2 cores) or ``--mode full``.
"""
import argparse
import csv
import importlib.util
import sys
import time
import traceback
from pathlib import Path

BENCH = Path(__file__).resolve().parent
def fmt(value):
    return "-" if value is None else (f"{value:.4g}" if isinstance(value, (int, float)) else str(value))


FIELDS = ["benchmark", "name", "value", "unit", "baseline", "baseline_value", "ratio", "seconds"]


def load(path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["quick", "full"], default="quick")
    parser.add_argument("--only", nargs="*", help="benchmark file stems to run, e.g. bench_training")
    parser.add_argument("--out", default="results/bench")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(BENCH.parent / "scripts"))
    rows, failed = [], []
    for path in sorted(BENCH.glob("bench_*.py")):
        if args.only and path.stem not in args.only:
            continue
        print(f"== {path.stem} ({args.mode})", flush=True)
        t0 = time.perf_counter()
        try:
            result = load(path).run(quick=args.mode == "quick")
        except Exception:
            traceback.print_exc()
            failed.append(path.stem)
            continue
        seconds = time.perf_counter() - t0
        for row in result:
            rows.append({"benchmark": path.stem, **row, "seconds": round(seconds, 1)})
            print(f"   {row['name']}: {fmt(row['value'])} {row['unit']} vs {row['baseline']} "
                  f"{fmt(row['baseline_value'])} -> ratio {fmt(row['ratio'])}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    lines = [f"# Benchmarks ({args.mode} mode)", "",
             "| benchmark | measure | value | unit | baseline (same run) | baseline value | ratio |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['benchmark']} | {r['name']} | {fmt(r['value'])} | {r['unit']} | {r['baseline']} | "
                     f"{fmt(r['baseline_value'])} | {fmt(r['ratio'])} |")
    if failed:
        lines += ["", f"Failed: {', '.join(failed)}"]
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'summary.md'} and {out / 'summary.csv'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
