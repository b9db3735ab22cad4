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
from cellscape.model.network import build_model  # noqa: E402
from cellscape.model.precision import resolve_precision  # noqa: E402
from cellscape.model.training import fit  # noqa: E402

PAPER = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}
TRAIN_FLOPS_PER_IMAGE = 3 * 2 * 0.331e9   # forward MACs x 2 FLOPs, backward ~2x forward


#: (steps, rounds) per mode; smoke: the code path only
SIZES = {"smoke": (2, 1), "quick": (10, 2), "full": (40, 3)}


def peak_gflops(n=2048, repeat=5):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeat):
        a @ b
    return 2 * n ** 3 * repeat / (time.perf_counter() - t0) / 1e9


def bare_loop(x, y, batch_size, steps, channels_last=False, precision="float32"):
    torch.manual_seed(0)
    model = build_model(PAPER, 78, 2)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    opt = torch.optim.SGD(model.parameters(), lr=0.003, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for i in range(steps):
        s = (i * batch_size) % len(x)
        xb, yb = x[s:s + batch_size].contiguous(memory_format=memory_format), y[s:s + batch_size]
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
            outputs = model(xb)
        loss_fn(outputs.float(), yb).backward()
        opt.step()
    return steps * batch_size / (time.perf_counter() - t0)


def settings():
    """The settings measured: float32 NCHW and channels-last everywhere, and bfloat16 autocast
    only where the jobs would pick it (``precision: auto``: native bfloat16, AVX512-BF16 or AMX).
    An AVX2 CPU emulates bfloat16 at ~17 s a step: measuring it there says nothing about the
    workflow, which never runs it, and takes longer than the rest of ``make bench``."""
    chosen = {"float32 NCHW": (False, "float32"), "float32 channels-last": (True, "float32")}
    if resolve_precision("auto", "cpu") == "bfloat16":
        chosen["bfloat16 autocast, channels-last"] = (True, "bfloat16")
    return chosen


def run(mode="quick", threads=None):
    """For each setting, ``fit`` epochs and bare loops alternate (``rounds`` of each) so that
    machine load hits both alike; each side reports its best round. The workflow figure is
    the training part of ``fit``'s epoch (``train_seconds``: shuffling, augmentation,
    class-weighted loss, running accuracy, progress bar), not the validation pass after it.
    Overhead ratios compare like with like (same setting); speed-ups compare each setting's
    workflow run with the plain float32 NCHW bare loop.
    """
    torch.set_num_threads(threads or torch.get_num_threads())
    batch_size = 32
    steps, rounds = SIZES[mode]
    n = batch_size * steps
    rng = np.random.default_rng(0)
    images = rng.random((n + 64, 2, 78, 78), dtype=np.float32)
    labels = np.arange(n + 64) % 2
    index = pd.DataFrame({"row": np.arange(n + 64), "id": [str(i) for i in range(n + 64)], "label": labels,
                          "class": np.where(labels, "b", "a"), "split": ["train"] * n + ["val"] * 64})
    x, y = torch.from_numpy(images[:n]), torch.from_numpy(labels[:n])
    bare_loop(x, y, batch_size, 2)  # warm-up
    import tempfile
    bare, workflow = {}, {}
    measured = settings()
    for name, (channels_last, precision) in measured.items():
        cfg = {"epochs": 1, "batch_size": batch_size, "lr": 0.003, "momentum": 0.9, "weight_decay": 5e-4,
               "patience": 5, "class_weights": "balanced", "augment": True, "channels_last": channels_last,
               "precision": precision}
        bare[name], workflow[name] = [], []
        for _ in range(rounds):
            bare[name].append(bare_loop(x, y, batch_size, steps, channels_last, precision))
            with tempfile.TemporaryDirectory() as tmp:
                _, history, _ = fit(images, index, ["a", "b"], PAPER, cfg, 78, 0, "cpu", Path(tmp) / "ck.pt")
            workflow[name].append(n / history[0]["train_seconds"])
        bare[name], workflow[name] = max(bare[name]), max(workflow[name])
    peak = peak_gflops(repeat=1 if mode == "smoke" else 5)
    plain = bare["float32 NCHW"]
    rows = []
    for name in measured:
        rows.append({"name": f"training throughput, {name} (paper model, batch 32)", "value": workflow[name],
                     "unit": "images/s", "baseline": f"bare PyTorch loop, {name}", "baseline_value": bare[name],
                     "ratio": workflow[name] / bare[name]})
    for name in list(measured)[1:]:
        rows.append({"name": f"training speed-up, {name}", "value": workflow[name], "unit": "images/s",
                     "baseline": "bare PyTorch loop, float32 NCHW", "baseline_value": plain,
                     "ratio": workflow[name] / plain})
    default = workflow["float32 channels-last"]
    rows.append({"name": "training (float32 channels-last) share of peak float32",
                 "value": default * TRAIN_FLOPS_PER_IMAGE / 1e9, "unit": "GFLOP/s",
                 "baseline": "2048x2048 matmul peak", "baseline_value": peak,
                 "ratio": default * TRAIN_FLOPS_PER_IMAGE / 1e9 / peak})
    return rows


if __name__ == "__main__":
    for row in run(mode="full" if "--full" in sys.argv else "smoke" if "--smoke" in sys.argv else "quick"):
        print(row)
