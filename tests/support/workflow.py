"""Running the workflow as users do (the real snakemake command line) and reading its plans
through Snakemake's Python API (structured job records, never its printed text)."""
import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from cellscape.plan.dag import job_counts, planned_jobs

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]


def snakemake(workdir, *args, timeout=1500):
    cmd = SNAKEMAKE + ["--directory", str(workdir), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _context():
    """Processes forked from a server that has imported Snakemake once: each plan starts from a
    clean interpreter state (the Snakefile's module-level state and the working directory are the
    child's) without paying for the imports again."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["snakemake.api", "cellscape.plan.dag"])
    return context


def plans(requests, workers=2, return_errors=False):
    """[planned jobs] for each request, a dict of ``planned_jobs`` keyword arguments; each in a
    process of its own. A planning error is raised here with Snakemake's message, or with
    ``return_errors`` returned in the request's place."""
    with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), max_tasks_per_child=1) as pool:
        futures = [pool.submit(planned_jobs, **request) for request in requests]
        if not return_errors:
            return [future.result() for future in futures]
        return [future.exception() or future.result() for future in futures]


def in_own_process(function, *args, **kwargs):
    """``function(*args, **kwargs)`` planned in a process of its own (see ``_context``)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=_context(), max_tasks_per_child=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def plan(workdir, *configfiles, **settings):
    """The jobs a run in ``workdir`` with these config files would start ([]: nothing to be done).
    ``settings``: targets, forcerun, forceall, config (a dict laid over the files), cores."""
    return plans([dict(workdir=workdir, configfiles=[str(c) for c in configfiles], **settings)], workers=1)[0]


def planned_rules(workdir, *configfiles, **settings):
    """{rule: number of jobs} of ``plan`` (the rule "all" left out)."""
    return job_counts(plan(workdir, *configfiles, **settings))
