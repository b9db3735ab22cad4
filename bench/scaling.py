"""How each rule's cost grows with the experiment's size: the workflow run end to end at several
simulated event counts, every job's wall time, CPU time and peak memory read from its
``benchmark:`` file beside what it asked the scheduler for, and each rule's growth exponent
(the slope of log cost against log events).

    .venv/bin/python bench/scaling.py --sizes 3000 6000 12000 24000 [--out results/scaling]

What is reduced to fit a few hours on two cores, and why (docs/scaling.md): training runs
``--epochs`` epochs (its cost per epoch is what grows; the number of epochs is a setting), the
regression net one epoch less, and ``activations.max_cells`` caps the cells after training
(the point of the cap: those stages stop growing). Everything else is the embedded default.
Each size runs in its own directory under ``--out``; a finished size is not rerun.
"""
import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def planned_jobs(workdir, configfiles, cores):
    """{benchmark path: {rule, wildcards, threads, mem_mb, runtime}} of every job of a forced plan,
    from Snakemake's Python API (cellscape.plan.dag)."""
    from cellscape.plan.dag import planned_jobs as plan
    jobs = {}
    for job in plan(workdir, configfiles, forceall=True, cores=cores):
        if job.benchmark is None:
            continue
        jobs[job.benchmark] = {
            "rule": job.rule, "wildcards": ", ".join(f"{k}={v}" for k, v in job.wildcards.items()),
            "threads": job.threads, "mem_mb": float(job.resources.get("mem_mb", "nan")),
            "runtime": float(job.resources.get("runtime", "nan"))}
    return jobs


def read_benchmark(path):
    """Snakemake's benchmark table: seconds, peak RSS (MB) and CPU seconds of the job."""
    with open(path) as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    number = lambda key: float(row[key]) if row.get(key) not in (None, "", "-", "NA") else float("nan")
    return {"seconds": number("s"), "max_rss_mb": number("max_rss"), "cpu_seconds": number("cpu_time")}


def timeline(results):
    """{rule: (first start, last end)} in minutes from the run's first job, from its benchmark files."""
    from run_timeline import jobs
    table = jobs(results)
    spans = table.groupby("rule").agg(first=("start", "min"), last=("end", "max")) / 60
    return {rule: (row["first"], row["last"]) for rule, row in spans.iterrows()}


def stage_timeline(spans):
    """{stage: (first start, last end)} in minutes, in DAG order."""
    stages = {}
    for rule, (first, last) in spans.items():
        if rule == "all":
            continue
        stage = stage_of(rule)
        a, b = stages.get(stage, (first, last))
        stages[stage] = (min(a, first), max(b, last))
    order = list(STAGES) + ["other"]
    return dict(sorted(stages.items(), key=lambda item: (item[1][0], order.index(item[0]))))


def after_training_seconds(rows):
    """{events: wall time summed over every job after ingestion and both trainings} (the stages
    the cap bounds)."""
    totals = {}
    for row in rows:
        if stage_of(row["rule"]) not in ("data", "training", "MDA training"):
            totals[row["events"]] = totals.get(row["events"], 0.0) + row["seconds"]
    return totals


