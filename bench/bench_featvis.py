"""Benchmark: feature images per second, straightforward loop vs. cellscape.featvis.render.

Not a test. On the default model (trained weights from results/model/weights.pt if present,
else a model trained here for a couple of minutes on simulated cells, else random weights) it
draws conv4 feature images two ways:

* baseline: one channel at a time, Fourier param, Adam lr 0.05, standard transforms,
  full forward through the dense layers, 512 steps;
* optimised: all channels in one batch, forward truncated after conv4, plateau stopping
  (and channels_last / bfloat16 autocast only if they measure faster here).

It prints seconds per channel, the speed-up and the objective each reaches on the final
(untransformed) images, plus the pixel correlation between the two images of each channel.

``recipes`` (docs/featvis.md) times the feature-image recipes as a chunk job runs them
(``cellscape.featvis.tasks.render_channels``: render + filtering): lucid's plain recipe at 512
steps, the default recipe at its steps and at 512 (configs/paper.yaml), interleaved and repeated in one run, so their ratio holds whatever
else the machine does.
``run(mode)`` returns summary rows for the lead's benchmark table (``smoke``: a model trained for
2 s and 16 render steps, the code path only); ``main`` also writes a red/green PNG of the feature
images.

    PYTHONPATH=scripts .venv/bin/python bench/bench_featvis.py [--full] [--out DIR]
    .venv/bin/python bench/bench_featvis.py --recipes [--weights results/model/weights.pt]
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from cellscape.featvis.filtering import activation_filter  # noqa: E402
from cellscape.featvis.objectives import channels_batched  # noqa: E402
from cellscape.featvis.param import FourierParam  # noqa: E402
from cellscape.featvis.render import PlateauStop, render  # noqa: E402
from cellscape.featvis.tasks import use_bf16  # noqa: E402
from cellscape.featvis.transforms import standard_transforms  # noqa: E402
from cellscape.model.network import build_model  # noqa: E402
from cellscape.model.sources.train import load_model  # noqa: E402

MODEL_CFG = {"conv_stages": [[32, 32], [64, 64], [128, 128, 128], [256, 256, 256]],
             "dense": [256], "dropout": 0.25}
IMAGE_SIZE, N_CLASSES, LAYER = 78, 2, "conv4"
CACHE = Path("/tmp/cellscape_bench")
PLATEAU = PlateauStop(window=48, rel_tol=0.01, min_steps=192)


# ----------------------------------------------------------------------------- model

def simulated_images(n, seed=0):
    """n normalised simulated cells (N, 2, 78, 78) and labels, as the data rule prepares them."""
    from cellscape.data.simulate import CLASSES, simulate_event
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(n):
        label = i % len(CLASSES)
        raw, _ = simulate_event(rng, CLASSES[label])
        x = raw.astype(np.float32)
        peak = x.max(axis=(1, 2), keepdims=True) + 1e-6
        x = np.where(x < 0.2 * peak, 0.0, x / peak)
        images.append(x)
        labels.append(label)
    return np.stack(images).astype(np.float32), np.array(labels)


def quick_trained_model(seconds=150, seed=0):
    """The default model trained for ``seconds`` on simulated cells (cached in /tmp)."""
    path = CACHE / f"featvis_quick_{seconds}s_seed{seed}.pt"
    if path.exists():
        return load_model(path, MODEL_CFG, IMAGE_SIZE, N_CLASSES), f"quick-trained (cached {path})"
    torch.manual_seed(seed)
    images, labels = simulated_images(2400, seed)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    train, val = slice(0, 2000), slice(2000, None)
    model = build_model(MODEL_CFG, IMAGE_SIZE, N_CLASSES)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    started, step = time.perf_counter(), 0
    model.train()
    while time.perf_counter() - started < seconds:
        idx = torch.randint(2000, (32,))
        batch = x[train][idx]
        batch = torch.flip(batch, dims=[-1]) if step % 2 else batch
        loss = torch.nn.functional.cross_entropy(model(batch), y[train][idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        step += 1
    model.eval()
    with torch.no_grad():
        accuracy = (model(x[val]).argmax(1) == y[val]).float().mean().item()
    CACHE.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    print(f"quick training: {step} steps of 32 in {seconds} s, val accuracy {accuracy:.3f}",
          file=sys.stderr)
    return model, f"quick-trained {seconds} s, val accuracy {accuracy:.3f}"


def bench_model(train_seconds=150, weights=None):
    weights = Path(weights) if weights else ROOT / "results" / "model" / "weights.pt"
    if weights.exists():
        return load_model(weights, MODEL_CFG, IMAGE_SIZE, N_CLASSES), f"trained ({weights})"
    try:
        return quick_trained_model(train_seconds)
    except Exception as error:  # the simulator is someone else's module; never fail the bench
        print(f"quick training failed ({error!r}); using random weights", file=sys.stderr)
        torch.manual_seed(0)
        return build_model(MODEL_CFG, IMAGE_SIZE, N_CLASSES).eval(), "random weights"


# ----------------------------------------------------------------------------- rendering

def stacked_param(seeds):
    """One batched Fourier param whose item i starts exactly as FourierParam(1, seed=seeds[i])."""
    return FourierParam(len(seeds), 2, IMAGE_SIZE, seed=list(seeds))


def baseline(model, channels, steps):
    """The straightforward loop: one channel per run, full forward, all steps."""
    images, objective, seconds = [], [], 0.0
    for c in channels:
        result = render(model, channels_batched(LAYER, [c]), FourierParam(1, 2, IMAGE_SIZE, seed=c),
                        standard_transforms(IMAGE_SIZE), steps=steps, seed=c, truncate=False,
                        progress=False)
        images.append(result.images[0])
        objective.append(result.final_objective[0])
        seconds += result.seconds
    return np.stack(images), np.array(objective), seconds


def optimised(model, channels, steps, seed=0, **options):
    """All channels in one batch, truncated forward, plateau stopping."""
    result = render(model, channels_batched(LAYER, channels), stacked_param(channels),
                    standard_transforms(IMAGE_SIZE), steps=steps, seed=seed, truncate=True,
                    stop_plateau=PLATEAU, progress=False, **options)
    return result


def seconds_per_step(model, channels, steps=24, **options):
    """Wall time per step of a batched, truncated render (no plateau), for option screening."""
    render(model, channels_batched(LAYER, channels), stacked_param(channels), (), steps=3,
           progress=False, **options)  # warm-up
    result = render(model, channels_batched(LAYER, channels), stacked_param(channels),
                    standard_transforms(IMAGE_SIZE), steps=steps, progress=False, **options)
    return result.seconds / steps


def live_channels(model, n):
    """The first n conv4 channels that fire on some simulated cell (briefly trained ReLU nets
    have dead channels, whose feature image is blank whatever the method)."""
    try:
        images, _ = simulated_images(32, seed=7)
    except Exception:
        return list(range(n))
    from cellscape.featvis.filtering import channel_maps
    peaks = []
    for c in range(model.layer(LAYER)[0].out_channels):
        peaks.append(channel_maps(model, LAYER, [c] * len(images), images).max())
        if sum(p > 0 for p in peaks) == n:
            break
    return [c for c, p in enumerate(peaks) if p > 0][:n]


def image_correlation(a, b):
    a = a.reshape(len(a), -1) - a.reshape(len(a), -1).mean(1, keepdims=True)
    b = b.reshape(len(b), -1) - b.reshape(len(b), -1).mean(1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


# ----------------------------------------------------------------------------- figure

def save_feature_png(path, rows, channels, title):
    """Grid: one row per (label, images (B, 2, H, W)) pair, one column per channel (the paper's
    two image channels: the benchmark's simulated cells)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from cellscape.data.channels import display, resolve_channels
    from cellscape.figures.featvis_figures import feature_rows_figure
    fig = feature_rows_figure(rows, [f"{LAYER} ch {c}" for c in channels], title, display(resolve_channels({})),
                              tile=2.2, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ----------------------------------------------------------------------------- recipes

#: featvis settings of lucid's plain recipe (grey start and fill, plain objective, lr 0.05)
PLAIN = {"start": "grey", "fill": "grey", "objective": "channel", "cap": 0.0, "tv": 0.0, "blur": 0.0, "range": 0.0,
         "dark": 0.0, "decay_power": 1.0, "saturation_stop": 0.0, "lr": 0.05}


def recipe_timing(model, channels, default_steps=128, repeats=2, long_steps=512):
    """Seconds per conv4 feature image of each recipe, as a chunk job (render + filtering).

    Returns {name: (seconds per image (the minimum over ``repeats`` interleaved rounds), render
    steps)} for ``plain`` (lucid's plain recipe, ``long_steps``), ``default``
    (``default_steps``) and ``default_long`` (``long_steps``). The best cell of each channel
    comes from simulated cells (it only scales the objective)."""
    from snakemake.utils import validate
    from cellscape.featvis.tasks import channel_activation, data_prior, render_channels
    cfg = {}
    validate(cfg, str(ROOT / "schemas" / "config.schema.yaml"), set_default=True)
    fv = {**cfg["featvis"], "channels_last": False, "bf16": False}
    images, _ = simulated_images(64, seed=3)
    best = np.array([channel_activation(model, LAYER, [c] * len(images), images, "cpu").max() for c in channels])
    recipes = {"plain": {**fv, **PLAIN, "steps": long_steps}, "default": {**fv, "steps": default_steps},
               "default_long": {**fv, "steps": long_steps}}
    timings = {name: [] for name in recipes}
    steps = {}
    for _ in range(repeats):
        for name, recipe in recipes.items():
            prior = data_prior(recipe, images)
            started = time.perf_counter()
            out = render_channels(model, LAYER, channels, recipe, IMAGE_SIZE, 0, "cpu", prior, best)
            timings[name].append((time.perf_counter() - started) / len(channels))
            steps[name] = int(out["render_steps"])
    return {name: (min(values), steps[name]) for name, values in timings.items()}


# ----------------------------------------------------------------------------- driver

#: per mode: the stand-in model's training seconds, render steps (the default recipe's, the
#: long ones) and whether the one-channel baseline draws every channel
SIZES = {"smoke": dict(train_seconds=2, steps=16, default_steps=8, all_channels=False),
         "quick": dict(train_seconds=90, steps=512, default_steps=128, all_channels=False),
         "full": dict(train_seconds=150, steps=512, default_steps=128, all_channels=True)}


def run(mode="quick", threads=1, out_dir=None, train_seconds=None):
    """Benchmark rows {name, value, unit, baseline, baseline_value, ratio}; optional PNG.
    ``train_seconds``: the stand-in model's training when no trained run is there (quick 90 s,
    full 150 s: the timings need live channels, not the best accuracy)."""
    size = SIZES[mode]
    torch.set_num_threads(threads)
    model, model_note = bench_model(train_seconds or size["train_seconds"])
    model.eval()
    steps = size["steps"]
    channels = live_channels(model, 4)
    base_channels = channels if size["all_channels"] else channels[:2]
    candidates = {"plain": {}, "channels_last": {"channels_last": True}, "bf16": {"bf16": True},
                  "channels_last+bf16": {"channels_last": True, "bf16": True}}
    if not use_bf16("auto", torch.device("cpu")):  # as the jobs decide: no emulated bfloat16
        candidates = {name: opts for name, opts in candidates.items() if not opts.get("bf16")}
    screen = {name: seconds_per_step(model, channels, **opts) for name, opts in candidates.items()}
    fastest = min(screen, key=screen.get)
    options = candidates[fastest] if screen[fastest] < 0.9 * screen["plain"] else {}
    print("seconds/step of a 4-channel truncated render: "
          + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in screen.items())
          + f" -> using {options or 'plain'}", file=sys.stderr)

    base_images, base_objective, base_seconds = baseline(model, base_channels, steps)
    fast = optimised(model, channels, steps, **options)
    # reference for "equal quality": the same optimised run with another transform seed
    other = optimised(model, channels, steps, seed=1, **options)
    base_per_channel = base_seconds / len(base_channels)
    fast_per_channel = fast.seconds / len(channels)
    n = len(base_channels)
    fast_objective = fast.final_objective[:n]
    quality = fast_objective / np.maximum(base_objective, 1e-12)
    total_quality = fast_objective.sum() / max(base_objective.sum(), 1e-12)
    seed_quality = other.final_objective[:n] / np.maximum(fast_objective, 1e-12)
    similarity = image_correlation(base_images, fast.images[:n])
    seed_similarity = image_correlation(fast.images[:n], other.images[:n])

    print(f"model: {model_note}; {LAYER} channels {channels}; {threads} thread(s)")
    print(f"baseline : {base_per_channel:7.2f} s/channel ({steps} steps, one channel per run, "
          f"full forward)")
    print(f"optimised: {fast_per_channel:7.2f} s/channel ({fast.steps_run} steps, batch "
          f"{len(channels)}, truncated forward, {PLATEAU}, options {options or 'none'})")
    print(f"speed-up : {base_per_channel / fast_per_channel:.2f}x")
    for i, c in enumerate(base_channels):
        print(f"  ch {c}: objective baseline {base_objective[i]:.4f}  optimised "
              f"{fast_objective[i]:.4f}  ({100 * quality[i]:.1f}%), image correlation "
              f"{similarity[i]:.3f} | seed 0 vs seed 1: objective {100 * seed_quality[i]:.1f}%, "
              f"image correlation {seed_similarity[i]:.3f}")
    print(f"summed objective optimised / baseline: {100 * total_quality:.1f}% (seed-to-seed: "
          f"{100 * other.final_objective[:n].sum() / max(fast_objective.sum(), 1e-12):.1f}%)")

    if out_dir is not None:
        filtered, feedback = activation_filter(model, LAYER, channels, fast.images)
        png = Path(out_dir) / f"featvis_{LAYER}.png"
        save_feature_png(png, [(f"baseline\n{steps} steps", base_images),
                               (f"optimised\n{fast.steps_run} steps", fast.images[:n]),
                               ("filtered", filtered[:n])],
                         base_channels, f"{model_note}")
        save_feature_png(Path(out_dir) / f"featvis_{LAYER}_all.png",
                         [("optimised", fast.images), ("filtered", filtered)], channels,
                         f"{model_note}; feedback " + ", ".join(f"{f:.2f}" for f in feedback))
        print(f"wrote {png}")

    recipes = recipe_timing(model, channels, default_steps=size["default_steps"], long_steps=steps,
                            repeats=1 if mode != "full" else 2)
    plain, default = recipes["plain"][0], recipes["default"][0]
    print(f"recipes: lucid's plain one at {steps} steps {plain:.2f} s/image, default at {size['default_steps']} steps "
          f"{default:.2f} s/image ({recipes['default'][1]} render steps), at {steps} {recipes['default_long'][0]:.2f} s/image")
    return [
        {"name": f"featvis {LAYER} seconds per feature image, default recipe ({size['default_steps']} steps)", "value": default,
         "unit": "s", "baseline": f"lucid's plain recipe, {steps} steps", "baseline_value": plain,
         "ratio": plain / default},
        {"name": f"featvis {LAYER} seconds per feature image", "value": fast_per_channel,
         "unit": "s", "baseline": f"one channel/run, {steps} steps, full forward",
         "baseline_value": base_per_channel, "ratio": base_per_channel / fast_per_channel},
        {"name": f"featvis {LAYER} summed objective reached (optimised / baseline)",
         "value": float(total_quality), "unit": "fraction", "baseline": "baseline objective",
         "baseline_value": 1.0, "ratio": float(total_quality)},
        {"name": f"featvis {LAYER} objective reached (optimised / baseline, worst channel)",
         "value": float(quality.min()), "unit": "fraction", "baseline": "seed-to-seed worst",
         "baseline_value": float(seed_quality.min()), "ratio": float(quality.min())},
        {"name": f"featvis {LAYER} image correlation with baseline (worst channel)",
         "value": float(similarity.min()), "unit": "pearson r",
         "baseline": "seed-to-seed worst correlation", "baseline_value": float(seed_similarity.min()),
         "ratio": float(similarity.min())},
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="baseline on all 4 channels (slower)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(CACHE), help="folder for the PNGs")
    parser.add_argument("--train-seconds", type=int, default=150)
    parser.add_argument("--recipes", action="store_true", help="time the feature-image recipes only")
    parser.add_argument("--weights", default=None, help="trained weights (default results/model/weights.pt)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    if args.recipes:
        torch.set_num_threads(args.threads)
        model, note = bench_model(args.train_seconds, args.weights)
        model.eval()
        channels = live_channels(model, 4)
        result = recipe_timing(model, channels, repeats=args.repeats)
        base = result["plain"][0]
        print(f"model: {note}; {LAYER} channels {channels}; {args.threads} thread(s); min of {args.repeats} rounds")
        for name, (seconds, steps) in result.items():
            print(f"  {name:28s} {seconds:6.2f} s per image ({steps} render steps), {base / seconds:.2f}x "
                  f"faster than lucid's plain recipe at 512 steps")
        return
    for row in run(mode="full" if args.full else "quick", threads=args.threads, out_dir=args.out,
                   train_seconds=args.train_seconds):
        print(row)


if __name__ == "__main__":
    main()
