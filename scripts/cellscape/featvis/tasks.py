"""What the feature-visualisation rules compute, from the config's ``featvis`` section to arrays.

The optimisation itself is ``cellscape.featvis``; this module fixes how the workflow calls it
so that every rule renders the same way (the *recipe*, chosen by measurement in
docs/featvis.md): a Fourier (or pixel) parameterisation whose item i starts from seed
``seed + key_i`` (a channel number, a group or cluster index), so an image does not depend on
which chunk or batch drew it, at ``featvis.start`` (grey or the data's channel means);
lucid's standard transforms scaled to the image size, filling with ``featvis.fill``; the
objective (``featvis.objective``) divided by the best real cell's value, minus the frequency
penalties ``featvis.tv`` x total variation and ``featvis.blur`` x blur penalty; for channel
images the activation filter as a view every ``featvis.filter_every`` steps; the config's
steps, learning rate, stop rules and speed options. No file I/O here.
"""
import numpy as np
import pandas as pd

from ..model.hooks import layer_batches, layer_outputs
from ..model.precision import resolve_precision
from .filtering import FilteredView, activation_filter
from .objectives import (IMAGE, L1, blur_penalty, capped, channels_batched, channels_relative, direction,
                         neurons_batched, range_penalty, total_variation)
from .param import channel_covariance, decorrelation_matrix, image_param
from .render import PlateauStop, SaturationStop, render
from .transforms import standard_transforms
from .quality import best_cell_ratio, high_frequency_energy, saturated_share

#: featvis.fill -> the transforms' fill value
FILLS = {"grey": 0.5, "black": 0.0, "uniform": "uniform"}


