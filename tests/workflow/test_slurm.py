"""The SLURM profile runs workflows on a real (single-node, localhost) SLURM cluster.

`tests/slurm/cluster.sh up` installs Debian's slurm + munge when missing and starts the
daemons; the session fixture `slurm_cluster` calls it once and `down` at the end. The tests
run toy workflows through `snakemake --profile profiles/slurm` and check that jobs really went
through sbatch, that a failing job fails the run, and that a rerun continues from the
finished outputs. Running the real workflow through the profile is a few lines:

    def test_tiny_workflow_runs_on_slurm(slurm_cluster, tmp_path):
        result = run_snakemake_on_slurm(
            tmp_path, ["--snakefile", str(REPO / "Snakefile"),
                       "--configfile", str(REPO / "configs/tiny.yaml"),
                       *fit_to_cluster_args(slurm_cluster, ["train", "dump_layers", "embed", "featvis"])])
        assert result.returncode == 0, result.stdout
        assert submitted_slurm_jobs(tmp_path)

Needs root (it installs packages and starts daemons): skipped otherwise, or when apt cannot
install the packages -- except under CI=true, where both are failures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "tests" / "slurm" / "cluster.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm"
VENV_BIN = Path(sys.executable).parent
SNAKEMAKE = VENV_BIN / "snakemake"

# cluster.sh exit codes that mean "this machine cannot host the test cluster"
EXIT_NOT_ROOT = 2
EXIT_APT_FAILED = 3

# The first status check comes this many seconds after a submission: short, so the toy
# workflows finish quickly (the profile's 20 s suits real clusters).
FAST_STATUS_CHECK_ARGS = ["--slurm-init-seconds-before-status-checks", "2"]
TOY_TIMEOUT_S = 240  # a toy run takes < 60 s; a hang (unread job states) fails in minutes



@dataclass(frozen=True)
class SlurmCluster:
    """What the running test cluster offers; tests size their jobs to fit it."""

    node: str
    cpus: int
    memory_mb: int


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _skip_or_fail(reason: str) -> None:
    """Machines that cannot host a cluster skip the tests; CI must not silently skip them."""
    if _in_ci():
        pytest.fail(f"SLURM tests cannot run under CI: {reason}")
    pytest.skip(reason)


def _cluster(command: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(CLUSTER_SCRIPT), command],
        capture_output=True, text=True, timeout=timeout_s,
    )


def _read_cluster() -> SlurmCluster:
    line = subprocess.run(
        ["sinfo", "--Node", "--noheader", "--format=%N|%c|%m"],
        capture_output=True, text=True, check=True,
    ).stdout.split()[0]
    node, cpus, memory_mb = line.split("|")
    return SlurmCluster(node=node, cpus=int(cpus), memory_mb=int(memory_mb))


@pytest.fixture(scope="session")
def slurm_cluster():
    """A running single-node SLURM cluster for the whole session.

    Brought down at the end unless it was already up before the session (someone is using
    it) or CELLSCAPE_SLURM_KEEP=1 (to inspect it after a failure).
    """
    if os.geteuid() != 0:
        _skip_or_fail("needs root to install and start SLURM (tests/slurm/cluster.sh)")
    was_up = _cluster("status", 30).returncode == 0
    started = time.monotonic()
    up = _cluster("up", 1200)
    output = up.stdout + up.stderr
    if up.returncode == EXIT_NOT_ROOT:
        _skip_or_fail(f"cluster.sh up: not root\n{output}")
    if up.returncode == EXIT_APT_FAILED:
        _skip_or_fail(f"apt cannot install slurm/munge\n{output}")
    if up.returncode != 0:
        pytest.fail(f"cluster.sh up failed (exit {up.returncode}):\n{output}")
    print(f"SLURM cluster up in {time.monotonic() - started:.1f} s", file=sys.stderr)
    yield _read_cluster()
    if not was_up and os.environ.get("CELLSCAPE_SLURM_KEEP") != "1":
        down = _cluster("down", 120)
        assert down.returncode == 0, down.stdout + down.stderr


def run_snakemake_on_slurm(workdir, args=(), timeout_s: float = 900) -> subprocess.CompletedProcess:
    """Run snakemake with the SLURM profile in `workdir`; stdout holds stdout+stderr.

    `args` are extra command-line arguments (e.g. --snakefile, --configfile, targets). They
    override the profile's values for the same options.
    """
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    command = [
        str(SNAKEMAKE), "--profile", str(SLURM_PROFILE), "--directory", str(workdir),
        *FAST_STATUS_CHECK_ARGS, *args,
    ]
    try:
        result = subprocess.run(
            command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as expired:
        # A run that never ends usually means job states are not being read (see
        # docs/cluster.md, "Job status without accounting").
        partial = expired.stdout or ""
        if isinstance(partial, bytes):
            partial = partial.decode(errors="replace")
        pytest.fail(f"snakemake did not finish within {timeout_s} s:\n{partial}")
    (Path(workdir) / "snakemake_slurm_run.log").write_text(result.stdout)
    return result


def fit_to_cluster_args(cluster: SlurmCluster, rules=()) -> list[str]:
    """Arguments that shrink the profile's per-rule threads and memory to the test node.

    The profile's set-resources/set-threads are sized for a real cluster; SLURM rejects
    jobs that ask for more than the single test node has.
    """
    args = ["--max-threads", str(cluster.cpus)]
    if rules:
        memory_mb = fitted_memory_mb(cluster)
        args += ["--set-resources", *[f"{rule}:mem_mb={memory_mb}" for rule in rules]]
    return args


def fitted_memory_mb(cluster: SlurmCluster) -> int:
    """Memory per heavy job on the test node: a quarter, so a few jobs fit side by side."""
    return max(500, cluster.memory_mb // 4)


def submitted_slurm_jobs(workdir: Path) -> dict[str, list[int]]:
    """SLURM job ids per rule of the jobs run from ``workdir``, as slurmctld lists them: the
    plugin puts the rule in each job's comment (``rule_<name>`` or
    ``rule_<name>_wildcards_<values>``)."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%k|%Z"],
        capture_output=True, text=True, check=True,
    ).stdout
    jobs: dict[str, list[int]] = {}
    for line in out.splitlines():
        job_id, comment, directory = line.strip().split("|")
        if Path(directory).resolve() != Path(workdir).resolve() or not comment.startswith("rule_"):
            continue
        rule = comment[len("rule_"):].split("_wildcards_")[0]
        jobs.setdefault(rule, []).append(int(job_id))
    return {rule: sorted(ids) for rule, ids in jobs.items()}


