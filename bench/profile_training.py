"""Profile of the paper config's slowest rule, ``train`` (28,325 events, 30 epochs: the longest
single job), and what each precision and memory-layout setting changes.

Prints the operators that take the time in a training step of the paper model (batch 32)
under ``torch.profiler``, for each setting: float32 NCHW, float32 channels-last (the default
layout) and bfloat16 autocast with channels-last (``training.precision: bfloat16``,
the default where the CPU has it natively). Then ``bench_training``: the images/s of
``fit`` itself for each setting against bare loops, alternating round by round.

    PYTHONPATH=scripts .venv/bin/python bench/profile_training.py
"""
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import bare_loop, settings  # noqa: E402
from bench_training import run as run_training_bench  # noqa: E402


def operator_table(channels_last, precision, steps=4, batch_size=32, rows=8):
    x = torch.rand(steps * batch_size, 2, 78, 78)
    y = torch.randint(0, 2, (steps * batch_size,))
    bare_loop(x, y, batch_size, 1, channels_last, precision)  # warm-up (oneDNN primitive caches)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        bare_loop(x, y, batch_size, steps, channels_last, precision)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    for name, (channels_last, precision) in settings().items():
        print(f"\n=== {name}: operators of 4 training steps, by self CPU time")
        print(operator_table(channels_last, precision))
    started = time.perf_counter()
    print("\n=== fit() against bare loops (bench_training, quick), images/s")
    for row in run_training_bench(mode="quick"):
        print(f"{row['name']:60s} {row['value']:8.1f} {row['unit']:9s} vs {row['baseline']} "
              f"{row['baseline_value']:.1f}: x{row['ratio']:.2f}")
    print(f"({time.perf_counter() - started:.0f} s)")
