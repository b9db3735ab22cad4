"""The benchmarks keep running: every ``bench/bench_*.py`` through ``run_all``'s smoke mode (its
code path on tiny sizes, seconds each), so a change that breaks a benchmark fails the suite and
not the next ``make bench``. The numbers of a smoke run mean nothing; that each measure comes
with a baseline measured in the same run, and finite numbers, is what is checked."""
import csv
import math
import os
import shutil
import subprocess

import pytest

import run_all

BROWSER_BENCHMARKS = {"bench_explorer"}
BENCHMARKS = [path.stem for path in run_all.benchmarks()]
#: units of times, rates and sizes: a measured one is positive, and so is its baseline
POSITIVE_UNITS = {"s", "ms", "images/s", "events/s", "GFLOP/s", "B/cell", "GB"}


def assert_measured_against_baselines(rows):
    assert rows, "no rows"
    for row in rows:
        for key in ("value", "baseline_value", "ratio"):
            assert isinstance(row[key], (int, float)) and math.isfinite(row[key]), (row["name"], key, row[key])
        assert row["baseline"], row["name"]
        if row["unit"] in POSITIVE_UNITS:
            assert row["value"] > 0 and row["baseline_value"] > 0, row


def test_every_benchmark_file_is_run():
    assert set(BENCHMARKS) >= {"bench_activations", "bench_bsdr", "bench_embedding", "bench_explorer",
                               "bench_featvis", "bench_ingest", "bench_malloc", "bench_mda", "bench_training"}


@pytest.mark.parametrize("name", [name for name in BENCHMARKS if name not in BROWSER_BENCHMARKS])
def test_benchmark_measures_every_row_against_a_baseline_of_the_same_run(name):
    rows, _ = run_all.run_benchmark(run_all.BENCH / f"{name}.py", "smoke")
    assert_measured_against_baselines(rows)


def regl_bundle():
    """The explorer benchmark's library baseline, built as ``make bench`` builds it (npm)."""
    from bench_explorer import BUNDLE, ROOT
    if not BUNDLE.exists() and shutil.which("npm"):
        subprocess.run(["bash", str(ROOT / "tools" / "explorer_bundle" / "build.sh")], check=False,
                       capture_output=True, timeout=600)
    if not BUNDLE.exists():
        problem = f"no {BUNDLE} (tools/explorer_bundle/build.sh needs Node.js and the npm registry)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the explorer benchmark cannot run under CI: {problem}")
        pytest.skip(problem)


@pytest.mark.slow
def test_explorer_benchmark_measures_the_page_against_the_one_layer_page_and_regl_scatterplot():
    from support.browser import require_browser
    require_browser()
    regl_bundle()
    rows, _ = run_all.run_benchmark(run_all.BENCH / "bench_explorer.py", "smoke")
    assert_measured_against_baselines(rows)
    names = {row["name"].rsplit("_", 1)[0] for row in rows}
    assert {"page_ready", "pan_zoom_frame_median", "lasso_selection_update", "select_20pct_update",
            "hover_to_thumbnail"} <= names
    # the lasso selected cells, and the regl-scatterplot baseline was measured
    lasso = next(row for row in rows if row["name"].startswith("lasso_selection_update_"))
    assert lasso["value"] > 0
    assert any(row["baseline"].startswith("regl-scatterplot") for row in rows)


def test_a_row_without_a_same_run_baseline_fails_its_benchmark():
    good = {"name": "x", "value": 1.0, "unit": "s", "baseline": "y", "baseline_value": 2.0, "ratio": 2.0}
    assert run_all.row_problems([good]) == []
    assert run_all.row_problems([]) == ["no rows"]
    assert run_all.row_problems([{**good, "baseline_value": None, "ratio": None}]) == [
        "'x': baseline_value is None", "'x': ratio is None"]
    assert run_all.row_problems([{**good, "ratio": float("nan")}]) == ["'x': ratio is nan"]


def test_summary_lists_each_benchmark_and_failures(tmp_path):
    rows = [{"benchmark": "bench_a", "name": "m", "value": 1.5, "unit": "s", "baseline": "b",
             "baseline_value": 3.0, "ratio": 2.0, "seconds": 4.0}]
    run_all.write_summary(tmp_path, "smoke", rows, ["bench_b"], 5.0)
    text = (tmp_path / "summary.md").read_text()
    assert "| bench_a | m | 1.5 | s | b | 3 | 2 | 4.0 |" in text and "Failed: bench_b" in text
    with open(tmp_path / "summary.csv") as f:
        assert [r["benchmark"] for r in csv.DictReader(f)] == ["bench_a"]