def slurm_job_record(job_id: int) -> dict[str, str]:
    """State and allocation of a (recently) finished job, as slurmctld recorded it."""
    fields = ["state", "cpus", "min_memory", "time_limit", "name"]
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", f"--jobs={job_id}", "--format=%T|%C|%m|%l|%j"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    return dict(zip(fields, out.split("|")))


def write_snakefile(workdir: Path, text: str) -> Path:
    path = workdir / "Snakefile"
    path.write_text(textwrap.dedent(text))
    return path


THREE_STEP_WORKFLOW = """
    rule all:
        input: "c.txt"

    rule a:
        output: "a.txt"
        threads: 1
        resources: mem_mb=100, runtime=2
        shell: "echo $SLURM_JOB_ID > {output}"

    # named like the real training rule, so the profile's set-threads applies to it
    rule train:
        input: "a.txt"
        output: "b.txt"
        threads: 1
        shell: "sleep 3; echo $SLURM_JOB_ID $SLURM_CPUS_PER_TASK > {output}"

    rule c:
        input: "b.txt"
        output: "c.txt"
        shell: "cat {input} > {output}; echo $SLURM_JOB_ID >> {output}"
"""


def test_profile_runs_every_rule_as_a_slurm_job(slurm_cluster, tmp_path):
    write_snakefile(tmp_path, THREE_STEP_WORKFLOW)
    profile = yaml.safe_load((SLURM_PROFILE / "config.yaml").read_text())
    profile_train_threads = profile["set-threads"]["train"]
    expected_cpus = min(profile_train_threads, slurm_cluster.cpus)

    result = run_snakemake_on_slurm(
        tmp_path, fit_to_cluster_args(slurm_cluster, ["train"]), timeout_s=TOY_TIMEOUT_S
    )

    assert result.returncode == 0, result.stdout
    jobs = submitted_slurm_jobs(tmp_path)
    assert sorted(jobs) == ["a", "c", "train"], result.stdout
    job_a, job_train, job_c = jobs["a"][0], jobs["train"][0], jobs["c"][0]
    # each output was written inside the SLURM job the plugin reported for its rule
    assert (tmp_path / "a.txt").read_text().split() == [str(job_a)]
    assert (tmp_path / "b.txt").read_text().split() == [str(job_train), str(expected_cpus)]
    assert (tmp_path / "c.txt").read_text().split() == [
        str(job_train), str(expected_cpus), str(job_c)
    ]
    # the rule's mem_mb and runtime reached sbatch
    record_a = slurm_job_record(job_a)
    assert record_a["state"] == "COMPLETED"
    assert record_a["min_memory"] == "100M"
    assert record_a["time_limit"] == "2:00"
    # profile threads, capped to the node, and the fitted memory reached sbatch
    record_train = slurm_job_record(job_train)
    assert record_train["cpus"] == str(expected_cpus)
    assert record_train["min_memory"] == f"{fitted_memory_mb(slurm_cluster)}M"


