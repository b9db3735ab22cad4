"""Activation-dump throughput against a bare forward pass, and peak memory.

The dump runs the forward pass to the layer, flattens, converts to float16 and appends to an
.npy on disk; the baseline is the same forward pass to the same layer with the output thrown
away, each in fresh processes, alternating, best of the rounds. Peak memory (the dump's
process) must stay near one batch, not the layer.
The workflow dumps every layer from one forward pass (``dump_layers``): measured against the
twelve one-layer dumps it replaces and against one bare forward pass through the network.
"""
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
from cellscape.model.network import build_model  # noqa: E402

PAPER = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]], "dense": [256], "dropout": 0.25}

# peak resident memory of this process: VmHWM, not getrusage's ru_maxrss, which a child started
# from a large parent inherits (Linux keeps the forked copy's high-water mark across exec)
PEAK_KB = """
def peak_kb():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1])
"""

# One side of the comparison in a fresh process ("bare": the forward pass to the layer, output
# thrown away; "dump": dump_layer), after the same one-batch warm-up: the dump's allocator
# setting cannot be undone, and alternating fresh processes lets machine load hit both alike.
CHILD = PEAK_KB + """
import json, sys, time, numpy as np, torch
sys.path.insert(0, {scripts!r})
from cellscape.activations.dump import dump_layer
from cellscape.model.network import build_model
model = build_model({cfg!r}, 78, 2).eval()
images = np.load({images!r}, mmap_mode="r")
children = list(model.features.named_children())
names = [name for name, _ in children]
head = torch.nn.Sequential(*[module for _, module in children[:names.index({layer!r}) + 1]])
with torch.no_grad():
    head(torch.from_numpy(np.asarray(images[:64])))  # warm-up
t0 = time.perf_counter()
if {what!r} == "bare":
    with torch.no_grad():
        for s in range(0, len(images), 64):
            head(torch.from_numpy(np.asarray(images[s:s + 64])))
else:
    dump_layer(model, images, np.arange(len(images)), {layer!r}, {out!r}, batch_size=64)
print(json.dumps({{"seconds": time.perf_counter() - t0,
                   "peak_mb": peak_kb() / 1024}}))
"""


ALL_LAYERS = """
import json, sys, time, numpy as np, torch
sys.path.insert(0, {scripts!r})
from cellscape.activations.dump import dump_layer, dump_layers
from cellscape.model.network import build_model
model = build_model({cfg!r}, 78, 2).eval()
images = np.load({images!r}, mmap_mode="r")
rows = np.arange(len(images))
t0 = time.perf_counter()
dump_layers(model, images, rows, {{layer: f"{tmp}/all_{{layer}}.npy" for layer in model.layer_names}}, batch_size=64)
together = time.perf_counter() - t0
t0 = time.perf_counter()
for layer in model.layer_names:
    dump_layer(model, images, rows, layer, f"{tmp}/one_{{layer}}.npy", batch_size=64)
print(json.dumps({{"one_pass": together, "per_layer": time.perf_counter() - t0}}))
"""


@torch.no_grad()
def bare_network(model, images, batch_size=64):
    """Images per second of a bare forward pass through the whole network."""
    t0 = time.perf_counter()
    for s in range(0, len(images), batch_size):
        model(torch.from_numpy(np.asarray(images[s:s + batch_size])))
    return len(images) / (time.perf_counter() - t0)


#: images dumped per mode; smoke: the code path only
IMAGES = {"smoke": 64, "quick": 512, "full": 5625}
#: alternating rounds of bare forward pass and dump, each side's best counts
ROUNDS = {"smoke": 1, "quick": 3, "full": 3}


def one_side(what, layer, images_path, out):
    """Seconds and peak memory (MB) of one side, in a fresh process."""
    done = subprocess.run([sys.executable, "-c", CHILD.format(scripts=str(SCRIPTS), cfg=PAPER, what=what,
                           images=str(images_path), layer=layer, out=str(out))],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(mode="quick"):
    n = IMAGES[mode]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        images_path = Path(tmp) / "images.npy"
        np.save(images_path, np.random.default_rng(0).random((n, 2, 78, 78), dtype=np.float32))
        images = np.load(images_path, mmap_mode="r")
        model = build_model(PAPER, 78, 2).eval()
        for layer in ("conv1", "conv4"):
            out = Path(tmp) / f"{layer}.npy"
            bares, dumps = [], []
            for _ in range(ROUNDS[mode]):
                bares.append(one_side("bare", layer, images_path, out))
                dumps.append(one_side("dump", layer, images_path, out))
            bare = n / min(r["seconds"] for r in bares)
            result = min(dumps, key=lambda r: r["seconds"])
            dumped = n / result["seconds"]
            layer_mb = np.load(out, mmap_mode="r").nbytes / 2**20
            rows.append({"name": f"{layer} dump throughput ({n} images, best of {ROUNDS[mode]})", "value": dumped,
                         "unit": "images/s", "baseline": "bare forward pass to the layer, alternating",
                         "baseline_value": bare,
                         "ratio": dumped / bare})
            rows.append({"name": f"{layer} dump peak memory", "value": result["peak_mb"], "unit": "MB",
                         "baseline": "size of the dumped layer (float16)", "baseline_value": layer_mb,
                         "ratio": result["peak_mb"] / layer_mb})
            out.unlink()
        bare = bare_network(model, images)
        child = subprocess.run([sys.executable, "-c", ALL_LAYERS.format(scripts=str(SCRIPTS), cfg=PAPER,
                                images=str(images_path), tmp=tmp)], capture_output=True, text=True, check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
        rows.append({"name": f"every layer's dump, one pass ({n} images)", "value": n / result["one_pass"],
                     "unit": "images/s", "baseline": "the 12 one-layer dumps it replaces",
                     "baseline_value": n / result["per_layer"], "ratio": result["per_layer"] / result["one_pass"]})
        rows.append({"name": "  against a bare forward pass through the network", "value": n / result["one_pass"],
                     "unit": "images/s", "baseline": "bare forward pass, whole network", "baseline_value": bare,
                     "ratio": n / result["one_pass"] / bare})
    return rows


if __name__ == "__main__":
    for row in run(mode="full" if "--full" in sys.argv else "smoke" if "--smoke" in sys.argv else "quick"):
        print(row)
