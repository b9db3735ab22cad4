"""Where a finished run's wall time went, from its benchmark files alone (machine-readable: each
rule's ``benchmark:`` table gives the job's seconds and CPU seconds, the file's modification time
its end), grouped by stage as bench/scaling.py groups them.

    PYTHONPATH=scripts .venv/bin/python bench/run_timeline.py results [--markdown]
"""
import argparse
from pathlib import Path

import pandas as pd

from scaling import read_benchmark, stage_of


def jobs(results):
    """One row per benchmarked job: rule (the file's first path part), start and end in seconds
    from the first job's start, seconds, CPU seconds, peak RSS."""
    rows = []
    for path in sorted((Path(results) / "benchmarks").rglob("*.tsv")):
        relative = path.relative_to(Path(results) / "benchmarks")
        rule = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        measured = read_benchmark(path)
        end = path.stat().st_mtime
        rows.append({"rule": rule, "job": str(relative.with_suffix("")), "end": end,
                     "start": end - measured["seconds"], **measured})
    table = pd.DataFrame(rows)
    origin = table["start"].min()
    table[["start", "end"]] -= origin
    return table.sort_values("start", ignore_index=True)


def stages(table):
    """Per stage: first start and last end (minutes), jobs, CPU seconds summed."""
    table = table.assign(stage=table["rule"].map(stage_of))
    grouped = table.groupby("stage").agg(start_min=("start", "min"), end_min=("end", "max"), jobs=("job", "count"),
                                         cpu_seconds=("cpu_seconds", "sum"), wall_seconds=("seconds", "sum"),
                                         peak_rss_mb=("max_rss_mb", "max"))
    grouped[["start_min", "end_min"]] /= 60
    return grouped.sort_values("start_min").round(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    table = jobs(args.results)
    summary = stages(table)
    print(summary.to_markdown() if args.markdown else summary.to_string())
    print(f"\n{len(table)} jobs, {table['end'].max() / 60:.1f} min from the first job's start to the last job's end, "
          f"{table['cpu_seconds'].sum():.0f} CPU seconds")
    top = table.nlargest(8, "cpu_seconds")[["job", "start", "end", "seconds", "cpu_seconds"]]
    print(top.round(1).to_string(index=False))


if __name__ == "__main__":
    main()