def data_prior(featvis_cfg, images, n_sample=512, seed=0):
    """What the renders take from the image set, from a sample of it: ``color_sqrt`` (the
    channel-decorrelation matrix, or None if ``featvis.decorrelate`` is off) and ``start`` (the
    channel means with ``featvis.start: data``, None for the grey start)."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(images), size=min(n_sample, len(images)), replace=False))
    sample = np.asarray(images[rows], dtype=np.float32)
    color_sqrt = decorrelation_matrix(channel_covariance(sample)) if featvis_cfg["decorrelate"] else None
    start = None
    if featvis_cfg["start"] == "data":
        start = np.clip(sample.mean(axis=(0, 2, 3)), 0.01, 0.99).astype(np.float32)
    return {"color_sqrt": color_sqrt, "start": start}


def plateau_rule(featvis_cfg, steps):
    """Plateau stopping scaled from the benchmark's 512-step setting (window 48, at least 192)."""
    if not featvis_cfg["plateau_stop"]:
        return None
    return PlateauStop(window=max(4, steps * 3 // 32), rel_tol=0.01, min_steps=steps * 3 // 8)


def saturation_rule(featvis_cfg, steps):
    """``featvis.saturation_stop``: the saturated share that freezes an item (0: off), from a
    quarter of the steps on (the first Adam steps from the dark start overshoot into the tails
    for some 50 steps at lr 0.05 before the range penalty pulls the pixels back)."""
    threshold = featvis_cfg["saturation_stop"]
    return SaturationStop(threshold=threshold, min_steps=steps // 4) if threshold > 0 else None


def penalised(objective, featvis_cfg):
    """``objective - tv * total_variation() - blur * blur_penalty() - range * range_penalty()
    - dark * L1(IMAGE)`` (zero weights left out)."""
    if featvis_cfg["tv"] > 0:
        objective = objective - featvis_cfg["tv"] * total_variation()
    if featvis_cfg["blur"] > 0:
        objective = objective - featvis_cfg["blur"] * blur_penalty()
    if featvis_cfg["range"] > 0:
        objective = objective - featvis_cfg["range"] * range_penalty()
    if featvis_cfg["dark"] > 0:
        objective = objective - featvis_cfg["dark"] * L1(IMAGE)
    return objective


def channel_objective(layer, channels, featvis_cfg, best_cell=None):
    """The objective of a chunk's renders (``featvis.objective``), before penalties.

    channel: the channel's mean activation; neuron: its activation at the centre position;
    both divided by ``best_cell`` (each channel's value on its best real test cell), so 1 means
    "as strong as the best cell" and the penalty weights mean the same for every channel.
    relative: the channel's share of the layer's activation norm (magnitude-free, in [0, 1]).
    """
    kind = featvis_cfg["objective"]
    scale = None if best_cell is None else divisors(best_cell)
    if kind == "channel":
        objective = channels_batched(layer, channels, scale=scale)
    elif kind == "neuron":
        objective = neurons_batched(layer, channels, scale=scale)
    elif kind == "relative":
        return channels_relative(layer, channels)
    else:
        raise ValueError(f"unknown featvis.objective {kind!r}")
    return capped_at(objective, featvis_cfg)


def divisors(best):
    """Best-cell values as objective divisors: at least 1e-6 (a channel silent on every cell)."""
    return np.maximum(np.asarray(best, dtype=np.float64), 1e-6)


def capped_at(objective, featvis_cfg):
    """``featvis.cap`` > 0: no reward beyond that many best cells (``objectives.capped``)."""
    return capped(objective, featvis_cfg["cap"]) if featvis_cfg["cap"] > 0 else objective


def filtered_view(layer, channels, featvis_cfg):
    """``featvis.filter_every`` > 0: the activation filter of ``channels`` as a render view
    (``filtering.FilteredView``, weight ``featvis.filter_weight``); else None."""
    every = featvis_cfg["filter_every"]
    return FilteredView(layer, channels, every, featvis_cfg["filter_weight"]) if every > 0 else None


def render_batch(model, objective, keys, featvis_cfg, image_size, seed, device, steps=None,
                 snapshots=(), stop=None, prior=None, progress=True, view=None):
    """One render of ``len(keys)`` images; item i starts from seed ``seed + keys[i]``.

    ``objective`` is penalised here (``featvis.tv``, ``featvis.blur``); ``prior`` is
    ``data_prior``'s dict (None: grey start, no decorrelation); ``view``: ``filtered_view``'s.
    """
    steps = featvis_cfg["steps"] if steps is None else steps
    prior = prior or {}
    seeds = [int(seed) + int(k) for k in keys]
    param = image_param(featvis_cfg["param"], len(seeds), model.in_channels, image_size,
                        seed=seeds, color_sqrt=prior.get("color_sqrt"), start=prior.get("start"),
                        **({"decay_power": featvis_cfg["decay_power"]} if featvis_cfg["param"] == "fourier" else {}))
    transforms = standard_transforms(image_size, fill=FILLS[featvis_cfg["fill"]])
    return render(model, penalised(objective, featvis_cfg), param, transforms, steps=steps,
                  lr=featvis_cfg["lr"], snapshots=snapshots, seed=seed, device=device,
                  stop_plateau=stop, progress=progress, channels_last=featvis_cfg["channels_last"],
                  bf16=use_bf16(featvis_cfg["bf16"], device), redirect_relu_steps=featvis_cfg["redirect_relu_steps"],
                  stop_saturation=saturation_rule(featvis_cfg, steps), filtered_view=view)


def use_bf16(setting, device):
    """``featvis.bf16``: true, false or 'auto' (bfloat16 autocast where the hardware has it
    natively; bench/bench_featvis.py checks it reaches the same objective: docs/performance.md)."""
    return resolve_precision("auto", device) == "bfloat16" if setting == "auto" else bool(setting)


def best_cells(order, layer, channels, featvis_cfg):
    """Each channel's value on its best profiled test cell, in the objective's terms (the
    ``channel_order`` table's ``best_cell``, or ``best_centre`` for the neuron objective)."""
    rows = order[order["layer"] == layer].set_index("channel")
    column = "best_centre" if featvis_cfg["objective"] == "neuron" else "best_cell"
    return rows.loc[np.asarray(channels, dtype=np.int64), column].to_numpy(dtype=np.float64)


def render_channels(model, layer, channels, featvis_cfg, image_size, seed, device, prior=None, best_cell=None,
                    progress=True):
    """Feature images of ``channels`` of a conv ``layer``, activation-filtered, with the numbers
    of docs/featvis.md per channel.

    ``best_cell``: each channel's activation on its best real test cell (``best_cells``; scales
    the objective, see ``channel_objective``). Returns the chunk file's arrays: channels, images,
    filtered, objective (the channel's mean activation on the final image, whatever the
    objective optimised; at the centre for the neuron objective), feedback (filtering's map correlation), best_cell and
    best_cell_ratio (objective / best_cell), saturated (share), high_frequency (energy, mean square),
    steps_run (per channel: the steps behind its image), render_steps (the batch's steps) and
    seconds (the whole render).
    """
    channels = [int(c) for c in channels]
    result = render_batch(model, channel_objective(layer, channels, featvis_cfg, best_cell), channels,
                          featvis_cfg, image_size, seed, device, stop=plateau_rule(featvis_cfg, featvis_cfg["steps"]),
                          prior=prior, progress=progress, view=filtered_view(layer, channels, featvis_cfg))
    filtered, feedback = activation_filter(model, layer, channels, result.images, device=device)
    objective = channel_activation(model, layer, channels, result.images, device,
                                   centre=featvis_cfg["objective"] == "neuron")
    best = np.full(len(channels), np.nan) if best_cell is None else np.asarray(best_cell, dtype=np.float64)
    return {"channels": np.asarray(channels, dtype=np.int64), "images": result.images,
            "filtered": filtered, "objective": objective.astype(np.float32),
            "feedback": feedback, "best_cell": best.astype(np.float32),
            "best_cell_ratio": best_cell_ratio(objective, best).astype(np.float32),
            "saturated": saturated_share(result.images).astype(np.float32),
            "high_frequency": high_frequency_energy(result.images).astype(np.float32),
            "steps_run": np.asarray(result.item_steps, dtype=np.int64),
            "render_steps": np.int64(result.steps_run), "seconds": np.float64(result.seconds)}


def render_evolution(model, layer, channels, featvis_cfg, image_size, seed, device, prior=None, best_cell=None):
    """Fig. 13: the images of ``channels`` after each of ``evolution_steps`` steps.

    Returns steps (S,), snapshots (S, B, C, H, W), objective (S, B): each snapshot's mean
    channel activation on the untransformed image (the render maximises it under transforms),
    saturated (S, B) and the images' steps_run (a saturation stop freezes an image early).
    """
    steps = sorted(int(s) for s in featvis_cfg["evolution_steps"])
    channels = [int(c) for c in channels]
    result = render_batch(model, channel_objective(layer, channels, featvis_cfg, best_cell), channels, featvis_cfg,
                          image_size, seed, device, steps=max(steps), snapshots=steps, prior=prior,
                          view=filtered_view(layer, channels, featvis_cfg))
    snapshots = np.stack([result.snapshots[s] for s in steps])
    objective = np.stack([channel_activation(model, layer, channels, shot, device) for shot in snapshots])
    return {"channels": np.asarray(channels, dtype=np.int64), "steps": np.asarray(steps, dtype=np.int64),
            "snapshots": snapshots, "objective": objective.astype(np.float32),
            "saturated": np.stack([saturated_share(shot) for shot in snapshots]).astype(np.float32),
            "steps_run": np.asarray(result.item_steps, dtype=np.int64)}


def direction_value(means, weights):
    """(n, K) value of each direction (K, C) on each cell, from its channel means (n, C): the
    plain direction objective is linear, so the spatial mean of w . a is means @ w."""
    return np.asarray(means, dtype=np.float64) @ np.asarray(weights, dtype=np.float64).T


def render_directions(model, layer, weights, featvis_cfg, image_size, seed, device, prior=None, scale=None):
    """One image per row of ``weights`` (K, C): item k maximises direction(layer, weights[k]),
    with lucid's cosine reward (``featvis.direction_cosine``: its power; 0 = plain dot product),
    divided by ``scale[k]`` (e.g. the direction's value on its best cell, ``direction_value``).

    Returns images (K, C_img, H, W) and objective (K,), each image's mean weighted activation.
    """
    weights = np.asarray(weights, dtype=np.float32)
    power = featvis_cfg["direction_cosine"]
    scale = np.ones(len(weights)) if scale is None else divisors(scale)
    objective = capped_at(sum(direction(layer, w, batch=k, cosine=power > 0, cosine_power=power) / float(scale[k])
                           for k, w in enumerate(weights)), featvis_cfg)
    result = render_batch(model, objective, range(len(weights)), featvis_cfg, image_size, seed, device,
                          prior=prior)
    acts = layer_outputs(model, result.images, [layer], device=device)[layer]
    plain = np.einsum("kc,kc->k", acts.mean(axis=(2, 3)), weights)
    return result.images, plain.astype(np.float32)


def channel_activation(model, layer, channels, images, device, centre=False):
    """Mean activation of channel ``channels[i]`` on image i (or, with ``centre``, at the centre): (B,)."""
    acts = layer_outputs(model, images, [layer], device=device)[layer]
    maps = acts[np.arange(len(images)), np.asarray(channels)]
    return maps[:, maps.shape[1] // 2, maps.shape[2] // 2] if centre else maps.mean(axis=(1, 2))


def channel_profiles(model, images, rows, layers, device, batch_size=64, progress=True):
    """({layer: (n, C)}, {layer: (n, C)}): the spatial-mean activation of every channel of
    ``layers`` on ``images[rows]``, and its activation at the centre position.

    One forward pass per batch serves every layer (stopped after the deepest); rows are read in
    increasing order and the result is in the order of ``rows``.
    """
    rows = np.asarray(rows)
    order = np.argsort(rows)  # memmap reads want increasing rows
    means = {layer: [] for layer in layers}
    centres = {layer: [] for layer in layers}
    for batch in layer_batches(model, images, layers, rows[order], batch_size, device,
                               progress="channel profiles" if progress else None):
        for layer in layers:
            act = batch[layer]
            if act.ndim == 4:
                means[layer].append(act.mean(axis=(2, 3)))
                centres[layer].append(act[:, :, act.shape[2] // 2, act.shape[3] // 2])
            else:
                means[layer].append(act)
                centres[layer].append(act)
    profiles, centre_profiles = {}, {}
    for layer in layers:
        for out, parts in ((profiles, means), (centre_profiles, centres)):
            values = np.concatenate(parts[layer]).astype(np.float32)
            out[layer] = np.empty_like(values)
            out[layer][order] = values
    return profiles, centre_profiles


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
