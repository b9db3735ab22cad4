"""What glibc's mmap threshold (cellscape/malloc.py) costs a training step (what it buys a dump,
a peak memory of one batch, is bench_activations').

The dumps set ``M_MMAP_THRESHOLD`` to 1 MiB so that freed batch buffers leave the resident set;
every other job keeps glibc's default, because there the setting turns each step's fresh
buffers into page faults. Each side runs in its own process (the setting cannot be undone),
alternating, best of the rounds.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPTS = BENCH.parent / "scripts"

# bench_training's bare loop (paper model, SGD, batch 32, channels-last, the precision the jobs
# pick: bfloat16 where the CPU has it natively, else float32), one thread; the warm-up call
# builds a model and runs it first, so the measured call sees warm kernels
CHILD = """
import json, resource, sys
sys.path[:0] = [{scripts!r}, {bench!r}]
if {mmap}:
    from cellscape.runtime.malloc import return_large_frees_to_the_system
    assert return_large_frees_to_the_system()
import torch
torch.set_num_threads(1)
from bench_training import bare_loop
from cellscape.model.precision import resolve_precision
precision = resolve_precision("auto", "cpu")
x, y = torch.rand(32 * {steps}, 2, 78, 78), torch.randint(0, 2, (32 * {steps},))
bare_loop(x, y, 32, 3, channels_last=True, precision=precision)
before = resource.getrusage(resource.RUSAGE_SELF)
images_per_second = bare_loop(x, y, 32, {steps}, channels_last=True, precision=precision)
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": 32 / images_per_second, "precision": precision,
                  "kernel": (after.ru_stime - before.ru_stime) / {steps},
                  "faults": (after.ru_minflt - before.ru_minflt) / {steps}}}))
"""


def training_step(mmap, steps):
    code = CHILD.format(scripts=str(SCRIPTS), bench=str(BENCH), mmap=bool(mmap), steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


#: (steps, rounds) per mode; smoke: the code path only
SIZES = {"smoke": (2, 1), "quick": (10, 2), "full": (30, 3)}


def run(mode="quick"):
    steps, rounds = SIZES[mode]
    default, threshold = [], []
    for _ in range(rounds):
        default.append(training_step(False, steps))
        threshold.append(training_step(True, steps))
    best_default = min(default, key=lambda r: r["seconds"])
    best_threshold = min(threshold, key=lambda r: r["seconds"])
    return [
        {"name": f"training step, paper model, batch 32, {best_default['precision']}, 1 thread "
                 "(glibc default, the jobs' setting)",
         "value": best_default["seconds"], "unit": "s/step",
         "baseline": "same step with the dumps' 1 MiB mmap threshold", "baseline_value": best_threshold["seconds"],
         "ratio": best_threshold["seconds"] / best_default["seconds"]},
        {"name": "  of which in the kernel (page faults)", "value": best_default["kernel"], "unit": "s/step",
         "baseline": "with the mmap threshold", "baseline_value": best_threshold["kernel"],
         "ratio": best_threshold["kernel"] / max(best_default["kernel"], 1e-6)},
        {"name": "  minor page faults", "value": best_default["faults"], "unit": "per step",
         "baseline": "with the mmap threshold", "baseline_value": best_threshold["faults"],
         "ratio": best_threshold["faults"] / max(best_default["faults"], 1.0)},
    ]


if __name__ == "__main__":
    for row in run(mode="full" if "--full" in sys.argv else "smoke" if "--smoke" in sys.argv else "quick"):
        print(f"{row['name']}: {row['value']:.4g} {row['unit']} vs {row['baseline']} "
              f"{row['baseline_value']:.4g} -> ratio {row['ratio']:.3g}")
