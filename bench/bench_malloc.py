"""What glibc's mmap threshold (cellscape/malloc.py) costs a training step and buys a dump.

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

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {scripts!r})
if {mmap}:
    from cellscape.malloc import return_large_frees_to_the_system
    assert return_large_frees_to_the_system()
import torch
torch.set_num_threads(1)
from cellscape.model import build_model
PAPER = {{"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}}
model = build_model(PAPER, 78, 2).to(memory_format=torch.channels_last)
opt = torch.optim.Adam(model.parameters())
x = torch.rand(32, 2, 78, 78).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 2, (32,))
def step():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
for _ in range(3):
    step()
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range({steps}):
    step()
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({{"seconds": (time.perf_counter() - started) / {steps},
                  "kernel": (after.ru_stime - before.ru_stime) / {steps},
                  "faults": (after.ru_minflt - before.ru_minflt) / {steps}}}))
"""


def training_step(mmap, steps):
    code = CHILD.format(scripts=str(SCRIPTS), mmap=bool(mmap), steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick=True):
    steps, rounds = (10, 2) if quick else (30, 3)
    default, threshold = [], []
    for _ in range(rounds):
        default.append(training_step(False, steps))
        threshold.append(training_step(True, steps))
    best_default = min(default, key=lambda r: r["seconds"])
    best_threshold = min(threshold, key=lambda r: r["seconds"])
    return [
        {"name": "training step, paper model, batch 32, bfloat16, 1 thread (glibc default, the jobs' setting)",
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
    for row in run(quick="--full" not in sys.argv):
        print(f"{row['name']}: {row['value']:.4g} {row['unit']} vs {row['baseline']} "
              f"{row['baseline_value']:.4g} -> ratio {row['ratio']:.3g}")
