"""The jobs Snakemake would run, read from its Python API instead of its printed dry run.

A dry run through ``snakemake.api`` reports every planned job as a structured log record
(``LogEvent.JOB_INFO``: rule, wildcards, output, benchmark, threads, resources, reason); this
collects those records. ``make layer``, the scaling benchmark and the tests read plans here, so a
change in how Snakemake prints a plan breaks none of them.

Planning runs the Snakefile in this process and changes into the working directory while it
does; call it from a process of its own (``python -m cellscape.plan.dag``, or a fresh
subprocess) when the caller has state of its own to protect.
"""
import argparse
import collections
import json
import logging
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

SNAKEFILE = Path(__file__).resolve().parents[3] / "Snakefile"


@dataclass
class Job:
    """One planned job as Snakemake describes it."""
    rule: str
    wildcards: dict = field(default_factory=dict)
    input: list = field(default_factory=list)
    output: list = field(default_factory=list)
    benchmark: str | None = None
    threads: int = 1
    resources: dict = field(default_factory=dict)
    reason: str = ""


def _files(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


class _JobRecords(logging.Handler):
    """Keeps the structured record of every job the dry run announces."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.jobs = []

    def emit(self, record):
        from snakemake_interface_logger_plugins.common import LogEvent
        if getattr(record, "event", None) != LogEvent.JOB_INFO:
            return
        resources = {k: v for k, v in dict(record.resources).items() if not k.startswith("_")}
        benchmark = _files(record.benchmark)
        self.jobs.append(Job(rule=record.rule_name, wildcards=dict(record.wildcards), input=_files(record.input),
                             output=_files(record.output),
                             benchmark=benchmark[0] if benchmark else None, threads=int(record.threads),
                             resources=resources, reason=str(record.reason)))


def planned_jobs(workdir, configfiles=(), targets=(), forcerun=(), forceall=False, config=None, cores=8,
                 snakefile=SNAKEFILE):
    """Every job a run with these settings would start (an empty list: nothing to be done).

    ``config``: settings laid over the config files, as ``--config`` would (a dict).
    Planning errors (a bad config, a missing input) raise Snakemake's exception.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import (ConfigSettings, DAGSettings, ExecutionSettings, OutputSettings,
                                          Quietness, ResourceSettings)
    records = _JobRecords()
    quiet = {Quietness.RULES, Quietness.PROGRESS, Quietness.HOST, Quietness.REASON}
    with SnakemakeApi(OutputSettings(dryrun=True, quiet=quiet)) as api:
        logger = api.logger_manager.logger
        logger.addHandler(records)
        try:
            workflow = api.workflow(
                resource_settings=ResourceSettings(cores=cores),
                config_settings=ConfigSettings(configfiles=[Path(c).resolve() for c in configfiles],
                                               config=dict(config or {})),
                snakefile=Path(snakefile), workdir=Path(workdir).resolve())
            dag = workflow.dag(DAGSettings(targets=set(targets), forcerun=set(forcerun), forceall=forceall))
            dag.execute_workflow(executor="dryrun", execution_settings=ExecutionSettings(lock=False))
        finally:
            logger.removeHandler(records)
    return records.jobs


def job_counts(jobs):
    """{rule: number of jobs}, the rule "all" left out (it is no work)."""
    return dict(collections.Counter(job.rule for job in jobs if job.rule != "all"))


def main(argv=None):
    """``python -m cellscape.plan.dag --directory W --configfile a.yaml [--forcerun F...] [TARGET...]``:
    the plan as one JSON object per job on stdout."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("targets", nargs="*")
    parser.add_argument("--directory", default=".")
    parser.add_argument("--configfile", nargs="*", default=[])
    parser.add_argument("--config", default="{}", help="JSON object laid over the config files")
    parser.add_argument("--forcerun", nargs="*", default=[])
    parser.add_argument("--forceall", action="store_true")
    parser.add_argument("--cores", type=int, default=8)
    args = parser.parse_args(argv)
    jobs = planned_jobs(args.directory, args.configfile, args.targets, args.forcerun, args.forceall,
                        json.loads(args.config), args.cores)
    for job in jobs:
        print(json.dumps(asdict(job), default=str))


if __name__ == "__main__":
    sys.exit(main())