FLAKY_WORKFLOW = """
    rule all:
        input: "final.txt"

    rule first:
        output: "first.txt"
        resources: mem_mb=100, runtime=2
        shell: "echo $SLURM_JOB_ID > {output}"

    rule flaky:
        input: "first.txt"
        output: "flaky.txt"
        resources: mem_mb=lambda wildcards, attempt: 100 * attempt, runtime=lambda wildcards, attempt: 2 * attempt
        params: fail=config.get("fail", 1)
        shell: "if [ {params.fail} = 1 ]; then echo 'flaky fails on purpose' >&2; exit 1; fi; echo $SLURM_JOB_ID > {output}"

    rule final:
        input: "flaky.txt"
        output: "final.txt"
        resources: mem_mb=100, runtime=2
        shell: "echo $SLURM_JOB_ID > {output}"
"""


def test_failed_slurm_job_fails_the_run_and_rerun_continues(slurm_cluster, tmp_path):
    write_snakefile(tmp_path, FLAKY_WORKFLOW)

    failed = run_snakemake_on_slurm(tmp_path, timeout_s=TOY_TIMEOUT_S)

    assert failed.returncode != 0, failed.stdout
    assert not (tmp_path / "flaky.txt").exists()
    assert not (tmp_path / "final.txt").exists()
    first_job_id = (tmp_path / "first.txt").read_text()
    first_mtime = (tmp_path / "first.txt").stat().st_mtime_ns
    # the plugin keeps the failed job's SLURM log, with the rule's stderr in it
    # the profile retries a failed job once, with twice its requests (rules scale with attempt)
    flaky_ids = submitted_slurm_jobs(tmp_path)["flaky"]
    assert len(flaky_ids) == 2, failed.stdout
    first_try, retry = (slurm_job_record(job_id) for job_id in flaky_ids)
    assert first_try["state"] == retry["state"] == "FAILED"
    assert (first_try["min_memory"], retry["min_memory"]) == ("100M", "200M"), (first_try, retry)
    assert (first_try["time_limit"], retry["time_limit"]) == ("2:00", "4:00"), (first_try, retry)
    flaky_id = flaky_ids[0]
    flaky_log = tmp_path / ".snakemake" / "slurm_logs" / "rule_flaky" / f"{flaky_id}.log"
    assert "flaky fails on purpose" in flaky_log.read_text()

    rerun = run_snakemake_on_slurm(tmp_path, ["--config", "fail=0"], timeout_s=TOY_TIMEOUT_S)

    assert rerun.returncode == 0, rerun.stdout
    assert sorted(submitted_slurm_jobs(tmp_path)) == ["final", "first", "flaky"], rerun.stdout
    assert len(submitted_slurm_jobs(tmp_path)["flaky"]) == 3 and len(submitted_slurm_jobs(tmp_path)["first"]) == 1
    assert (tmp_path / "first.txt").read_text() == first_job_id
    assert (tmp_path / "first.txt").stat().st_mtime_ns == first_mtime
    assert (tmp_path / "final.txt").exists()


@pytest.mark.slow
def test_tiny_workflow_runs_through_slurm(slurm_cluster, tmp_path):
    """The real workflow (tiny configuration) from raw images to a layer's embedding and the
    model figures, every job submitted with sbatch. The whole DAG runs locally in
    test_workflow.py; here one-thread jobs keep the single test node busy in parallel."""
    results = tmp_path / "results" / "tiny"
    targets = ["results/tiny/embeddings/conv1/umap.csv",  # relative to the working directory
               "results/tiny/figures/fig03_confusion.png"]
    result = run_snakemake_on_slurm(
        tmp_path,
        [*targets, "--snakefile", str(REPO / "Snakefile"),
         "--configfile", str(REPO / "configs" / "tiny.yaml"), "--max-threads", "1"],
        timeout_s=1200)
    assert result.returncode == 0, result.stdout[-5000:]
    jobs = submitted_slurm_jobs(tmp_path)
    for rule in ("simulate_chunk", "ingest", "train", "dump_layers", "embed", "fig01_06_model"):
        assert jobs.get(rule), (rule, sorted(jobs))
    assert (results / "model" / "metrics.json").exists()
    assert len((results / "embeddings" / "conv1" / "umap.csv").read_text().splitlines()) > 10