def size_config(events, epochs, cap, results):
    return {"results": results, "simulator": {"events": events, "chunks": max(4, events // 1500)},
            "training": {"epochs": epochs, "patience": epochs},
            "mda": {"training": {"epochs": max(1, epochs - 1), "patience": epochs}},
            "activations": {"max_cells": cap}}


def run_size(events, epochs, cap, out, cores, base_config=REPO / "config.yaml", overrides=()):
    """Run the workflow at one size (unless done); its jobs' measured and requested costs.
    ``overrides``: config files laid over the size's settings (e.g. fewer feature images)."""
    workdir = out / f"events_{events}"
    workdir.mkdir(parents=True, exist_ok=True)
    override = workdir / "scaling.yaml"
    override.write_text(json.dumps(size_config(events, epochs, cap, "results")))
    base = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
            "--cores", str(cores), "--configfile", str(base_config), str(override), *map(str, overrides)]
    configfiles = [str(base_config), str(override), *map(str, overrides)]
    (workdir / "configfiles.json").write_text(json.dumps(configfiles))
    jobs = planned_jobs(workdir, configfiles, cores)
    done = workdir / "wall_seconds.txt"
    if not done.exists():
        t0 = time.perf_counter()
        with open(workdir / "snakemake.log", "w") as log:
            subprocess.run(base, stdout=log, stderr=subprocess.STDOUT, check=True)
        done.write_text(f"{time.perf_counter() - t0:.1f}\n")
    selection = workdir / "results" / "activations" / "selection.csv"
    cells = sum(1 for _ in open(selection)) - 1
    rows = []
    for path, job in jobs.items():
        measured = read_benchmark(workdir / path)
        rows.append({"events": events, "cells": cells, "workdir": str(workdir), "benchmark": path, **job, **measured})
    disk = sum(p.stat().st_size for p in (workdir / "results").rglob("*") if p.is_file())
    return rows, float(done.read_text()), disk


def growth_exponents(rows, measure="seconds"):
    """{rule: slope of log(total ``measure`` of the rule's jobs) against log(events)}."""
    totals = {}
    for row in rows:
        totals.setdefault(row["rule"], {}).setdefault(row["events"], 0.0)
        totals[row["rule"]][row["events"]] += row[measure]
    slopes = {}
    for rule, by_size in totals.items():
        sizes = sorted(by_size)
        if len(sizes) >= 2 and all(by_size[s] > 0 for s in sizes):
            slopes[rule] = float(np.polyfit(np.log(sizes), np.log([by_size[s] for s in sizes]), 1)[0])
    return slopes, totals


def run_config(workdir):
    """The validated config a size ran with (the embedded default, the base and its overrides)."""
    import yaml
    from snakemake.utils import validate
    recorded = workdir / "configfiles.json"
    if not recorded.exists():
        raise SystemExit(f"{workdir}: no configfiles.json (written when a size runs): run this size again")
    files = json.loads(recorded.read_text())
    config = {}
    for path in [REPO / "config.yaml", *files]:
        config = merged(config, yaml.safe_load(Path(path).read_text()) or {})
    validate(config, str(REPO / "schemas" / "config.schema.yaml"), set_default=True)
    return config


def merged(base, extra):
    out = dict(base)
    for key, value in extra.items():
        out[key] = merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def driver_value(row, plan):
    """A job's value of its rule's time driver, from the cost model the rules use
    (cellscape.plan.costs.CostModel.driver_value of the run's plan)."""
    from types import SimpleNamespace
    wildcards = dict(w.split("=", 1) for w in row["wildcards"].replace(" ", "").split(",") if w)
    model = plan.project_costs if row["rule"] in ("mda_activations", "mda_layers") else plan.costs
    return model.driver_value(row["rule"], SimpleNamespace(**wildcards))


def read_jobs(out):
    """The job rows an earlier run of this benchmark wrote to ``out/jobs.csv``."""
    numbers = {"events", "cells", "threads"}
    rows = []
    with open(Path(out) / "jobs.csv") as f:
        for row in csv.DictReader(f):
            for key, value in row.items():
                if key in numbers:
                    row[key] = int(float(value))
                elif key in ("mem_mb", "runtime", "seconds", "max_rss_mb", "cpu_seconds"):
                    row[key] = float(value)
            row.setdefault("workdir", str(Path(out) / f"events_{row['events']}"))
            rows.append(row)
    return rows


def with_drivers(rows):
    """Each row with ``x``: its time driver's value, and ``x_memory``: its memory driver's."""
    sys.path.insert(0, str(REPO / "scripts"))
    from cellscape.plan.build import build
    from cellscape.plan.costs import DRIVERS, SHARED
    plans = {}
    for row in rows:
        row["calibrated"] = SHARED.get(row["rule"], row["rule"])
        workdir = row["workdir"]
        if workdir not in plans:
            plans[workdir] = build(run_config(Path(workdir)))
        plan = plans[workdir]
        row["x"] = driver_value(row, plan)
        memory = DRIVERS[row["calibrated"]][1]
        row["x_memory"] = plan.costs.memory_value(memory) if memory else None
    return rows


def envelope(x, y):
    """(intercept, slope): the least-squares slope (at least 0), the intercept raised until the
    line lies on or above every measured point (a request must cover every job)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope = max(float(np.polyfit(x, y, 1)[0]), 0.0) if np.ptp(x) > 0 else 0.0
    return max(float(np.max(y - slope * x)), 0.0), slope


def calibration(rows):
    """{rule: {"time": (a, b), "memory": (c, d)}}: cellscape.plan.costs.CALIBRATION, lines
    fitted to every measured job (``with_drivers`` rows) in its rule's drivers. Peaks under 20 MB
    are jobs too short for the benchmark to sample and are left out."""
    from cellscape.plan.costs import DRIVERS
    fits = {}
    # renders share one cost per GFLOP: a render rule measured at one work size (the same
    # channels and steps at every size) takes featvis_chunk's slope
    chunk = [row for row in rows if row["calibrated"] == "featvis_chunk"]
    render_slope = envelope([j["x"] for j in chunk], [j["seconds"] for j in chunk])[1] if chunk else 0.0
    for rule in sorted({row["calibrated"] for row in rows}, key=lambda r: r != "featvis_chunk"):
        jobs = [row for row in rows if row["calibrated"] == rule]
        x, y = np.array([j["x"] for j in jobs], float), np.array([j["seconds"] for j in jobs], float)
        a, b = envelope(x, y)
        if DRIVERS[rule][0] == "render" and np.ptp(x) == 0:
            b = render_slope
            a = max(float(np.max(y - b * x)), 0.0)
        fits[rule] = {"time": (round(a, 2), float(f"{b:.4g}"))}
        sampled = [j for j in jobs if j["max_rss_mb"] >= 20]
        if DRIVERS[rule][1] is not None:
            c, d = envelope([j["x_memory"] for j in sampled], [j["max_rss_mb"] for j in sampled]) if sampled else (0, 0)
            fits[rule]["memory"] = (round(c), float(f"{d:.4g}"))
    return fits


#: stages for the plot: rule name prefixes, in DAG order
STAGES = {"data": ("simulate_chunk", "ingest", "fig02"), "training": ("train",),
          "dumps": ("dump_layers", "dump_activations", "select_images"),
          "embeddings and metrics": ("embed", "layer_metrics", "fig07", "fig12"),
          "feature images": ("featvis", "fig13", "fig14", "fig15", "fig16", "fig17", "fig18"),
          "attribution": ("attribution", "fig19"), "MDA training": ("mda_train", "mda_targets"),
          "MDA maps": ("mda", "fig20", "fig22"),
          "explorer and export": ("explorer", "export"), "model figures": ("fig01",)}


def stage_of(rule):
    return next((stage for stage, prefixes in STAGES.items() if rule.startswith(prefixes)), "other")


def plot(rows, path):
    """Log-log wall time per stage against events, each with its fitted exponent over every size
    and over the sizes where the cap binds (the most cells)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    staged = [{**row, "rule": stage_of(row["rule"])} for row in rows]
    slopes, totals = growth_exponents(staged)
    most = max(row["cells"] for row in rows)
    capped = sorted({row["events"] for row in rows if row["cells"] == most})
    capped_slopes = growth_exponents([r for r in staged if r["events"] in capped])[0] if len(capped) > 1 else {}
    fig, ax = plt.subplots(figsize=(10, 5.2))
    for stage in [s for s in STAGES if s in totals] + (["other"] if "other" in totals else []):
        sizes = sorted(totals[stage])
        label = f"{stage}: {slopes.get(stage, float('nan')):.2f}"
        if stage in capped_slopes:
            label += f" / {capped_slopes[stage]:.2f}"
        ax.plot(sizes, [totals[stage][s] for s in sizes], "o-", label=label)
    if len(capped) > 1:
        ax.axvspan(capped[0], capped[-1], color="0.85", alpha=0.5, zorder=0)
        ax.text(capped[0] * 1.03, ax.get_ylim()[1] * 0.7, f"cap binds:\n{most:,} cells after training", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("simulated events")
    ax.set_ylabel("wall time summed over the stage's jobs (s)")
    ax.set_title("Cost per stage against the experiment's size")
    ax.legend(title="stage: exponent, all sizes / where the cap binds", fontsize=8, title_fontsize=8,
              loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    return slopes


def tables(rows, sizes):
    """Markdown: per rule, total wall time at each size and the exponent; requested against
    measured (the lowest and highest ratio over the rule's jobs and sizes)."""
    slopes, totals = growth_exponents(rows)
    memory = growth_exponents(rows, "max_rss_mb")[0]
    head = "| rule | " + " | ".join(f"{s:,} events (s)" for s in sizes) + " | time exponent | peak-RSS exponent |"
    lines = [head, "|" + "---|" * (len(sizes) + 3)]
    for rule in sorted(totals, key=lambda r: -totals[r][sizes[-1]] if sizes[-1] in totals[r] else 0):
        cells = " | ".join(f"{totals[rule].get(s, float('nan')):.1f}" for s in sizes)
        lines.append(f"| `{rule}` | {cells} | {slopes.get(rule, float('nan')):.2f} | {memory.get(rule, float('nan')):.2f} |")
    lines += ["", "| rule | jobs | peak RSS (MB), largest | mem_mb asked / peak (min-max) | "
              "runtime asked / measured, jobs of 15 s or more (min-max) | jobs under 15 s (asked 1 min) |",
              "|---|---|---|---|---|---|"]
    by_rule = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    for rule, jobs in sorted(by_rule.items()):
        # a peak under 20 MB is a job too short for the benchmark to sample
        mem = [j["mem_mb"] / j["max_rss_mb"] for j in jobs if j["max_rss_mb"] >= 20]
        rt = [60 * j["runtime"] / j["seconds"] for j in jobs if j["seconds"] >= 15]
        short = sum(j["seconds"] < 15 for j in jobs)
        span = lambda v: f"{min(v):.2f}-{max(v):.2f}" if v else "-"
        lines.append(f"| `{rule}` | {len(jobs)} | {max(j['max_rss_mb'] for j in jobs):.0f} | "
                     f"{span(mem) if mem else 'not sampled'} | {span(rt)} | {short} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 6000, 12000, 24000])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--cap", type=int, default=2000, help="activations.max_cells")
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "scaling")
    parser.add_argument("--config", type=Path, default=REPO / "config.yaml",
                        help="the configuration scaled (default: the embedded default; configs/tiny.yaml to try it)")
    parser.add_argument("--calibrate-with", type=Path, nargs="*", default=[],
                        help="other --out folders of this benchmark whose jobs join the calibration")
    parser.add_argument("--calibrate", action="store_true",
                        help="write the cost model's lines fitted to these runs into scripts/cellscape/plan/calibration.json")
    parser.add_argument("--override", type=Path, nargs="*", default=[],
                        help="config files laid over each size's settings (bench/paper_scale.yaml for configs/paper.yaml)")
    args = parser.parse_args(argv)
    rows, summary = [], []
    for events in args.sizes:
        size_rows, wall, disk = run_size(events, args.epochs, args.cap, args.out, args.cores, args.config.resolve(),
                                         [p.resolve() for p in args.override])
        rows += size_rows
        peak = max(size_rows, key=lambda r: r["max_rss_mb"])
        after = after_training_seconds(size_rows)[events]
        stages = stage_timeline(timeline(args.out / f"events_{events}" / "results"))
        summary.append({"events": events, "wall_seconds": wall, "disk_gb": disk / 2 ** 30,
                        "peak_rss_mb": peak["max_rss_mb"], "peak_rule": peak["rule"],
                        "after_training_seconds": after, "timeline_minutes": stages})
        print(f"{events} events: {wall:.0f} s, {disk / 2 ** 30:.2f} GB, peak {peak['max_rss_mb']:.0f} MB "
              f"({peak['rule']}), after training {after:.0f} s summed over jobs", flush=True)
        for stage, (first, last) in stages.items():
            print(f"    {stage:24s} minutes {first:6.1f} - {last:6.1f}")
    with open(args.out / "jobs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    fits = calibration(with_drivers(rows + [row for out in args.calibrate_with for row in read_jobs(out)]))
    text = "{\n" + ",\n".join(f" {json.dumps(rule)}: {json.dumps(fits[rule])}" for rule in sorted(fits)) + "\n}\n"
    (args.out / "calibration.json").write_text(text)
    if args.calibrate:
        (REPO / "scripts" / "cellscape" / "plan" / "calibration.json").write_text(text)
    slopes, totals = growth_exponents(rows)
    (args.out / "summary.json").write_text(json.dumps({"sizes": summary, "exponents": slopes,
                                                       "seconds": totals}, indent=1))
    stage_slopes = plot(rows, args.out / "scaling.png")
    (args.out / "tables.md").write_text(tables(rows, sorted(args.sizes)))
    print("stages:", {stage: round(slope, 2) for stage, slope in stage_slopes.items()})
    over = [r for r in rows if r["max_rss_mb"] > r["mem_mb"] or r["seconds"] > 60 * r["runtime"]]
    for rule, slope in sorted(slopes.items(), key=lambda item: -item[1]):
        print(f"{rule:28s} exponent {slope:5.2f}")
    for r in over:
        print(f"REQUEST BELOW MEASURED: {r['benchmark']} at {r['events']}: {r['max_rss_mb']:.0f} MB of "
              f"{r['mem_mb']:.0f}, {r['seconds']:.0f} s of {60 * r['runtime']:.0f}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
