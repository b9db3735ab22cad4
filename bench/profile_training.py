"""Profile of the paper config's slowest rule, ``train`` (28,325 events, 30 epochs: the longest
single job), and the before/after of what was changed.

Prints the operators that take the time in a training step of the paper model (batch 32)
under ``torch.profiler``, for each setting: float32 NCHW (before), float32 channels-last (the
default now) and bfloat16 autocast with channels-last (``training.precision: bfloat16``,
used by ``configs/paper.yaml``). Then the images/s of ``fit`` itself for each setting,
alternating settings round by round so that machine load hits them alike.

    PYTHONPATH=scripts .venv/bin/python bench/profile_training.py
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_training import PAPER, SETTINGS, bare_loop  # noqa: E402
from cellscape.train import fit  # noqa: E402


def operator_table(channels_last, precision, steps=4, batch_size=32, rows=8):
    x = torch.rand(steps * batch_size, 2, 78, 78)
    y = torch.randint(0, 2, (steps * batch_size,))
    bare_loop(x, y, batch_size, 1, channels_last, precision)  # warm-up (oneDNN primitive caches)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        bare_loop(x, y, batch_size, steps, channels_last, precision)
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


def fit_throughput(rounds=2, steps=12, batch_size=32):
    n = steps * batch_size
    rng = np.random.default_rng(0)
    images = rng.random((n + 32, 2, 78, 78), dtype=np.float32)
    labels = np.arange(n + 32) % 2
    index = pd.DataFrame({"row": np.arange(n + 32), "id": [str(i) for i in range(n + 32)], "label": labels,
                          "class": np.where(labels, "b", "a"), "split": ["train"] * n + ["val"] * 32})
    best = {name: 0.0 for name in SETTINGS}
    for _ in range(rounds):
        for name, (channels_last, precision) in SETTINGS.items():
            cfg = {"epochs": 1, "batch_size": batch_size, "lr": 0.003, "momentum": 0.9, "weight_decay": 5e-4,
                   "patience": 5, "class_weights": "balanced", "augment": True,
                   "channels_last": channels_last, "precision": precision}
            with tempfile.TemporaryDirectory() as tmp:
                _, history, _ = fit(images, index, ["a", "b"], PAPER, cfg, 78, 0, "cpu", Path(tmp) / "ck.pt")
            best[name] = max(best[name], n / history[0]["train_seconds"])
    return best


if __name__ == "__main__":
    torch.set_num_threads(torch.get_num_threads())
    for name, (channels_last, precision) in SETTINGS.items():
        print(f"\n=== {name}: operators of 4 training steps, by self CPU time")
        print(operator_table(channels_last, precision))
    started = time.perf_counter()
    speeds = fit_throughput()
    before = speeds["float32 NCHW"]
    print("\n=== fit() throughput, best of 2 alternating rounds")
    for name, speed in speeds.items():
        print(f"{name:36s} {speed:7.1f} images/s  x{speed / before:.2f}")
    print(f"({time.perf_counter() - started:.0f} s)")
