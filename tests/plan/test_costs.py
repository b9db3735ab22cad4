"""The cost model's requests: between 2x and 4x of the modelled time for every job of 15 s or more,
1.5x the modelled memory, and a calibration line for every rule the workflow runs."""
import numpy as np
import pytest
import yaml

from scaling import driver_value, envelope, merged
from support.config import ROOT, validated_config
from support.workflow import plan, planned_rules
from cellscape.model.architecture import layer_shapes
from cellscape.plan.build import build
from cellscape.plan.costs import (CALIBRATION, DRIVERS, FLOOR_MB, SHARED, CostModel, calibrated, request_mb,
                                  request_minutes)


@pytest.mark.parametrize("seconds", [15, 16, 29.9, 30, 30.1, 44, 61, 119, 600, 3599.5, 20000])
def test_a_job_of_15_s_or_more_asks_for_two_to_four_times_its_time(seconds):
    asked = 60 * request_minutes(seconds)
    assert 2 <= asked / seconds <= 4, (seconds, asked)


def test_short_jobs_ask_for_one_minute_and_a_retry_doubles_the_request():
    assert request_minutes(0.3) == request_minutes(14) == 1
    assert request_minutes(100, attempt=2) == 2 * request_minutes(100)
    assert request_mb(10) == FLOOR_MB
    assert request_mb(1000) == 1500 and request_mb(1000, attempt=2) == 3000


def test_the_envelope_covers_every_measured_job():
    rng = np.random.default_rng(0)
    x = rng.uniform(100, 5000, 40)
    y = 3 + 0.01 * x + rng.exponential(2, 40)
    a, b = envelope(x, y)
    assert np.all(a + b * x >= y - 1e-9)
    assert 0.005 < b < 0.015  # the slope follows the points, not the worst one
    assert envelope([7, 7, 7], [1.0, 3.0, 2.0]) == (3.0, 0.0)  # one size: the largest job
    assert envelope([1, 2, 3], [5.0, 3.0, 1.0])[1] == 0.0  # never a falling request


def test_every_rule_of_the_workflow_has_drivers_and_a_calibration(tmp_path):
    rules = set(planned_rules(tmp_path, config={"activations": {"jobs": "per_layer"}}))
    assert {"train", "dump_activations", "mda_activations", "featvis_chunk"} <= rules, rules
    for rule in rules:
        calibrated = SHARED.get(rule, rule)
        assert calibrated in DRIVERS, rule
        assert calibrated in CALIBRATION, f"{rule}: no line in calibration.json (run bench/scaling.py --calibrate)"


def test_requests_grow_with_what_drives_them():
    def model(events, **activations):
        cfg = validated_config({"simulator": {"events": events}, "activations": activations})
        return CostModel(cfg, layer_shapes(cfg["model"], cfg["image_size"], len(cfg["classes"])))
    default, large, huge = model(3000), model(100000), model(1000000)
    assert huge.runtime("ingest")(None, 1) > 5 * large.runtime("ingest")(None, 1)
    assert huge.mem_mb("export")(None, 1) > large.mem_mb("export")(None, 1)
    uncapped = model(1000000, max_cells=None)
    assert uncapped.mem_mb("explorer")(None, 1) > huge.mem_mb("explorer")(None, 1)  # it grows with the shown cells
    # after training the cap holds: the same requests at 100,000 and 1,000,000 events
    assert large.n_selected == huge.n_selected == 5625
    for rule in ("layer_metrics", "fig07_11_embedding", "mda_embed", "explorer", "neighbours"):
        assert large.runtime(rule)(None, 1) == huge.runtime(rule)(None, 1)
        assert large.mem_mb(rule)(None, 1) == huge.mem_mb(rule)(None, 1)
    assert default.n_selected < 5625
    assert default.runtime_training("train", 10)(None, 1) < large.runtime_training("train", 10)(None, 1)


def test_the_channel_ablation_asks_for_more_time_with_more_channels_and_cells():
    def model(n_channels):
        cfg = validated_config({"simulator": {"events": 100000}})
        channels = [{"name": f"stain{k}", "file": f"Ch{k}", "kind": "stain"} for k in range(n_channels)]
        return CostModel(cfg, layer_shapes(cfg["model"], cfg["image_size"], len(cfg["classes"])), channels=channels)
    assert model(1).channel_passes(1) == 3 * model(1).n_evaluated and model(1).n_evaluated == 20001  # the test fifth
    assert model(12).driver_value("channel_use") == 25 * model(1).n_evaluated
    one, twelve = (model(n).runtime("channel_use")(None, 1) for n in (1, 12))
    assert twelve > 5 * one


def test_the_scaling_benchmark_fits_the_drivers_the_rules_request_with(tmp_path):
    """bench/scaling.py reads each job's driver from the plan's cost model: for every planned job,
    the runtime Snakemake was given is the calibrated line at that value."""
    files = [ROOT / "config.yaml", ROOT / "configs" / "tiny.yaml"]
    overrides = {"activations": {"jobs": "per_layer"}, "concepts": {"measures": ["nucleus_area_ratio"]}}
    config = {}
    for layer in [yaml.safe_load(path.read_text()) for path in files] + [overrides]:
        config = merged(config, layer)
    the_plan = build(validated_config(config))
    checked, rules = set(), set()
    for job in plan(tmp_path, *files[1:], config=overrides):
        rule = SHARED.get(job.rule, job.rule)
        if job.rule == "all" or rule in ("train", "mda_train"):  # trainings: float32's cost, their own safety
            continue
        row = {"rule": job.rule, "wildcards": ", ".join(f"{k}={v}" for k, v in job.wildcards.items())}
        a, b = calibrated(rule)["time"]
        assert job.resources["runtime"] == request_minutes(a + b * driver_value(row, the_plan)), job
        checked.add(DRIVERS[rule][0])
        rules.add(rule)
    assert {"render", "values", "method_cells", "chunk_events", "channel_passes", "events", "cells"} <= checked
    assert {"cka", "concepts"} <= rules  # the similarity and concept stages' sizes are the plan's too
