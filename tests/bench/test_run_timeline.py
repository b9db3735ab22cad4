"""A run's timeline from its benchmark files: starts, ends and CPU per stage."""
import os

import pytest

import run_timeline

HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write(results, name, seconds, cpu, end):
    path = results / "benchmarks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t100.0\t1\t1\t1\t0\t0\t0\t{cpu}\n")
    os.utime(path, (end, end))


def test_jobs_start_when_they_end_less_their_seconds_and_stages_sum_their_cpu(tmp_path):
    write(tmp_path, "ingest.tsv", 30, 25, 1000 + 30)
    write(tmp_path, "train.tsv", 600, 1100, 1000 + 630)
    write(tmp_path, "embeddings/conv1.tsv", 60, 50, 1000 + 700)
    write(tmp_path, "embeddings/conv2.tsv", 60, 55, 1000 + 720)
    table = run_timeline.jobs(tmp_path)
    assert table["job"].tolist() == ["ingest", "train", "embeddings/conv1", "embeddings/conv2"]
    assert table["start"].tolist() == pytest.approx([0, 30, 640, 660])
    stages = run_timeline.stages(table)
    embeddings = stages.loc[run_timeline.stage_of("embed")]
    assert embeddings["jobs"] == 2 and embeddings["cpu_seconds"] == 105
    assert embeddings["start_min"] == pytest.approx(640 / 60, abs=0.05) and embeddings["end_min"] == 12.0
