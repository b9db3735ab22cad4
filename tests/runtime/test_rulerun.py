"""Rule jobs' thread counts: the rule's share of the CPUs there are, never more."""
import os
from types import SimpleNamespace

import pytest

from cellscape.runtime.rulerun import RUN_CORES_VARIABLE, job_threads, thread_count


@pytest.mark.parametrize("granted, usable, run_cores, expected", [
    (4, 2, 8, 1),    # --cores 8 on 2 CPUs: two 4-thread trainings at once, one CPU each
    (8, 2, 8, 2),    # a job granted every core gets every CPU
    (1, 2, 8, 1),    # at least one thread
    (2, 16, 8, 2),   # more CPUs than --cores: the rule's threads
    (4, 2, None, 2), # unknown run size (a cluster job): the rule's threads, at most the CPUs
    (16, 4, 4, 4),
])
def test_thread_count_is_the_jobs_share_of_the_real_cpus(granted, usable, run_cores, expected):
    assert thread_count(granted, usable, run_cores) == expected


def test_job_threads_reads_the_runs_cores_from_the_environment(monkeypatch):
    usable = len(os.sched_getaffinity(0))
    job = SimpleNamespace(threads=usable)
    monkeypatch.setenv(RUN_CORES_VARIABLE, str(4 * usable))
    assert job_threads(job) == max(1, usable // 4)
    monkeypatch.delenv(RUN_CORES_VARIABLE)
    assert job_threads(job) == usable
