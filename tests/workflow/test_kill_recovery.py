"""A whole run killed as users kill it (kill -9 of snakemake and its jobs: a closed laptop, a login
node's time limit), recovered with the documented commands (README, "Interrupted runs"), gives the
results of a run nobody killed: the same predictions, embeddings and feature images (also the
determinism check: two runs with one seed and one --cores agree exactly on CPU)."""
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from support.workflow import REPO, SNAKEMAKE, plan, snakemake

TINY = REPO / "configs" / "tiny.yaml"
#: the documented command line (README): the default profile, here with the tiny_run fixture's --cores
RUN = ["--profile", str(REPO / "profiles" / "default"), "--cores", "8", "--configfile", str(TINY)]
UNLOCK = ["--unlock", "--configfile", str(TINY)]  # what `make unlock CONFIG=configs/tiny.yaml` runs
TIMING_COLUMNS = {"seconds", "train_seconds"}


#: what the recovered run is compared on with the tiny run (the files it is asked for)
COMPARED = {"tables": ["model/predictions.csv", "model/history.csv", "embeddings/*/*.csv"],
            "arrays": ["featvis/*/*.npz", "activations/*/reduced.npy"]}


def compared_files(results):
    """The compared files of a finished run, relative to the working directory's results parent."""
    return sorted(str(Path("results") / "tiny" / p.relative_to(results))
                  for pattern in COMPARED["tables"] + COMPARED["arrays"] for p in results.glob(pattern))


def start_run(workdir, log, targets):
    """The run in its own process group (snakemake and every job it starts)."""
    return subprocess.Popen(SNAKEMAKE + ["--directory", str(workdir), *targets, *RUN], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def kill_when(run, moment, what, timeout=1200):
    """kill -9 the run's whole process group as soon as ``moment()`` holds."""
    deadline = time.monotonic() + timeout
    while not moment():
        assert run.poll() is None, f"the run ended (rc {run.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no moment {what} within {timeout} s"
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()


def running_featvis_chunk(results):
    """A feature-visualisation chunk job has started (its log is there) and not finished."""
    for log in (results / "logs" / "featvis").glob("*_chunk*.log"):
        layer, chunk = log.stem.split("_chunk")
        if log.stat().st_size and not (results / "featvis" / layer / f"chunk{chunk}.npz").exists():
            return True
    return False


def assert_same_tables(ours, theirs, pattern):
    paths = sorted(p.relative_to(theirs) for p in theirs.glob(pattern))
    assert paths, pattern
    for path in paths:
        a, b = pd.read_csv(ours / path), pd.read_csv(theirs / path)
        keep = [c for c in b.columns if c not in TIMING_COLUMNS]
        pd.testing.assert_frame_equal(a[keep], b[keep], check_exact=True, obj=str(path))


def assert_same_arrays(ours, theirs, pattern):
    paths = sorted(p.relative_to(theirs) for p in theirs.glob(pattern))
    assert paths, pattern
    for path in paths:
        a, b = np.load(ours / path), np.load(theirs / path)
        if path.suffix == ".npy":
            np.testing.assert_array_equal(a, b, err_msg=str(path))
            continue
        assert sorted(a.files) == sorted(b.files), path
        for key in sorted(set(b.files) - TIMING_COLUMNS):
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{path}: {key}")


@pytest.mark.slow
def test_run_killed_during_training_and_feature_visualisation_recovers_to_the_same_results(tiny_run, tmp_path):
    workdir = tmp_path / "killed"
    workdir.mkdir()
    results = workdir / "results" / "tiny"
    theirs = tiny_run / "results" / "tiny"
    # the documented command with the compared files as targets (figures, MDA, explorer and export
    # recover as these do; the tiny run tests that they are made)
    targets = compared_files(theirs)
    with open(tmp_path / "run.log", "w") as log:
        # 1. killed while the classifier trains, after its first checkpoint
        kill_when(start_run(workdir, log, targets), lambda: (results / "model" / "checkpoint.pt").exists()
                  and not (results / "model" / "metrics.json").exists(), "the classifier's first checkpoint")
        # the same command again is refused, and the message says what to do
        refused = snakemake(workdir, *targets, *RUN)
        assert refused.returncode != 0 and "cannot be locked" in refused.stdout + refused.stderr
        assert "--unlock" in refused.stdout + refused.stderr
        # the documented recovery: unlock, then the same command
        unlocked = snakemake(workdir, *UNLOCK)
        assert unlocked.returncode == 0, unlocked.stderr[-3000:]
        # 2. killed again while feature-visualisation jobs run
        kill_when(start_run(workdir, log, targets), lambda: running_featvis_chunk(results), "a feature-visualisation job")
        assert snakemake(workdir, *UNLOCK).returncode == 0
        final = start_run(workdir, log, targets)
        assert final.wait(timeout=1500) == 0, (tmp_path / "run.log").read_text()[-5000:]
    assert "resumed from" in (results / "logs" / "train.log").read_text()
    assert plan(workdir, TINY, targets=targets) == []  # nothing left to do
    assert compared_files(results) == targets
    for pattern in COMPARED["tables"]:
        assert_same_tables(results, theirs, pattern)
    for pattern in COMPARED["arrays"]:
        assert_same_arrays(results, theirs, pattern)


def fake_make(tmp_path, target, locked, *variables):
    """`make <target>` of the repository's Makefile with a stand-in snakemake that records its
    arguments and fails (the lock error); ``locked``: whether a lock is left behind."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "snakemake"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'args'}\nexit 1\n")
    fake.chmod(0o755)
    (tmp_path / "stamp").touch()
    locks = tmp_path / "locks"
    locks.mkdir(exist_ok=True)
    if locked:
        (locks / "0.output.lock").write_text("results/tiny/data/images.npy\n")
    r = subprocess.run(["make", "-s", "-C", str(REPO), target, f"BIN={bin_dir}", f"STAMP={tmp_path / 'stamp'}",
                        f"LOCKS={locks}", *variables], capture_output=True, text=True, timeout=60)
    return r, (tmp_path / "args").read_text().split()


def test_make_run_failing_on_a_left_lock_says_how_to_recover(tmp_path):
    r, args = fake_make(tmp_path, "run", True, "CONFIG=configs/mydata.yaml")
    assert r.returncode != 0
    assert "make unlock CONFIG=configs/mydata.yaml" in r.stderr, r.stderr
    assert args[args.index("--configfile") + 1] == "configs/mydata.yaml"


def test_make_run_failing_without_a_lock_gives_no_unlock_hint(tmp_path):
    r, _ = fake_make(tmp_path, "run", False)
    assert r.returncode != 0 and "unlock" not in r.stderr, r.stderr


def test_make_unlock_runs_snakemake_unlock_with_the_runs_config(tmp_path):
    _, args = fake_make(tmp_path, "unlock", True, "CONFIG=configs/tiny.yaml")
    assert args == ["--unlock", "--configfile", "configs/tiny.yaml"]
