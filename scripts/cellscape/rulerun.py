"""What every rule script does first: log to the rule's log, honour its thread count."""
import logging
import os
import sys


def start(snakemake, uses_torch=False):
    """Send stdout/stderr (tqdm, warnings, tracebacks) to the rule's log; set thread counts
    (the rule's ``threads``, at most the usable CPUs).

    Thread variables are set before numba or torch are imported by the caller, so both use the
    rule's ``threads`` instead of every core of the node. Returns the config.
    """
    # never more threads than the CPUs this process may run on (a job granted 8 threads by
    # --cores 8 on a 2-core machine would only make its threads fight each other)
    threads = str(max(1, min(int(snakemake.threads), len(os.sched_getaffinity(0)))))
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = threads
    # numba's on-disk cache: embedding jobs after the first skip ~40 s of compilation
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.getcwd(), ".snakemake", "numba-cache"))
    if snakemake.log:
        stream = open(snakemake.log[0], "w", buffering=1)
        sys.stdout = sys.stderr = stream
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from .malloc import return_large_frees_to_the_system
    return_large_frees_to_the_system()
    if uses_torch:
        import torch
        torch.set_num_threads(int(threads))
    return snakemake.config
