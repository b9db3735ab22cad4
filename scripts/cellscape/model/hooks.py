"""Reading a layer's outputs: the one hook helper every stage uses (as captum's
``_forward_layer_eval``): dumps, figures, the explorer and feature visualisation.

``capture_activations`` registers forward hooks on the named layers and, with ``truncate``,
abandons the forward pass once the deepest of them has produced its output (a private
exception), so reading conv2 never pays for conv3..dense. ``layer_batches`` and
``layer_outputs`` run image sets through it in batches.
"""
import sys
from contextlib import contextmanager

import numpy as np
import torch
from tqdm import tqdm

from ..runtime.io import read_rows

INPUT = "input"  # pseudo-layer: the transformed image batch as the network sees it


class _AllLayersCaptured(Exception):
    """Raised from a hook to stop the forward pass once every needed layer was seen."""


def layer_module(model, name):
    """The module whose output is layer ``name`` (CellNet.layer, else by module path)."""
    if hasattr(model, "layer"):
        return model.layer(name)
    return dict(model.named_modules())[name]


@contextmanager
def capture_activations(model, layers, truncate=True, in_graph=False):
    """Yield ``run(images) -> {layer: activation}`` with hooks on ``layers``, removed afterwards.

    With ``truncate`` the forward pass stops as soon as all hooked layers have produced their
    output. Activations are returned as float32 even under bfloat16 autocast. A module called
    more than once per pass (``model.layer_calls``) gives its last call's output; a model whose
    in-place ops may overwrite an output (``model.clone_outputs``) gives a copy. A TorchScript
    network, whose modules take no hooks, reads its layers from graph taps
    (``model.tapped_forward``), without truncation. ``in_graph``: the outputs themselves, never a
    copy, so that gradients of later outputs with respect to them exist (Grad-CAM); an in-place op
    that overwrites one then fails at the backward pass, naming it.
    """
    wanted = set(layers) - {INPUT}
    captured = {}
    if wanted and not getattr(model, "hookable", True):
        def run(images):
            _, acts = model.tapped_forward(images, sorted(wanted))
            acts = {name: value.float() for name, value in acts.items()}
            acts[INPUT] = images.float()
            return acts

        yield run
        return
    calls = {name: model.layer_calls(name) if hasattr(model, "layer_calls") else 1 for name in wanted}
    seen = dict.fromkeys(wanted, 0)
    copy = getattr(model, "clone_outputs", False) and not in_graph

    def hook_for(name):
        def hook(module, inputs, output):
            seen[name] += 1
            captured[name] = output.clone().float() if copy else output.float()
            if truncate and all(seen[layer] >= calls[layer] for layer in wanted):
                raise _AllLayersCaptured

        return hook

    handles = [layer_module(model, name).register_forward_hook(hook_for(name)) for name in wanted]

    def run(images):
        captured.clear()
        seen.update(dict.fromkeys(wanted, 0))
        if wanted:
            try:
                model(images)
            except _AllLayersCaptured:
                pass
        acts = dict(captured)
        acts[INPUT] = images.float()
        return acts

    try:
        yield run
    finally:
        for handle in handles:
            handle.remove()


@contextmanager
def frozen_eval(model):
    """Model in eval mode with its parameters excluded from autograd; restored afterwards."""
    was_training = model.training
    requires_grad = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in zip(model.parameters(), requires_grad):
            p.requires_grad_(flag)
        model.train(was_training)


def _reduced(activation, reduce):
    if reduce is None:
        return activation
    if reduce == "flatten":
        return activation.flatten(1)
    raise ValueError(f"reduce must be None or 'flatten', got {reduce!r}")


@torch.no_grad()
def layer_batches(model, images, layers, rows=None, batch_size=64, device=None, reduce=None, progress=None):
    """Yield ``{layer: float32 numpy (n_batch, ...)}`` for consecutive batches of ``images[rows]``.

    ``images``: an array or memory map (N, C, H, W); ``rows``: which images, in the order the
    outputs are wanted (default: all). Each batch is read in increasing row order (memory maps
    want sorted fancy indexing) and put back in the requested order on the input, which is far
    smaller than a conv layer's output. ``reduce``: None (the tensors) or "flatten" (n, C*H*W). ``progress``: a tqdm description, or None for no bar.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    rows = np.arange(len(images)) if rows is None else np.asarray(rows)
    with frozen_eval(model), capture_activations(model, layers, truncate=True) as run:
        starts = range(0, len(rows), batch_size)
        for start in tqdm(starts, desc=progress, file=sys.stderr, disable=progress is None, mininterval=2.0):
            idx = rows[start:start + batch_size]
            xb = torch.from_numpy(read_rows(images, idx))
            acts = run(xb.to(device))
            yield {layer: _reduced(acts[layer], reduce).cpu().numpy() for layer in layers}


def layer_channels(model, layer, image_size):
    """Channels (units) of ``layer``'s output, from one blank image (any network)."""
    device = next(model.parameters()).device
    blank = np.zeros((1, model.in_channels, image_size, image_size), np.float32)
    return int(layer_outputs(model, blank, [layer], device=device)[layer].shape[1])


def layer_outputs(model, images, layers, rows=None, batch_size=64, device=None, reduce=None, progress=None):
    """``{layer: float32 numpy (n, ...)}``: :func:`layer_batches` concatenated."""
    parts = {layer: [] for layer in layers}
    for batch in layer_batches(model, images, layers, rows, batch_size, device, reduce, progress):
        for layer in layers:
            parts[layer].append(batch[layer])
    return {layer: np.concatenate(blocks) for layer, blocks in parts.items()}
