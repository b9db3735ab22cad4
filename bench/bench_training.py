"""Training throughput of the workflow's training step against a bare PyTorch loop.

Same model (the paper's), batch size and data, same process. Also reported as a fraction of
the machine's peak float32 throughput, measured with a large matmul in the same run.
"""
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from cellscape.model import build_model  # noqa: E402
from cellscape.train import fit  # noqa: E402

PAPER = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}
TRAIN_FLOPS_PER_IMAGE = 3 * 2 * 0.331e9   # forward MACs x 2 FLOPs, backward ~2x forward


def peak_gflops(n=2048, repeat=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n ** 3 * repeat / (time.perf_counter() - t0) / 1e9


def bare_loop(x, y, batch_size, steps):
    torch.manual_seed(0)
    model = build_model(PAPER, 78, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for i in range(steps):
        s = (i * batch_size) % len(x)
        xb, yb = x[s:s + batch_size], y[s:s + batch_size]
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - t0)


def run(quick=True, threads=None):
    torch.set_num_threads(threads or torch.get_num_threads())
    batch_size = 32
    steps = 12 if quick else 60
    n = batch_size * steps
    rng = np.random.default_rng(0)
    images = rng.random((n + 64, 2, 78, 78), dtype=np.float32)
    labels = np.arange(n + 64) % 2
    index = pd.DataFrame({"row": np.arange(n + 64), "id": [str(i) for i in range(n + 64)], "label": labels,
                          "class": np.where(labels, "b", "a"), "split": ["train"] * n + ["val"] * 64})
    cfg = {"epochs": 1, "batch_size": batch_size, "lr": 0.003, "momentum": 0.9, "weight_decay": 5e-4,
           "patience": 5, "class_weights": "balanced", "augment": True}
    x, y = torch.from_numpy(images[:n]), torch.from_numpy(labels[:n])
    bare_loop(x, y, batch_size, 2)  # warm-up
    bare = bare_loop(x, y, batch_size, steps)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _, history, _ = fit(images, index, ["a", "b"], PAPER, cfg, 78, 0, "cpu", Path(tmp) / "ck.pt")
        epoch_seconds = history[0]["seconds"]
    workflow = n / epoch_seconds
    peak = peak_gflops()
    return [
        {"name": "training throughput (paper model, batch 32)", "value": workflow, "unit": "images/s",
         "baseline": "bare PyTorch loop", "baseline_value": bare, "ratio": workflow / bare},
        {"name": "training share of peak float32", "value": workflow * TRAIN_FLOPS_PER_IMAGE / 1e9,
         "unit": "GFLOP/s", "baseline": "2048x2048 matmul peak", "baseline_value": peak,
         "ratio": workflow * TRAIN_FLOPS_PER_IMAGE / 1e9 / peak},
    ]


if __name__ == "__main__":
    for row in run(quick="--full" not in sys.argv):
        print(row)
