"""What every rule script does first: log to the rule's log, honour its thread count."""
import logging
import os
import sys

#: set by the Snakefile on local runs: the cores the scheduler shares out (--cores)
RUN_CORES_VARIABLE = "CELLSCAPE_RUN_CORES"


def thread_count(granted, usable, run_cores=None):
    """Threads for a job granted ``granted`` of the run's ``run_cores`` cores on a machine where
    it may use ``usable`` CPUs: its share of the real CPUs, at least one.

    ``snakemake --cores 8`` on 2 CPUs runs up to 8 one-thread jobs, or two 4-thread jobs, at
    once; giving each job its share (4 of 8 -> 1 of 2) keeps torch's and numba's threads from
    waiting on each other, which on a shared core costs more CPU than the job's own work.
    """
    if run_cores and run_cores > usable:
        return max(1, granted * usable // run_cores)
    return max(1, min(granted, usable))


def _run_cores():
    value = os.environ.get(RUN_CORES_VARIABLE, "")
    return int(value) if value.isdigit() else None


def job_threads(snakemake):
    """The threads this job uses: the rule's ``threads``, scaled by :func:`thread_count`."""
    return thread_count(int(snakemake.threads), len(os.sched_getaffinity(0)), _run_cores())


def start(snakemake, uses_torch=False):
    """Send stdout/stderr (tqdm, warnings, tracebacks) to the rule's log; set thread counts
    (the rule's ``threads``, scaled to the usable CPUs: :func:`thread_count`).

    Thread variables are set before numba or torch are imported by the caller, so both use the
    rule's ``threads`` instead of every core of the node. Returns nothing: a script's settings
    arrive through ``snakemake.params`` (Snakemake reruns a job when they change, never when a
    config key read behind its back changes).
    """
    usable, run_cores = len(os.sched_getaffinity(0)), _run_cores()
    threads = str(thread_count(int(snakemake.threads), usable, run_cores))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = threads
    # numba's on-disk cache: embedding jobs after the first skip ~40 s of compilation
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.getcwd(), ".snakemake", "numba-cache"))
    if snakemake.log:
        stream = open(snakemake.log[0], "w", buffering=1)
        sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger(__name__).info("%s threads: granted %s of the run's %s cores, %d CPUs usable", threads,
                                     snakemake.threads, run_cores or "?", usable)
    if uses_torch:
        import torch
        torch.set_num_threads(int(threads))


def job_device(snakemake):
    """The job's torch device: CUDA when the job holds a GPU (its ``gpu`` resource, set by the
    rules from config ``device``), else the CPU. The device is a resource, not a param: moving
    a run to a GPU node does not make its finished results stale."""
    import torch
    if int(snakemake.resources.get("gpu", 0)) > 0:
        if torch.cuda.is_available():
            return torch.device("cuda")
        logging.getLogger(__name__).warning("the job holds a GPU but torch sees no CUDA device: using the CPU")
    return torch.device("cpu")
