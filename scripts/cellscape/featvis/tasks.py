"""What the feature-visualisation rules compute, from the config's ``featvis`` section to arrays.

The optimisation itself is ``cellscape.featvis``; this module fixes how the workflow calls it
so that every rule renders the same way: a Fourier (or pixel) parameterisation whose item i
starts from seed ``seed + key_i`` (a channel number, a group or cluster index), so an image
does not depend on which chunk or batch drew it; lucid's standard transforms scaled to the
image size; the config's steps, learning rate and speed options. No file I/O here.
"""
import numpy as np
import pandas as pd

from . import (PlateauStop, activation_filter, channel_covariance, channels_batched,
                      decorrelation_matrix, direction, image_param, render, standard_transforms)
from ..model.hooks import layer_outputs
from ..model.network import resolve_precision


def colour_mixing(featvis_cfg, images, n_sample=512, seed=0):
    """The channel-decorrelation matrix from a sample of the image set, or None if off."""
    if not featvis_cfg["decorrelate"]:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(images), size=min(n_sample, len(images)), replace=False))
    return decorrelation_matrix(channel_covariance(np.asarray(images[rows])))


def plateau_rule(featvis_cfg, steps):
    """Plateau stopping scaled from the benchmark's 512-step setting (window 48, at least 192)."""
    if not featvis_cfg["plateau_stop"]:
        return None
    return PlateauStop(window=max(4, steps * 3 // 32), rel_tol=0.01, min_steps=steps * 3 // 8)


def render_batch(model, objective, keys, featvis_cfg, image_size, seed, device, steps=None,
                 snapshots=(), stop=None, color_sqrt=None, progress=True):
    """One render of ``len(keys)`` images; item i starts from seed ``seed + keys[i]``."""
    steps = featvis_cfg["steps"] if steps is None else steps
    seeds = [int(seed) + int(k) for k in keys]
    param = image_param(featvis_cfg["param"], len(seeds), model.in_channels, image_size,
                        seed=seeds, color_sqrt=color_sqrt)
    return render(model, objective, param, standard_transforms(image_size), steps=steps,
                  lr=featvis_cfg["lr"], snapshots=snapshots, seed=seed, device=device,
                  stop_plateau=stop, progress=progress, channels_last=featvis_cfg["channels_last"],
                  bf16=use_bf16(featvis_cfg["bf16"], device), redirect_relu_steps=featvis_cfg["redirect_relu_steps"])


def use_bf16(setting, device):
    """``featvis.bf16``: true, false or 'auto' (bfloat16 autocast where the hardware has it
    natively; bench/bench_featvis.py checks it reaches the same objective: docs/performance.md)."""
    return resolve_precision("auto", device) == "bfloat16" if setting == "auto" else bool(setting)


def render_channels(model, layer, channels, featvis_cfg, image_size, seed, device, color_sqrt=None):
    """Feature images of ``channels`` of a conv ``layer``, activation-filtered.

    Returns the chunk file's arrays: channels, images, filtered, objective (mean channel
    activation of the final image), feedback (filtering's map correlation), plus steps_run.
    """
    channels = [int(c) for c in channels]
    result = render_batch(model, channels_batched(layer, channels), channels, featvis_cfg, image_size,
                          seed, device, stop=plateau_rule(featvis_cfg, featvis_cfg["steps"]),
                          color_sqrt=color_sqrt)
    filtered, feedback = activation_filter(model, layer, channels, result.images, device=device)
    return {"channels": np.asarray(channels, dtype=np.int64), "images": result.images,
            "filtered": filtered, "objective": result.final_objective.astype(np.float32),
            "feedback": feedback, "steps_run": np.int64(result.steps_run),
            "seconds": np.float64(result.seconds)}


def render_evolution(model, layer, channels, featvis_cfg, image_size, seed, device, color_sqrt=None):
    """Fig. 13: the images of ``channels`` after each of ``evolution_steps`` steps.

    Returns steps (S,), snapshots (S, B, C, H, W) and objective (S, B): each snapshot's mean
    channel activation on the untransformed image (the render maximises it under transforms).
    """
    steps = sorted(int(s) for s in featvis_cfg["evolution_steps"])
    channels = [int(c) for c in channels]
    result = render_batch(model, channels_batched(layer, channels), channels, featvis_cfg, image_size,
                          seed, device, steps=max(steps), snapshots=steps, color_sqrt=color_sqrt)
    snapshots = np.stack([result.snapshots[s] for s in steps])
    objective = np.stack([channel_activation(model, layer, channels, shot, device) for shot in snapshots])
    return {"channels": np.asarray(channels, dtype=np.int64), "steps": np.asarray(steps, dtype=np.int64),
            "snapshots": snapshots, "objective": objective.astype(np.float32)}


def render_directions(model, layer, weights, featvis_cfg, image_size, seed, device, color_sqrt=None):
    """One image per row of ``weights`` (K, C): item k maximises direction(layer, weights[k]).

    Returns images (K, C_img, H, W) and objective (K,), each image's mean weighted activation.
    """
    weights = np.asarray(weights, dtype=np.float32)
    objective = sum(direction(layer, w, batch=k) for k, w in enumerate(weights))
    result = render_batch(model, objective, range(len(weights)), featvis_cfg, image_size, seed, device,
                          color_sqrt=color_sqrt)
    return result.images, result.final_objective.astype(np.float32)


def channel_activation(model, layer, channels, images, device):
    """Mean activation of channel ``channels[i]`` on image i: (B,)."""
    acts = layer_outputs(model, images, [layer], device=device)[layer]
    return acts[np.arange(len(images)), np.asarray(channels)].mean(axis=(1, 2))


def channel_profiles(model, images, rows, layers, device, batch_size=64, progress=True):
    """{layer: (n, C)} spatial-mean activation of every channel of ``layers`` on ``images[rows]``.

    One forward pass per batch serves every layer (stopped after the deepest); rows are read in
    increasing order and the result is in the order of ``rows``.
    """
    rows = np.asarray(rows)
    order = np.argsort(rows)  # memmap reads want increasing rows
    sorted_profiles = layer_outputs(model, images, layers, rows[order], batch_size, device, reduce="spatial_mean",
                                    progress="channel profiles" if progress else None)
    profiles = {}
    for layer, values in sorted_profiles.items():
        profiles[layer] = np.empty_like(values)
        profiles[layer][order] = values
    return profiles


def example_cells(predictions, per_class, split="test"):
    """The ``per_class`` most confidently and correctly classified cells of each class, class by
    class (label order), from a predictions table (falls back to any cell if none is correct)."""
    pool = predictions[predictions["split"] == split] if split else predictions
    picked = []
    for label in sorted(pool["label"].unique()):
        cells = pool[pool["label"] == label]
        correct = cells[cells["predicted_label"] == label] if "predicted_label" in cells else cells
        cells = correct if len(correct) else cells
        picked.append(cells.sort_values(["certainty", "row"], ascending=[False, True]).head(per_class))
    return pd.concat(picked, ignore_index=True)
